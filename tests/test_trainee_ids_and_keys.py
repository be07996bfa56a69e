"""A hostile tester's `exercises` / `course` cases: trainee ids that cannot name folders (too long, a zip name,
case twins, Windows device names), an answer key inside the hand-outs or on an input, and --force on a file
kaigai did not write. Each asserts exit code 2, one line naming the option or row and the fix, and that no
file changed and nothing was left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import tiny_exercise

from kaigai_lib.exercises.spec import KEY_COLUMNS, TRAINEE_ID_MAX
from kaigai_lib.replication.cli import main

EXERCISE = tiny_exercise("ids-tiny")
ASSIGNMENT = """\
id: ids-week
title: "Ids"
language: en
deadline: 2026-12-01T17:00+09:00
submit: "Upload answers.csv."
questions:
  - {exercise: ids.yml, id: naive, points: 1}
"""


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file, link and folder below ``root`` with its content: equal before and after = nothing changed."""
    entries: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            entries[rel] = (f"link:{os.readlink(path)}" if path.is_symlink()
                            else "dir" if path.is_dir() else path.read_bytes())
    return entries


def refused(argv: list[str], root: Path, capsys, *needles: str) -> str:
    """Run ``argv`` in ``root``; assert exit 2, one line on stderr holding every needle, and no change."""
    before = tree(root)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert tree(root) == before
    return err


@pytest.fixture()
def room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # relative spellings of paths below are relative to the room
    (tmp_path / "ids.yml").write_text(EXERCISE, encoding="utf-8")
    (tmp_path / "week.yml").write_text(ASSIGNMENT, encoding="utf-8")
    (tmp_path / "r.csv").write_text("trainee_id\nt1\nt2\n", encoding="utf-8")
    return tmp_path


def make(*extra: str) -> list[str]:
    return ["exercises", "make", "--exercise", "ids.yml", "--roster", "r.csv", "--out", "em", *extra]


BAD_IDS = [
    (["x" * 300], 2, [f"at most {TRAINEE_ID_MAX}"]),                          # 10: File name too long
    (["t1.zip", "t1"], 2, ["zip name of trainee_id 't1'", "rename"]),         # 11: Is a directory
    (["t1", "T1"], 3, ["'T1' repeats row 2", "ignoring case"]),               # 12: one folder on Windows
    (["CON"], 2, ["device name on Windows", "rename"]),                       # 13
    (["t1", "nul.txt"], 3, ["device name on Windows"]),
    (["Com7"], 2, ["device name on Windows"]),
    (["lpt1.csv.gz"], 2, ["device name on Windows"]),
]


@pytest.mark.parametrize(("ids", "row", "needles"), BAD_IDS)
@pytest.mark.parametrize("command", ["exercises", "course"])
def test_trainee_ids_that_cannot_name_a_folder_are_refused(room: Path, capsys, command: str, ids: list[str],
                                                            row: int, needles: list[str]) -> None:
    (room / "r.csv").write_text("trainee_id\n" + "".join(f"{i}\n" for i in ids), encoding="utf-8")
    argv = (make() if command == "exercises" else
            ["course", "make", "week.yml", "--roster", "r.csv", "--out", "h", "--key", "k", "--engine", "serial"])
    refused(argv, room, capsys, "r.csv", f"row {row}:", *needles)


def test_course_add_refuses_a_case_twin_of_a_trainee_in_the_key(room: Path, capsys) -> None:
    assert main(["course", "make", "week.yml", "--roster", "r.csv", "--out", "h", "--key", "k",
                 "--engine", "serial"]) == 0
    capsys.readouterr()
    (room / "late.csv").write_text("trainee_id\nt1\nT2\n", encoding="utf-8")  # t2 in the key; T2 is new
    refused(["course", "add", "--key", "k", "--roster", "late.csv", "--out", "h_late", "--engine", "serial"],
            room, capsys, "late.csv", "row 3:", "'T2' repeats the existing key", "distinct id")


@pytest.mark.parametrize("spelling", ["em/t1/answer.csv", "{room}/em/t1/answer.csv", "em/../em/t1/answer.csv",
                                      "linked/t1/answer.csv", "keylink.csv", "em/notes/key.csv"])
def test_key_inside_the_handouts_is_refused_in_any_spelling(room: Path, capsys, spelling: str) -> None:
    (room / "linked").symlink_to(room / "em")  # links to where the hand-outs will be
    (room / "keylink.csv").symlink_to(room / "em" / "t1" / "answer.csv")
    key = spelling.format(room=room)
    refused(make("--key", key), room, capsys, f"--key {key}", "inside --out", "outside it")


@pytest.mark.parametrize(("key", "why"), [("r.csv", "is also an input"), ("ids.yml", "is also an input"),
                                          ("./sub/../r.csv", "is also an input"), ("rlink.csv", "is also an input"),
                                          ("mine.csv", "was not written by kaigai")])
def test_force_never_puts_the_key_on_an_input_or_a_file_kaigai_did_not_write(room: Path, capsys, key: str,
                                                                             why: str) -> None:
    (room / "mine.csv").write_text("trainee_id,score\nt1,3\n", encoding="utf-8")  # the instructor's own file
    (room / "sub").mkdir()
    (room / "rlink.csv").write_text("x", encoding="utf-8")
    if key == "rlink.csv":  # a link to the roster is the roster
        (room / "rlink.csv").unlink()
        (room / "rlink.csv").symlink_to(room / "r.csv")
        why = "symbolic link"
    refused(make("--key", key, "--force"), room, capsys, f"--key {Path(key)}", why,
            "plain file path" if key == "rlink.csv" else "another file")


def test_force_replaces_an_earlier_key_and_an_existing_key_is_refused_before_any_work(room: Path, capsys) -> None:
    assert main(make("--key", "key.csv")) == 0
    first = (room / "key.csv").read_text(encoding="utf-8")
    assert first.splitlines()[0] == ",".join(KEY_COLUMNS)
    capsys.readouterr()
    # without --force the key is refused before a second class is written, not after
    refused(["exercises", "make", "--exercise", "ids.yml", "--roster", "r.csv", "--out", "em2", "--key", "key.csv"],
            room, capsys, "--key key.csv", "--force")
    assert main(["exercises", "make", "--exercise", "ids.yml", "--roster", "r.csv", "--out", "em2", "--key",
                 "key.csv", "--force"]) == 0
    assert (room / "key.csv").read_text(encoding="utf-8") == first  # same exercise, same roster: same key


def test_page_never_replaces_its_input_or_a_foreign_file(room: Path, capsys) -> None:
    refused(["exercises", "page", "ids.yml", "--out", "ids.yml", "--force"], room, capsys, "--out ids.yml",
            "input")
    (room / "notes.html").write_text("<p>my notes</p>", encoding="utf-8")
    refused(["exercises", "page", "ids.yml", "--out", "notes.html", "--force"], room, capsys, "--out notes.html",
            "was not written by kaigai")


def test_grade_force_replaces_only_a_graded_csv(room: Path, capsys) -> None:
    assert main(make("--key", "key.csv")) == 0
    (room / "answers.csv").write_text("trainee_id,answer\nt1,0.1\n", encoding="utf-8")
    (room / "userfile.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    capsys.readouterr()
    grade = ["exercises", "grade", "--key", "key.csv", "--answers", "answers.csv", "--out"]
    refused([*grade, "userfile.csv", "--force"], room, capsys, "--out userfile.csv", "graded CSV")
    refused([*grade, "answers.csv", "--force"], room, capsys, "--out answers.csv", "input")
    assert main([*grade, "graded.csv"]) == 0
    assert main([*grade, "graded.csv", "--force"]) == 0  # its own earlier result may be replaced
