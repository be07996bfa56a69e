"""Small input files as text, in the encodings analysts' files come in: one reader for every command.

Excel on Japanese Windows saves CSV as cp932 (Shift-JIS), and its "Unicode text" as UTF-16 with a byte-order
mark; older Unix systems write EUC-JP; everything else should be UTF-8 (with or without a BOM). Bytes are
decoded strictly, in a fixed order: UTF-8, then the two Japanese encodings — and a file that is valid text in
both Japanese encodings (most EUC-JP text is also valid, garbled, cp932) is refused rather than guessed, naming
a line in both readings. Callers decide what to accept and how to say it
(:func:`kaigai_lib.exercises.spec.read_text` reads UTF-16 too; ``kaigai replicate`` refuses it and takes an
``[encoding]`` section in its config).
"""

from __future__ import annotations

from collections.abc import Iterable

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
JAPANESE_ENCODINGS = ("cp932", "euc_jp")  # tried in this order after UTF-8
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp932": "Shift-JIS (cp932)", "euc_jp": "EUC-JP",
                  "utf-16": "UTF-16"}


class AmbiguousEncodingError(ValueError):
    """Bytes that are valid text in more than one Japanese encoding, read differently: which one is meant cannot
    be told from the bytes. ``line`` is the first line that reads differently, ``readings`` its text in each."""

    def __init__(self, line: int, readings: dict[str, str]):
        self.line = line
        self.readings = readings
        shown = " vs ".join(f"{ENCODING_NAMES.get(enc, enc)} {text.strip()[:60]!r}" for enc, text in readings.items())
        super().__init__(f"is valid text in both {' and '.join(ENCODING_NAMES[e] for e in readings)}, read "
                         f"differently (line {line}: {shown})")


def first_difference(lines: Iterable[bytes], encodings: Iterable[str]) -> AmbiguousEncodingError:
    """The error naming the first of ``lines`` (bytes, line 1 first) that ``encodings`` read differently."""
    encodings = list(encodings)
    number = 0
    for number, raw in enumerate(lines, start=1):
        readings = {enc: raw.decode(enc, errors="replace") for enc in encodings}
        if len(set(readings.values())) > 1:
            return AmbiguousEncodingError(number, readings)
    return AmbiguousEncodingError(number, {enc: "" for enc in encodings})


def decode_text(raw: bytes, *, utf16: bool = True) -> tuple[str, str]:
    """``(text, encoding)`` of a file's bytes: ``"utf-16"`` (with a BOM; only if ``utf16``), ``"utf-8"`` (with or
    without a BOM), ``"cp932"`` or ``"euc_jp"``. Raises :class:`UnicodeDecodeError` when it is none of them, and
    :class:`AmbiguousEncodingError` when it is valid, but different, text in both Japanese encodings."""
    if utf16 and raw.startswith(UTF16_BOMS):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    readings, errors = {}, {}
    for encoding in JAPANESE_ENCODINGS:
        try:
            readings[encoding] = raw.decode(encoding)
        except UnicodeDecodeError as error:
            errors[encoding] = error
    if not readings:
        raise errors[JAPANESE_ENCODINGS[0]]
    if len(readings) > 1:
        raise first_difference(raw.splitlines(), readings)
    encoding, text = readings.popitem()
    return text, encoding
