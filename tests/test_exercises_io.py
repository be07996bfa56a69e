"""Exercises I/O under hostile input (issue 13): encodings, broken rows, number spellings, YAML numbers,
tolerance 0 at full precision, non-numeric keys, all-or-nothing ``make``. Each case asserts the exit code,
the message and that nothing was written or left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny_exercise

from kaigai_lib.exercises import spec as exercises
from kaigai_lib.exercises.spec import load_exercise, parse_number, read_key
from kaigai_lib.replication.cli import main

SMALL = tiny_exercise("io-tiny")


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(textwrap.dedent(text).encode(encoding))
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "kaigai-staging" in p.name or "kaigai-lock" in p.name)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("io")
    exercise = write(root, "ex.yml", SMALL)
    roster = write(root, "roster.csv", "trainee_id,name\na1,山田\na2,佐藤\n", encoding="cp932")
    assert main(["exercises", "make", "--exercise", str(exercise), "--roster", str(roster), "--out",
                 str(root / "class"), "--key", str(root / "key.csv")]) == 0
    return {"root": root, "exercise": exercise, "roster": roster, "key": root / "key.csv"}


@pytest.mark.parametrize(("raw", "value", "why"), [
    ("0.15", 0.15, ""), ("-1.5e-3", -0.0015, ""), (" .5 ", 0.5, ""), ("1_5", None, "underscore"),
    ("１５", None, "full-width"), ("０.１５", None, "full-width"), ("0,15", None, "decimal comma"),
    ("nan", None, "not a number"), ("inf", None, "not a number"), ("1e300", None, "too large"),
    ("0.15 log points", None, "not a number"), ("", None, "no answer")])
def test_numbers_are_read_strictly(raw: str, value: float | None, why: str) -> None:
    parsed, message = parse_number(raw)
    assert parsed == value and why in message


def test_yaml_1e_3_is_a_number_and_cp932_exercise_files_are_read(tmp_path: Path) -> None:
    text = SMALL.replace("tolerance: 0", "tolerance: 1e-3").replace("Naive difference", "単純比較")
    spec = load_exercise(write(tmp_path, "ex.yml", text, encoding="cp932"))
    assert spec.tolerance == 0.001 and spec.question.startswith("単純比較")


def test_an_undecodable_file_names_the_file_and_how_to_convert(made, tmp_path: Path, capsys) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes(b"trainee_id\n\x80\x81\xff\xfe\n")
    assert main(["exercises", "make", "--exercise", str(made["exercise"]), "--roster", str(roster),
                 "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert str(roster) in err and "iconv" in err
    assert not (tmp_path / "c").exists()


def test_cp932_roster_and_full_precision_key_with_tolerance_zero(made, tmp_path: Path) -> None:
    key = read_key(made["key"])
    assert key["trainee_id"].tolist() == ["a1", "a2"]
    spec = load_exercise(made["exercise"])
    world = spec.generate(exercises.trainee_seed(spec, "a1"))
    assert key.loc[0, "answer"] == spec.truth(world)  # bit for bit
    answers = tmp_path / "answers.csv"
    answers.write_text(f"trainee_id,answer\na1,{float(key.loc[0, 'answer'])!r}\n"
                       f"a2,{float(key.loc[1, 'answer']) + 1e-12!r}\n", encoding="cp932")
    grades = exercises.grade(key, answers)
    assert grades["verdict"].tolist() == ["correct", "too high"]


@pytest.mark.parametrize("roster_text", ["trainee_id,name\na1,Sato, Aiko\n", "trainee_id,name,email\na1,Sato\n"])
def test_a_roster_row_that_does_not_fit_the_header_is_refused(made, tmp_path: Path, capsys, roster_text) -> None:
    roster = write(tmp_path, "roster.csv", roster_text)
    assert main(["exercises", "make", "--exercise", str(made["exercise"]), "--roster", str(roster),
                 "--out", str(tmp_path / "c")]) == 2
    assert "line 2:" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_a_key_with_a_non_numeric_answer_is_refused(made, tmp_path: Path, capsys) -> None:
    key = pd.read_csv(made["key"], dtype=str)
    key.loc[1, "answer"] = "abc"
    edited = tmp_path / "key.csv"
    key.to_csv(edited, index=False)
    answers = write(tmp_path, "answers.csv", "trainee_id,answer\na1,0.1\n")
    assert main(["exercises", "grade", "--key", str(edited), "--answers", str(answers)]) == 2
    err = capsys.readouterr().err
    assert "column answer must hold numbers; line(s) 3" in err
    assert not (tmp_path / "answers_graded.csv").exists()


def test_grade_out_may_not_be_the_answers_or_the_key(made, tmp_path: Path, capsys) -> None:
    answers = write(tmp_path, "answers.csv", "trainee_id,answer\na1,0.1\n")
    before = {p: p.read_bytes() for p in (answers, made["key"])}
    for out in (answers, made["key"]):
        assert main(["exercises", "grade", "--key", str(made["key"]), "--answers", str(answers), "--out", str(out),
                     "--force"]) == 2
        assert "also an input" in capsys.readouterr().err
    assert all(p.read_bytes() == data for p, data in before.items())


def test_make_refuses_an_existing_class_and_writes_nothing(made, capsys) -> None:
    before = sorted(p.name for p in (made["root"] / "class").iterdir())
    assert main(["exercises", "make", "--exercise", str(made["exercise"]), "--roster", str(made["roster"]),
                 "--out", str(made["root"] / "class")]) == 2
    assert "--force" in capsys.readouterr().err
    assert sorted(p.name for p in (made["root"] / "class").iterdir()) == before


def test_interrupted_make_leaves_no_half_class_and_no_key(made, tmp_path: Path) -> None:
    roster = write(tmp_path, "roster.csv", "trainee_id\n" + "".join(f"t{i}\n" for i in range(40)))
    exercise = write(tmp_path, "ex.yml", SMALL.replace("n_firms: 800", "n_firms: 3000"))
    process = subprocess.Popen([sys.executable, "-m", "kaigai_lib", "exercises", "make", "--exercise", str(exercise),
                                "--roster", str(roster), "--out", str(tmp_path / "class"), "--key",
                                str(tmp_path / "key.csv")], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("kaigai-staging" in p.name for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(1.0)  # some trainees written into the staging folder
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode != 0
    assert not (tmp_path / "class").exists() and not (tmp_path / "key.csv").exists()
    assert leftovers(tmp_path) == []


def test_a_field_over_the_csv_limit_is_one_clear_error(made, tmp_path: Path, capsys) -> None:
    roster = write(tmp_path, "roster.csv", "trainee_id,name\na1,\"" + "x" * 200_000 + "\"\n")
    assert main(["exercises", "make", "--exercise", str(made["exercise"]), "--roster", str(roster),
                 "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert str(roster) in err and "field larger than field limit" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()
