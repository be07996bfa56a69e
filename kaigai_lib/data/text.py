"""Small input files as text, in the encodings analysts' files come in: one reader for every command.

Excel on Japanese Windows saves CSV as cp932 (Shift-JIS), and its "Unicode text" as UTF-16 with a byte-order
mark; everything else should be UTF-8 (with or without a BOM). Callers decide what to accept and how to say it
(:func:`kaigai_lib.exercises.spec.read_text` reads UTF-16 too; ``kaigai replicate`` refuses it).
"""

from __future__ import annotations

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(raw: bytes, *, utf16: bool = True) -> tuple[str, str]:
    """``(text, encoding)`` of a file's bytes: ``"utf-16"`` (with a BOM; only if ``utf16``), ``"utf-8"`` (with or
    without a BOM) or ``"cp932"``. Raises :class:`UnicodeDecodeError` when it is none of them."""
    if utf16 and raw.startswith(UTF16_BOMS):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp932"), "cp932"
