"""One reader for small input files (kaigai_lib.data.text), shared by the exercise files and replicate's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaigai_lib.data.text import decode_text
from kaigai_lib.exercises.spec import read_text
from kaigai_lib.replication.replicate import ReplicationError, read_text_any

TEXT = "企業 id,売上高\nA-1,12.5\n"  # Japanese headers, as a secure room's CSV has them


@pytest.mark.parametrize(("encoded", "encoding"), [
    (TEXT.encode("utf-8"), "utf-8"),
    (TEXT.encode("utf-8-sig"), "utf-8"),
    (TEXT.encode("cp932"), "cp932"),
    (TEXT.encode("utf-16"), "utf-16"),  # with its BOM, as Excel's "Unicode text"
    (b"\xfe\xff" + TEXT.encode("utf-16-be"), "utf-16"),  # big-endian, BOM first
])
def test_every_encoding_analysts_use_reads_back_the_same_text(encoded: bytes, encoding: str) -> None:
    assert decode_text(encoded) == (TEXT, encoding)


def test_bytes_that_are_neither_utf8_nor_cp932_are_refused() -> None:
    broken = b"\x81\x7f\xff"  # a cp932 lead byte with no valid trail, and a byte no UTF-8 text has
    with pytest.raises(UnicodeDecodeError):
        decode_text(broken)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_both_commands_read_a_file_alike(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(TEXT.encode(encoding))
    text, note = read_text_any(path, "config")
    assert read_text(path, "Exercise file") == text == TEXT
    assert (note is None) == (encoding != "cp932")  # a cp932 reading is reported, never silent


def test_utf16_is_read_for_exercises_and_refused_by_replicate(tmp_path: Path) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(TEXT.encode("utf-16"))
    assert read_text(path, "Exercise file") == TEXT
    with pytest.raises(ReplicationError, match="is UTF-16"):
        read_text_any(path, "config")
    path.write_bytes(b"\x81\x7f\xff")
    with pytest.raises(ValueError, match="neither UTF-8 nor Shift-JIS"):
        read_text(path, "Exercise file")
    with pytest.raises(ReplicationError, match=r"neither UTF-8 nor Shift-JIS \(cp932\) \(byte 0\)"):
        read_text_any(path, "config")


def test_euc_jp_is_read_when_its_bytes_say_so_and_refused_when_they_do_not(tmp_path: Path) -> None:
    from kaigai_lib.data.text import AmbiguousEncodingError

    # "企" is not valid Shift-JIS in EUC-JP bytes: only EUC-JP reads this file
    assert decode_text(TEXT.encode("euc_jp")) == (TEXT, "euc_jp")
    path = tmp_path / "input.txt"
    path.write_bytes(TEXT.encode("euc_jp"))
    assert read_text_any(path, "config") == (TEXT, f"config {path} is not UTF-8; read it as EUC-JP. To be sure of "
                                             f"the reading, save it as UTF-8 (in an editor: Save as… → Encoding "
                                             f"UTF-8; or iconv -f EUC-JP -t UTF-8 {path} > new).")
    # "食料品" in EUC-JP is also valid Shift-JIS (half-width katakana): which is meant cannot be told
    labels = "industry\n食料品\n"
    with pytest.raises(AmbiguousEncodingError) as info:
        decode_text(labels.encode("euc_jp"))
    assert info.value.line == 2 and info.value.readings == {"cp932": labels.encode("euc_jp").decode("cp932")[9:-1],
                                                            "euc_jp": "食料品"}
    path.write_bytes(labels.encode("euc_jp"))
    with pytest.raises(ReplicationError, match=r"is valid text in both Shift-JIS \(cp932\) and EUC-JP, read "
                                               r"differently \(line 2: .* vs EUC-JP '食料品'\)"):
        read_text_any(path, "config")
    with pytest.raises(ValueError, match=r"is valid text in both .* save it as UTF-8"):
        read_text(path, "Exercise file")
