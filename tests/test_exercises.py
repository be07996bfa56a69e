"""Instructor-set exercises: files, errors, widgets driven like a person would, hand-outs and grading.

Worlds are the ``tiny`` preset; the hand-out test shrinks it further
(``n_firms: 800``) so that 30 personal data sets take a few seconds.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from kaigai_lib.exercises import spec as exercises
from kaigai_lib.exercises.spec import (
    ExerciseError,
    ExerciseSpec,
    ExerciseWidget,
    exercise_files,
    exercise_widget,
    load_exercise,
    selection_bias_explorer,
)
from kaigai_lib.replication.cli import main
from kaigai_lib.teaching.static_widgets import StaticWidget, judge
from kaigai_lib.whitepaper.selection import decompose
from kaigai_lib.world.synthetic import generate

NAIVE_TINY = """\
id: naive-tiny
title: Naive comparison on a tiny world
question: "Naive difference in 5-year log sales growth, export starters with 50-99 employees vs non-starters."
world:
  preset: tiny
  seed: 0
  params: {selection_strength: 1.0}
  trainee_may_change:
    selection_strength: {min: 0.0, max: 2.0, step: 0.5}
quantity: {kind: naive_difference, analysis: export, outcome: sales, group: "50-99", horizon: 5}
tolerance: 0.005
hints: ["Use kaigai_lib.estimators.naive.naive_difference.", "group='50-99'"]
"""

HANDOUT_TINY = """\
id: handout-tiny
question: "Naive difference in 5-year log sales growth of export starters vs non-starters (all sizes)."
world:
  preset: tiny
  seed: 11
  params: {n_firms: 800}
  trainee_may_change:
    selection_strength: {min: 0.0, max: 2.0, step: 0.5}
  vary_per_trainee: [selection_strength]
quantity: {kind: naive_difference, analysis: export, outcome: sales, horizon: 5}
tolerance: 0.01
tables: [firms, foreign_demand]
"""


def write(tmp_path: Path, text: str, name: str = "exercise.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- files

def test_shipped_examples_load_and_name_real_quantities() -> None:
    shipped = exercise_files()
    assert {"naive-export-sales", "selection-bias-export-tfp", "att-export-sales-small"} <= set(shipped)
    for name, path in shipped.items():
        spec = load_exercise(name)
        assert spec.id == name and spec.source == str(path)
        assert spec.tolerance > 0 and spec.question
    spec = load_exercise("att-export-sales-small")
    assert spec.vary_per_trainee == ("export_effects.50-99.sales",)
    assert spec.default_values() == {"export_effects.50-99.sales": 0.15}


def test_yaml_and_toml_give_the_same_exercise(tmp_path: Path) -> None:
    from_yaml = load_exercise(write(tmp_path, NAIVE_TINY))
    toml = write(tmp_path, """\
        id = "naive-tiny"
        title = "Naive comparison on a tiny world"
        question = "Naive difference in 5-year log sales growth, export starters with 50-99 employees vs non-starters."
        tolerance = 0.005
        hints = ["Use kaigai_lib.estimators.naive.naive_difference.", "group='50-99'"]

        [world]
        preset = "tiny"
        seed = 0
        params = {selection_strength = 1.0}
        trainee_may_change = {selection_strength = {min = 0.0, max = 2.0, step = 0.5}}

        [quantity]
        kind = "naive_difference"
        analysis = "export"
        outcome = "sales"
        group = "50-99"
        horizon = 5
        """, "exercise.toml")
    from_toml = load_exercise(toml)
    assert {**from_toml.__dict__, "source": ""} == {**from_yaml.__dict__, "source": ""}
    assert from_yaml.unit == "log points"  # default unit of a log-scale quantity


def test_the_truth_is_computed_from_the_world(tiny_world, tmp_path: Path) -> None:
    spec = load_exercise(write(tmp_path, NAIVE_TINY))
    expected = decompose(tiny_world, "export", "sales", "50-99", 5).naive
    assert spec.truth(tiny_world) == pytest.approx(expected, abs=1e-12)
    kinds = {
        "true_effect": tiny_world.truth.effect("export", "sales", "50-99", 5),
        "sample_att": tiny_world.sample_att("export", "sales", "50-99", 5),
        "selection_bias": decompose(tiny_world, "export", "sales", "50-99", 5).selection_bias,
    }
    for kind, value in kinds.items():
        q = exercises.Quantity(kind=kind, analysis="export", outcome="sales", group="50-99", horizon=5)
        assert q.compute(tiny_world) == pytest.approx(value, abs=1e-12), kind
    percent = exercises.Quantity("true_effect", "export", "sales", "50-99", 5, scale="percent")
    assert percent.compute(tiny_world) == pytest.approx(100 * math.expm1(kinds["true_effect"]))


# --------------------------------------------------------------------------- malformed files

BAD_FILES = {
    "unknown world parameter": (
        NAIVE_TINY.replace("params: {selection_strength: 1.0}", "params: {selection_strenght: 1.0}"),
        "world.params.selection_strenght", "did you mean 'selection_strength'"),
    "unknown slider parameter": (
        NAIVE_TINY.replace("selection_strength: {min", "selectivity: {min"),
        "world.trainee_may_change.selectivity", "unknown world parameter"),
    "tolerance missing": (
        NAIVE_TINY.replace("tolerance: 0.005\n", ""), "tolerance", "missing (required)"),
    "tolerance not a number": (
        NAIVE_TINY.replace("tolerance: 0.005", "tolerance: small"), "tolerance", "must be a number"),
    "range below what the world accepts": (
        NAIVE_TINY.replace("{min: 0.0, max: 2.0", "{min: -1.0, max: 2.0"),
        "world.trainee_may_change.selection_strength.min", "selection_strength=-1.0: must be ≥ 0"),
    "range above what the world accepts": (
        NAIVE_TINY.replace("selection_strength: {min: 0.0, max: 2.0, step: 0.5}",
                           "catchment_overlap: {min: 0.0, max: 1.5, step: 0.1}"),
        "world.trainee_may_change.catchment_overlap.max", "must lie in [0, 1]"),
    "fixed value outside the world": (
        NAIVE_TINY.replace("params: {selection_strength: 1.0}", "params: {selection_strength: 1.0, exit_rate: 2}"),
        "world.params.exit_rate", "must lie in [0, 1)"),
    "own value outside the range": (
        NAIVE_TINY.replace("params: {selection_strength: 1.0}", "params: {selection_strength: 3.0}"),
        "world.trainee_may_change.selection_strength", "lies outside [0.0, 2.0]"),
    "min above max": (
        NAIVE_TINY.replace("{min: 0.0, max: 2.0", "{min: 2.0, max: 0.0"),
        "world.trainee_may_change.selection_strength", "min (2.0) is larger than max (0.0)"),
    "unknown quantity kind": (
        NAIVE_TINY.replace("kind: naive_difference", "kind: naive_diff"), "quantity.kind", "naive_difference"),
    "unknown analysis": (
        NAIVE_TINY.replace("analysis: export", "analysis: exports"), "quantity.analysis", "export or fdi"),
    "unknown outcome": (
        NAIVE_TINY.replace("outcome: sales", "outcome: revenue"), "quantity.outcome", "unknown outcome 'revenue'"),
    "unknown group": (
        NAIVE_TINY.replace('group: "50-99"', 'group: "50-90"'), "quantity.group", "did you mean '50-99'"),
    "unknown field": (
        NAIVE_TINY + "tolerence: 0.01\n", "tolerence", "unknown field (did you mean 'tolerance'?)"),
    "hints not a list": (
        NAIVE_TINY.replace('hints: ["Use kaigai_lib.estimators.naive.naive_difference.", "group=\'50-99\'"]',
                           "hints: look at the firms"), "hints", "must be a list of texts"),
    "vary a fixed parameter": (
        NAIVE_TINY.replace("quantity:", "  vary_per_trainee: [exit_rate]\nquantity:"),
        "world.vary_per_trainee", "'exit_rate' is not in world.trainee_may_change"),
    "duplicate key": (NAIVE_TINY + "id: again\n", "(file)", "duplicate key 'id'"),
    "not YAML": ("id: [unclosed\n", "(file)", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_malformed_file_names_the_file_and_the_field(tmp_path: Path, case: str) -> None:
    text, field, phrase = BAD_FILES[case]
    path = write(tmp_path, text, "bad_exercise.yml")
    with pytest.raises(ExerciseError) as caught:
        load_exercise(path)
    message = str(caught.value)
    assert str(path) in message
    assert any(where == field and phrase in what for where, what in caught.value.problems), message
    assert f"  - {field}: " in message


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = (NAIVE_TINY.replace("tolerance: 0.005\n", "").replace("outcome: sales", "outcome: revenue")
            .replace("params: {selection_strength: 1.0}", "params: {selection_strenght: 1.0}"))
    with pytest.raises(ExerciseError) as caught:
        load_exercise(write(tmp_path, text))
    assert {"tolerance", "quantity.outcome", "world.params.selection_strenght"} <= {w for w, _ in caught.value.problems}


def test_the_cli_reports_a_malformed_file_without_a_traceback(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, NAIVE_TINY.replace("tolerance: 0.005\n", ""), "no_tolerance.yml")
    assert main(["exercises", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no_tolerance.yml" in err and "tolerance: missing (required)" in err and "Traceback" not in err
    assert main(["exercises", "check", "no-such-exercise"]) == 2
    assert "naive-export-sales" in capsys.readouterr().err  # lists the shipped names


# --------------------------------------------------------------------------- the exercise widget

def _verdict(widget: ExerciseWidget, value: float) -> str:
    """What the page says to ``value`` at the widget's current setting (the page's judge, in Python)."""
    return judge(value, widget.current_answer_key, widget.spec.unit).verdict


def test_exercise_widget_checks_answers_against_the_trainees_world(tmp_path: Path) -> None:
    box = exercise_widget(write(tmp_path, NAIVE_TINY))
    assert isinstance(box, StaticWidget)
    control = box.controls["selection_strength"]
    assert control.options == ["0.00", "0.50", "1.00", "1.50", "2.00"] and box.values == {"selection_strength": "1.00"}
    assert "seed 0" in box.view_html and 'data-kaigai-number="selection_strength">1<' in box.view_html
    assert set(box.answer_keys) == set(control.options)  # every slider position, for the static page
    assert box.setup["check"]["hints"] == ["Use kaigai_lib.estimators.naive.naive_difference.",
                                           "group=&#x27;50-99&#x27;"]

    truth = decompose(generate(preset="tiny", seed=0), "export", "sales", "50-99").naive
    assert _verdict(box, truth + 0.004) == "correct"
    assert _verdict(box, truth + 0.05) == "too high"
    assert _verdict(box, truth - 0.05) == "too low"
    assert _verdict(box, 100 * truth) == "unit slip"

    # a person moves the slider: a new world, a new truth, the old answer no longer counts
    box.set(selection_strength=0.0)
    assert box.values == {"selection_strength": "0.00"}
    assert 'data-kaigai-number="selection_strength">0<' in box.view_html
    new_truth = decompose(generate(preset="tiny", seed=0, selection_strength=0.0), "export", "sales", "50-99").naive
    assert abs(new_truth - truth) > 0.01
    assert box.exercise.answer == pytest.approx(new_truth, abs=1e-12)
    assert box.answer_keys["0.00"]["truth"] == pytest.approx(new_truth, abs=1e-12)
    assert _verdict(box, truth) == "too low"
    assert _verdict(box, new_truth) == "correct"
    assert box.check(new_truth).correct
    assert box.firms.equals(generate(preset="tiny", seed=0, selection_strength=0.0).firms)


def test_exercise_widget_for_a_true_effect_slider(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        id: effect-slider
        question: "What is the true 3-year effect of FDI on the employment of manufacturers?"
        world:
          preset: tiny
          trainee_may_change:
            fdi_effects.manufacturing.employees: {min: 0.0, max: 0.2, step: 0.02}
        quantity: {kind: true_effect, analysis: fdi, outcome: employees, group: manufacturing, horizon: 3}
        tolerance: 0.001
        """)
    box = exercise_widget(path)
    name = "fdi_effects.manufacturing.employees"
    assert box.setting[name] == pytest.approx(0.08)  # the world's default effect
    build_up = 4 / 6  # horizon 3 of a 5-year linear build-up: (h + 1) / (B + 1)
    assert _verdict(box, 0.08 * build_up) == "correct"
    assert _verdict(box, -0.08 * build_up) == "sign error"
    box.set(**{name: 0.2})
    assert box.world.truth.effect("fdi", "employees", "manufacturing", 3) == pytest.approx(0.2 * build_up)
    assert _verdict(box, 0.08 * build_up) == "too low"
    assert _verdict(box, 0.2 * build_up) == "correct"
    assert "Enter a number" in box.check(float("nan")).message


def test_exercise_widget_refuses_a_grid_too_large_for_a_page(tmp_path: Path) -> None:
    path = write(tmp_path, NAIVE_TINY.replace("step: 0.5", "step: 0.01"), "fine.yml")
    with pytest.raises(ValueError, match="201 settings"):
        exercise_widget(path)


def test_selection_bias_explorer_updates_naive_truth_and_bias_together() -> None:
    explorer = selection_bias_explorer(preset="tiny", seed=0)
    assert isinstance(explorer, StaticWidget) and len(explorer.views) == 9  # 0 to 2 by 0.25
    before = explorer.view_html
    assert "selection_strength = 1.00" in before and "<img" in before
    growth = explorer.results["growth"]
    expected = decompose(generate(preset="tiny", seed=0), "export", "sales", "50-99", measure="growth")
    assert growth.naive == pytest.approx(expected.naive) and f"{expected.naive:+.3f}" in before

    explorer.set(selection_strength=0.0)
    html_after = explorer.view_html
    assert html_after != before and "selection_strength = 0.00" in html_after
    world0 = generate(preset="tiny", seed=0, selection_strength=0.0)
    for measure, d in explorer.results.items():
        again = decompose(world0, "export", "sales", "50-99", measure=measure)
        assert (d.naive, d.att, d.selection_bias) == pytest.approx((again.naive, again.att, again.selection_bias))
        assert f"{again.selection_bias:+.3f}" in html_after
        assert d.att == pytest.approx(0.15)  # the truth does not move with selection
    table = explorer.table()
    assert list(table.index[:3]) == ["naive difference", "ATT (true effect)", "selection bias"]


# --------------------------------------------------------------------------- hand-outs and grading

@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("class")
    exercise = write(root, HANDOUT_TINY)
    roster = root / "roster.csv"
    roster.write_text("trainee_id,name\n" + "".join(f"s{i:02d},Trainee {i}\n" for i in range(1, 31)),
                      encoding="utf-8")
    out = root / "class"
    assert main(["exercises", "make", "--exercise", str(exercise), "--roster", str(roster), "--out", str(out)]) == 0
    return {"root": root, "exercise": exercise, "roster": roster, "out": out, "key": root / "class_key.csv"}


def test_thirty_trainees_get_thirty_different_data_sets_and_a_key(handout: dict[str, Path]) -> None:
    out = handout["out"]
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert [p.name for p in folders] == [f"s{i:02d}" for i in range(1, 31)]
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == ["README.md", "firms.csv.gz", "foreign_demand.csv"]
    digests = {hashlib.sha256(gzip.decompress((f / "firms.csv.gz").read_bytes())).hexdigest() for f in folders}
    assert len(digests) == 30

    key = pd.read_csv(handout["key"], dtype={"trainee_id": str})
    assert list(key.columns) == list(exercises.KEY_COLUMNS)
    assert len(key) == 30 and key["seed"].nunique() == 30 and key["answer"].nunique() == 30
    assert set(json.loads(p)["selection_strength"] for p in key["params"]) <= {0.0, 0.5, 1.0, 1.5, 2.0}

    # the key's answer is the truth of the world the trainee's files come from
    spec = load_exercise(handout["exercise"])
    for row in key.head(2).itertuples():
        world = generate(preset="tiny", seed=int(row.seed), **json.loads(row.params))
        firms = pd.read_csv(out / row.trainee_id / "firms.csv.gz")
        assert len(firms) == len(world.firms) and firms["sales"].sum() == pytest.approx(world.firms["sales"].sum())
        assert row.answer == pytest.approx(spec.truth(world), abs=1e-9)
        readme = (out / row.trainee_id / "README.md").read_text(encoding="utf-8")
        assert spec.question in readme and str(row.seed) not in readme  # no way back to the truth
        assert "tfp_true" not in firms.columns and "firm_effect" not in firms.columns


def test_a_trainees_widget_checks_against_the_answer_key(handout: dict[str, Path]) -> None:
    key = pd.read_csv(handout["key"], dtype={"trainee_id": str}).set_index("trainee_id")
    box = exercise_widget(handout["exercise"], trainee="s07")
    assert box.seed == key.loc["s07", "seed"]
    assert box.setting == {"selection_strength": json.loads(key.loc["s07", "params"])["selection_strength"]}
    assert box.exercise.answer == pytest.approx(key.loc["s07", "answer"], abs=1e-9)
    assert "trainee <code>s07</code>" in box.view_html and str(box.seed) not in json.dumps(box.state())
    assert _verdict(box, key.loc["s07", "answer"]) == "correct"
    with pytest.raises(ValueError, match="either seed or trainee"):
        exercise_widget(handout["exercise"], seed=1, trainee="s07")


def test_hand_outs_are_reproducible_and_not_overwritten(handout: dict[str, Path], capsys) -> None:
    args = ["exercises", "make", "--exercise", str(handout["exercise"]), "--roster", str(handout["roster"])]
    assert main([*args, "--out", str(handout["out"])]) == 2
    assert "--force" in capsys.readouterr().err
    again = handout["root"] / "again"
    spec = load_exercise(handout["exercise"])
    key = exercises.make_datasets(spec, ["s01", "s02"], again)
    first = pd.read_csv(handout["key"], dtype={"trainee_id": str}).head(2)
    assert key["seed"].tolist() == first["seed"].tolist()
    assert key["answer"].to_numpy() == pytest.approx(first["answer"].to_numpy())


def test_grading_a_class(handout: dict[str, Path], capsys) -> None:
    key = pd.read_csv(handout["key"], dtype={"trainee_id": str})
    truth = dict(zip(key["trainee_id"], key["answer"], strict=True))
    rows = [["trainee_id", "answer"]]
    rows += [[f"s{i:02d}", f"{truth[f's{i:02d}'] + 0.004:.6f}"] for i in range(1, 21)]   # right
    rows += [[f"s{i:02d}", f"{truth[f's{i:02d}'] + 0.05:.6f}"] for i in range(21, 25)]   # too high
    rows += [[f"s{i:02d}", f"{truth[f's{i:02d}'] - 0.05:.6f}"] for i in range(25, 28)]   # too low
    rows += [["s28", "about 0.1"]]                                                       # malformed
    answers = handout["root"] / "answers.csv"
    with answers.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    grades_path = handout["root"] / "grades.csv"
    assert main(["exercises", "grade", "--key", str(handout["key"]), "--answers", str(answers),
                 "--out", str(grades_path)]) == 0
    printed = capsys.readouterr().out
    assert "Graded 27 answer(s): 20 correct, 7 wrong (4 too high, 3 too low)." in printed
    assert "row 29: answer 'about 0.1' is not a number" in printed
    assert "No answer from 2 trainee(s): s29, s30" in printed

    grades = pd.read_csv(grades_path, dtype={"trainee_id": str, "answer": str})
    assert list(grades.columns) == list(exercises.GRADE_COLUMNS)
    by_trainee = grades.set_index("trainee_id")
    assert by_trainee.loc[[f"s{i:02d}" for i in range(1, 21)], "correct"].all()
    assert not by_trainee.loc[[f"s{i:02d}" for i in range(21, 31)], "correct"].any()
    assert (by_trainee.loc[[f"s{i:02d}" for i in range(21, 25)], "verdict"] == "too high").all()
    assert (by_trainee.loc[[f"s{i:02d}" for i in range(25, 28)], "verdict"] == "too low").all()
    malformed = by_trainee.loc["s28"]
    assert malformed["verdict"] == "malformed" and malformed["answer"] == "about 0.1"
    assert malformed["message"].startswith("row 29: answer 'about 0.1' is not a number")
    assert malformed["truth"] == pytest.approx(truth["s28"])  # kept, with its truth, for the instructor
    assert (by_trainee.loc[["s29", "s30"], "verdict"] == "no answer").all()
    # the grading agrees with the widget's checker
    assert by_trainee.loc["s01", "message"].startswith("Correct")


def test_grading_flags_unknown_trainees_duplicates_and_empty_answers(handout: dict[str, Path], tmp_path: Path) -> None:
    key = exercises.read_key(handout["key"])
    first = key.iloc[0]
    answers = tmp_path / "answers.csv"
    answers.write_text(f"trainee_id,answer\n{first.trainee_id},{float(first.answer)!r}\nnobody,0.1\n"
                       f"{first.trainee_id},0.3\ns03,\n", encoding="utf-8")
    grades = exercises.grade(key, answers)
    messages = dict(zip(grades["row"].astype("string"), grades["message"], strict=True))
    assert grades.loc[0, "correct"]
    assert "trainee 'nobody' is not in the answer key" in messages["3"]
    assert "already answered in row 2" in messages["4"]
    assert "row 5: no answer given" in messages["5"]
    assert grades["verdict"].tolist()[:4] == ["correct", "unknown trainee", "duplicate", "malformed"]
    assert (grades["verdict"] == "no answer").sum() == 30 - 2  # s01 and s03 answered (if badly)


def test_a_row_with_an_unquoted_comma_refuses_the_file_with_its_line(handout: dict[str, Path], tmp_path: Path,
                                                                     capsys) -> None:
    # issue 13: not re-read as another trainee, not marked malformed — the file is refused, nothing written
    answers = tmp_path / "answers.csv"
    answers.write_text("trainee_id,answer\ns01,0.1\ns02,0,05\ns03\n", encoding="utf-8")
    out = tmp_path / "graded.csv"
    assert main(["exercises", "grade", "--key", str(handout["key"]), "--answers", str(answers),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 3: 3 fields but the header has 2" in err and "unquoted comma" in err
    assert "line 4: 1 fields but the header has 2" in err
    assert not out.exists()


def test_bad_roster_and_answers_files_are_user_errors(handout: dict[str, Path], tmp_path: Path, capsys) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("trainee_id\na1\na1\nbad id\n", encoding="utf-8")
    assert main(["exercises", "make", "--exercise", str(handout["exercise"]), "--roster", str(roster),
                 "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "row 3: trainee_id 'a1' repeats row 2" in err and "row 4: trainee_id 'bad id'" in err
    answers = tmp_path / "answers.csv"
    answers.write_text("student,answer\na1,0.1\n", encoding="utf-8")
    assert main(["exercises", "grade", "--key", str(handout["key"]), "--answers", str(answers)]) == 2
    assert "lacks column(s) ['trainee_id']" in capsys.readouterr().err


def test_exercise_spec_is_plain_data() -> None:
    spec = load_exercise("naive-export-sales")
    assert isinstance(spec, ExerciseSpec)
    assert spec.world_params({"selection_strength": 0.5}) == {"selection_strength": 0.5}
    assert spec.trainee_may_change["selection_strength"].grid() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
