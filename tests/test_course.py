"""The course cycle as an instructor runs it: make → add a late trainee → grade → gradebook, feedback.

Worlds are ``tiny`` with 800 firms; six trainees, two questions, so the whole module takes seconds.
Every expected value is computed from the key (the truth of each trainee's world), never typed in.
"""

from __future__ import annotations

import json
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from kaigai_lib.exercises.classroom import diagnose, load_assignment, make_course, read_course_key, truth_leaks
from kaigai_lib.replication.cli import main

EFFECT = """\
id: effect-tiny
question: "The true 5-year effect of starting to export on the log sales of firms with 50-99 employees."
world:
  preset: tiny
  seed: 3
  params: {n_firms: 800}
  trainee_may_change:
    export_effects.50-99.sales: {min: 0.05, max: 0.30, step: 0.05}
  vary_per_trainee: [export_effects.50-99.sales]
quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
tolerance: 1e-2
tables: [firms]
"""
NAIVE = """\
id: naive-tiny
question: "Naive difference in 5-year log sales growth, export starters vs non-starters."
world:
  preset: tiny
  seed: 4
  params: {n_firms: 800}
  trainee_may_change:
    selection_strength: {min: 0.0, max: 2.0, step: 0.5}
  vary_per_trainee: [selection_strength]
quantity: {kind: naive_difference, analysis: export, outcome: sales, horizon: 5}
tolerance: 0
tables: [firms, foreign_demand]
"""
ASSIGNMENT = """\
id: week1
title: "Week 1: effects and naive comparisons"
language: en
deadline: 2026-12-01T17:00+09:00
late_policy: {penalty_per_day: 0.25, accept_days: 3}
attempts: last
submit: "Upload answers.csv to the course page, Week 1."
questions:
  - {exercise: effect.yml, id: effect, points: 4, partial_credit: [{within: 2, share: 0.5}]}
  - {exercise: naive.yml, id: naive, points: 2}
"""
ROSTER = "trainee_id,name,email\ns01,Aiko Sato,aiko@example.org\ns02,Ben Ito,\ns03,\"Chen, Li\",\ns04,Dai,\n" \
         "s05,Emi,\ns06,Fumi,\n"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding=encoding)
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("course")
    write(root, "effect.yml", EFFECT)
    write(root, "naive.yml", NAIVE)
    assignment = write(root, "week1.yml", ASSIGNMENT)
    roster = write(root, "roster.csv", ROSTER)
    # a fixed salt (the CLI draws a random one) so the class is the same on every run
    make_course(assignment, roster, root / "handouts", root / "key", workers=2, salt="test-course")
    late_roster = write(root, "roster_late.csv", ROSTER + "s07,Late Comer,late@example.org\n")
    before = {p.name: p.read_bytes() for p in (root / "key").iterdir() if p.is_file()}
    assert main(["course", "add", "--key", str(root / "key"), "--roster", str(late_roster), "--out",
                 str(root / "late"), "--engine", "serial"]) == 0
    return {"root": root, "handouts": root / "handouts", "late": root / "late", "key": root / "key",
            "key_before": before}  # type: ignore[dict-item]


def test_each_trainee_gets_a_folder_a_zip_a_readme_data_and_a_starter_notebook(course) -> None:
    handouts = course["handouts"]
    assert sorted(p.name for p in handouts.iterdir() if p.is_dir()) == [f"s0{i}" for i in range(1, 7)]
    for tid in ("s01", "s03"):
        folder = handouts / tid
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
            "README.md", "answers.csv", "effect/firms.csv.gz", "naive/firms.csv.gz", "naive/foreign_demand.csv",
            "starter.ipynb"]
        with zipfile.ZipFile(handouts / f"{tid}.zip") as archive:
            assert sorted(archive.namelist()) == sorted(f"{tid}/{p.relative_to(folder).as_posix()}"
                                                        for p in folder.rglob("*") if p.is_file())
    readme = (handouts / "s03" / "README.md").read_text(encoding="utf-8")
    assignment = load_assignment(course["root"] / "week1.yml")
    assert "Chen, Li" in readme and assignment.questions[0].exercise.question in readme
    assert "2026-12-01T17:00:00+09:00" in readme and "Upload answers.csv" in readme
    assert "| sales |" in readme  # the data dictionary
    assert "pip install" in readme and "jupyter lab starter.ipynb" in readme
    notebook = json.loads((handouts / "s03" / "starter.ipynb").read_text(encoding="utf-8"))
    assert any('pd.read_csv("effect/firms.csv.gz")' in "".join(c["source"]) for c in notebook["cells"])
    key = pd.read_csv(course["key"] / "key.csv", dtype={"trainee_id": str})
    assert len(key) == 7 * 2 and key.groupby("question")["seed"].nunique().tolist() == [7, 7]


def test_no_truth_and_no_way_to_it_in_any_handout_file(course) -> None:
    _, key, _, meta = read_course_key(course["key"])
    assert truth_leaks(course["handouts"], key, meta) == []
    assert truth_leaks(course["late"], key, meta) == []
    # the check itself finds a planted truth and a planted seed (it is not vacuous)
    probe = course["root"] / "probe"
    probe.mkdir()
    (probe / "README.md").write_text(f"answer {key['truth'].iloc[3]:.6f}", encoding="utf-8")
    (probe / "x.csv").write_text(f"seed\n{key['seed'].iloc[0]}\n", encoding="utf-8")
    assert len(truth_leaks(probe, key, meta)) == 2
    # the key is not inside the hand-outs, and the course refuses to put it there
    assert course["key"].resolve() not in course["handouts"].resolve().parents


def test_course_make_on_the_command_line_draws_a_fresh_salt(course, tmp_path, capsys) -> None:
    root = course["root"]
    roster = write(tmp_path, "r.csv", "trainee_id\na1\n")
    assert main(["course", "make", str(root / "week1.yml"), "--roster", str(roster), "--out", str(tmp_path / "h"),
                 "--key", str(tmp_path / "k"), "--engine", "serial"]) == 0
    assert "Made hand-outs for 1 trainee(s)" in capsys.readouterr().out
    salts = {read_course_key(folder)[3]["salt"] for folder in (tmp_path / "k", course["key"])}
    assert len(salts) == 2


def test_key_inside_handouts_is_refused_before_any_work(course, capsys) -> None:
    root = course["root"]
    code = main(["course", "make", str(root / "week1.yml"), "--roster", str(root / "roster.csv"),
                 "--out", str(root / "h2"), "--key", str(root / "h2" / "key")])
    assert code == 2 and "inside --out" in capsys.readouterr().err
    assert not (root / "h2").exists()


def test_late_trainee_added_without_changing_anyone_else(course) -> None:
    late = course["late"]
    assert sorted(p.name for p in late.iterdir() if p.is_dir()) == ["s07"]
    before = course["key_before"]
    after = (course["key"] / "key.csv").read_bytes()
    assert after.startswith(before["key.csv"]) and after.count(b"\ns07,") == 2
    assert (course["key"] / "roster.csv").read_bytes().startswith(before["roster.csv"])
    assert not (course["handouts"] / "s07").exists()


def _answers(course, rows: list[str]) -> Path:
    path = course["root"] / "answers.csv"
    path.write_text("trainee_id,question,answer,submitted_at\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_grading_the_class(course, capsys) -> None:
    _, key, _, _ = read_course_key(course["key"])
    truth = {k: float(v) for k, v in key.set_index(["trainee_id", "question"])["truth"].items()}
    naive = {k: float(v) for k, v in key.set_index(["trainee_id", "question"])["naive"].items()}
    on_time, late = "2026-12-01T10:00+09:00", "2026-12-02T18:00+09:00"   # late: 1.04 days → 2 days started
    rows = [
        f"s01,effect,{truth['s01', 'effect']!r},{on_time}",              # right
        f"s01,naive,{truth['s01', 'naive']!r},{on_time}",                # exactly right, tolerance 0
        f"s02,effect,{100 * truth['s02', 'effect']!r},{on_time}",        # unit slip (percent) ...
        f"s02,effect,{truth['s02', 'effect'] + 0.015!r},2026-12-01T11:00+09:00",  # ... then partial credit
        f"s03,effect,{naive['s03', 'effect']!r},{on_time}",              # the naive estimate
        f"s04,effect,{truth['s04', 'effect']!r},{late}",                 # right but late
        f"s04,naive,{truth['s04', 'naive'] + 1e-9!r},{on_time}",         # off by 1e-9: wrong at tolerance 0
        f"s05,effect,{-truth['s05', 'effect']!r},{on_time}",             # sign
        f"s05,naive,０.１,{on_time}",                                    # full-width digits: malformed
        f"s06,effect,1_5,{on_time}",                                     # underscore: malformed
        f"s07,effect,{truth['s07', 'effect']!r},{on_time}",              # the late-added trainee, on time
        f"nobody,effect,0.1,{on_time}",
    ]
    assert abs(naive["s03", "effect"] - truth["s03", "effect"]) > 3 * 0.01  # so the naive answer is wrong
    answers = _answers(course, rows)
    out = course["root"] / "grades"
    # --full-feedback: the diagnosis in the trainees' files whatever the clock says (before the deadline they get
    # only how far an answer is: tests/test_course_hostile.py)
    assert main(["course", "grade", "--key", str(course["key"]), "--answers", str(answers), "--out", str(out),
                 "--full-feedback"]) == 0
    printed = capsys.readouterr().out
    assert "trainee 'nobody' is not on the roster" in printed
    book = pd.read_csv(out / "gradebook.csv", dtype={"trainee_id": str}, keep_default_na=False).set_index(
        "trainee_id")
    assert list(book.index) == [f"s0{i}" for i in range(1, 8)]  # one row per trainee, the late one included
    assert list(book.columns) == ["name", "email", "effect (4)", "naive (2)", "total (6)", "late", "answered"]
    points = book[["effect (4)", "naive (2)"]]
    assert points.loc["s01"].tolist() == [4, 2]
    assert points.loc["s02"].tolist() == [2, 0]                  # last attempt counts: half by the band
    assert points.loc["s03"].tolist() == [0, 0]
    assert points.loc["s04"].tolist() == [pytest.approx(4 * (1 - 0.25 * 2)), 0]
    assert book["late"].tolist() == [False, False, False, True, False, False, False]
    assert points.loc["s05"].tolist() == [0, 0] and points.loc["s06"].tolist() == [0, 0]
    assert points.loc["s07"].tolist() == [4, 0]
    assert book.loc["s01", "total (6)"] == 6 and book.loc["s01", "email"] == "aiko@example.org"

    detail = pd.read_csv(out / "detail.csv", dtype={"trainee_id": str})
    feedback = detail.set_index("line")["feedback"]
    assert feedback[4].startswith("unit slip") and "not counted" in feedback[4]
    assert "partial credit" in feedback[5]
    assert feedback[6].startswith("naive estimate")
    assert "late by 1.04 day(s): 50% of the points kept" in feedback[7]
    assert feedback[8].startswith("out of tolerance by 1e-09")
    assert feedback[9].startswith("sign")
    assert "full-width" in feedback[10] and "underscore" in feedback[11]
    s02 = (out / "feedback" / "s02.md").read_text(encoding="utf-8")
    assert "Ben Ito" in s02 and "unit slip" in s02 and "Total: 2 of 6 points" in s02
    stats = pd.read_csv(out / "statistics.csv").set_index("question")
    assert stats.loc["effect", "trainees"] == 7 and stats.loc["effect", "answered"] == 6  # s06: malformed
    assert (out / "answers_vs_truth.png").stat().st_size > 1000


def test_copy_check_flags_an_answer_fitting_a_classmates_truth(course, tmp_path) -> None:
    _, key, _, _ = read_course_key(course["key"])
    naive = {t: float(v) for t, v in key.loc[key["question"] == "naive"].set_index("trainee_id")["truth"].items()}
    truth = {(t, "naive"): v for t, v in naive.items()}
    pairs = [(a, b) for a in naive for b in naive if a != b and abs(naive[a] - naive[b]) > 0.01]
    copier, source = pairs[0]
    answers = _answers(course, [f"{copier},naive,{truth[source, 'naive']!r},2026-12-01T10:00+09:00"])
    assert main(["course", "grade", "--key", str(course["key"]), "--answers", str(answers),
                 "--out", str(tmp_path / "g")]) == 0
    flagged = pd.read_csv(tmp_path / "g" / "copy_check.csv", dtype=str)
    assert flagged[["trainee_id", "closest_classmate"]].values.tolist() == [[copier, source]]


def test_grade_out_may_not_be_the_key_or_the_answers(course, capsys) -> None:
    answers = _answers(course, ["s01,effect,0.1,"])
    for out in (course["key"], answers, course["root"]):
        assert main(["course", "grade", "--key", str(course["key"]), "--answers", str(answers), "--out", str(out),
                     "--force"]) == 2
        assert "kaigai: error:" in capsys.readouterr().err
    assert (course["key"] / "key.csv").is_file() and answers.is_file()


def test_broken_answer_rows_are_refused_with_their_line(course, tmp_path, capsys) -> None:
    answers = _answers(course, ["s01,effect,0,15,2026-12-01T10:00+09:00", "s02,effect"])
    assert main(["course", "grade", "--key", str(course["key"]), "--answers", str(answers),
                 "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert "line 2: 5 fields but the header has 4" in err and "line 3: 2 fields" in err
    assert not (tmp_path / "g").exists()
    excel = _answers(course, ["s01,effect,0.1,46000.5"])
    assert main(["course", "grade", "--key", str(course["key"]), "--answers", str(excel),
                 "--out", str(tmp_path / "g")]) == 2
    assert "spreadsheet serial number" in capsys.readouterr().err


def test_cp932_roster_is_read(course, tmp_path) -> None:
    from kaigai_lib.exercises.spec import read_roster_table

    roster = write(tmp_path, "roster.csv", "trainee_id,name\nj01,山田太郎\nj02,佐藤花子\n", encoding="cp932")
    assert [t.name for t in read_roster_table(roster)] == ["山田太郎", "佐藤花子"]


@pytest.mark.parametrize(("answer", "truth", "naive", "expected"), [
    (15.0, 0.15, 0.4, "unit slip"), (0.0015, 0.15, 0.4, "unit slip"), (0.4, 0.15, 0.4, "naive"),
    (-0.15, 0.15, 0.4, "sign"), (0.3, 0.15, 0.4, "out of tolerance by 0.14")])
def test_diagnosis(answer, truth, naive, expected) -> None:
    assert diagnose(answer, truth, 0.01, naive, "log points").startswith(expected)


def test_assignment_errors_name_every_field(tmp_path, capsys) -> None:
    bad = write(tmp_path, "a.yml", "id: w\ndeadline: 2026-12-01T17:00\nattempts: most\nquestions:\n"
                                   "  - {exercise: nothere.yml, points: -1, partial_credit: [{within: 0.5}]}\n")
    roster = write(tmp_path, "r.csv", "trainee_id\na\n")
    assert main(["course", "make", str(bad), "--roster", str(roster), "--out", str(tmp_path / "h"),
                 "--key", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err
    for field in ("deadline: ", "has no time zone", "attempts:", "questions[1].exercise", "questions[1].points",
                  "questions[1].partial_credit[1]"):
        assert field in err
    assert not (tmp_path / "h").exists() and not (tmp_path / "k").exists()


def test_sigterm_during_a_parallel_make_stops_it_and_leaves_nothing(course, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    roster = write(tmp_path, "roster.csv", "trainee_id\n" + "".join(f"t{i:02d}\n" for i in range(40)))
    process = subprocess.Popen([sys.executable, "-m", "kaigai_lib", "course", "make", str(course["root"] / "week1.yml"),
                                "--roster", str(roster), "--out", str(tmp_path / "h"), "--key", str(tmp_path / "k"),
                                "--workers", "2"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    # the first trainee is made in the main process; once its files are in the staging folder, workers run
    while time.monotonic() < deadline and not any((p / "t00" / "README.md").exists() for p in tmp_path.iterdir()
                                                  if "staging" in p.name):
        time.sleep(0.05)
    time.sleep(1.0)
    assert process.poll() is None
    os.kill(process.pid, signal.SIGTERM)
    started = time.monotonic()
    process.wait(timeout=60)
    assert time.monotonic() - started < 30  # workers are stopped, not waited for
    assert process.returncode != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roster.csv"]  # no hand-outs, no key, no staging, no lock


def test_dask_local_cluster_makes_the_same_class(course, tmp_path) -> None:
    pytest.importorskip("distributed")
    roster = write(tmp_path, "roster.csv", "trainee_id\ns01\ns02\ns03\n")
    made = make_course(course["root"] / "week1.yml", roster, tmp_path / "h", tmp_path / "k", engine="dask",
                       workers=2, salt="test-course")
    key = pd.read_csv(made.key / "key.csv", dtype={"trainee_id": str})
    original = pd.read_csv(course["key"] / "key.csv", dtype={"trainee_id": str})
    merged = key.merge(original, on=["trainee_id", "question"], suffixes=("", "_serial"))
    assert len(merged) == 6 and (merged["seed"] == merged["seed_serial"]).all()
    assert (merged["truth"] == merged["truth_serial"]).all()
    assert (tmp_path / "h" / "s02" / "effect" / "firms.csv.gz").read_bytes() == (
        course["handouts"] / "s02" / "effect" / "firms.csv.gz").read_bytes()


def test_a_japanese_course_gets_japanese_readmes(course, tmp_path) -> None:
    root = course["root"]
    assignment = write(root, "week1_ja.yml", ASSIGNMENT.replace("language: en", "language: ja").replace(
        "id: week1", "id: week1-ja"))
    roster = write(tmp_path, "roster.csv", "trainee_id,name\nj1,山田太郎\n", encoding="cp932")
    make_course(assignment, roster, tmp_path / "h", tmp_path / "k", engine="serial")
    readme = (tmp_path / "h" / "j1" / "README.md").read_text(encoding="utf-8")
    assert "山田太郎" in readme and "設問" in readme and "締切" in readme and "提出方法と期限" in readme


def test_an_unreachable_dask_scheduler_is_one_clear_error(course, tmp_path, capsys) -> None:
    pytest.importorskip("distributed")
    roster = write(tmp_path, "roster.csv", "trainee_id\na\nb\n")
    assert main(["course", "make", str(course["root"] / "week1.yml"), "--roster", str(roster), "--out",
                 str(tmp_path / "h"), "--key", str(tmp_path / "k"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:9: cannot connect" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roster.csv"]


def test_a_late_trainee_gets_the_exercise_as_it_was_when_the_class_was_made(tmp_path) -> None:
    from kaigai_lib.exercises.classroom import add_trainees, course_seed

    write(tmp_path, "effect.yml", EFFECT)
    write(tmp_path, "naive.yml", NAIVE)
    assignment = write(tmp_path, "week1.yml", ASSIGNMENT)
    roster = write(tmp_path, "roster.csv", "trainee_id\na1\n")
    make_course(assignment, roster, tmp_path / "h", tmp_path / "k", engine="serial", salt="s")
    original = load_assignment(assignment)
    write(tmp_path, "effect.yml", EFFECT.replace("seed: 3", "seed: 99"))  # edited after the class was made
    write(tmp_path, "roster.csv", "trainee_id\na1\nlate\n")
    add_trainees(tmp_path / "k", roster, tmp_path / "h_late", engine="serial")
    key = pd.read_csv(tmp_path / "k" / "key.csv", dtype={"trainee_id": str}).set_index(["trainee_id", "question"])
    question = next(q for q in original.questions if q.id == "effect")
    assert key.loc[("late", "effect"), "seed"] == course_seed("s", question, "late")
    assert (tmp_path / "k" / "exercises" / "effect.yml").read_text(encoding="utf-8") == textwrap.dedent(EFFECT)
