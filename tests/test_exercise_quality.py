"""`kaigai exercises check`'s quality report and the new kinds, on tiny worlds (seconds)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from kaigai_lib.estimators.naive import naive_difference
from kaigai_lib.exercises.spec import load_exercise, make_datasets, quality_report, read_key
from kaigai_lib.replication.cli import main

LOOSE = """\
id: loose
question: "True 5-year effect of exporting on log sales (50-99)."
world:
  preset: tiny
  seed: 2
  params: {n_firms: 800}
quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
tolerance: 0.5
tables: [firms]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_loose_tolerance_is_caught_naive_sign_and_same_truth(tmp_path: Path) -> None:
    spec = load_exercise(write(tmp_path, "loose.yml", LOOSE))
    report = quality_report(spec, sample=3, estimate=False)
    assert report.table["truth"].nunique() == 1
    warnings = " | ".join(report.warnings)
    assert "the same for every trainee" in warnings
    assert "a sign error would pass in 3 of 3 worlds" in warnings  # |truth| = 0.15 < 0.5 / 2
    naive_passes = int(((report.table["naive"] - report.table["truth"]).abs() <= 0.5).sum())
    assert (f"the naive estimate would pass in {naive_passes} of 3" in warnings) == (naive_passes > 0)


def test_a_tight_tolerance_on_a_varying_truth_has_no_warning(tmp_path: Path) -> None:
    text = LOOSE.replace("tolerance: 0.5", "tolerance: 0.001").replace(
        "  params: {n_firms: 800}\n", "  params: {n_firms: 800}\n  trainee_may_change:\n"
        "    export_effects.50-99.sales: {min: 0.05, max: 0.30, step: 0.05}\n"
        "  vary_per_trainee: [export_effects.50-99.sales]\n")
    report = quality_report(load_exercise(write(tmp_path, "tight.yml", text)), sample=4, estimate=False)
    assert not report.spec.same_for_everyone and report.table["truth"].nunique() > 1
    naive_passes = int(((report.table["naive"] - report.table["truth"]).abs() <= 0.001).sum())
    expected = [f"the naive estimate would pass in {naive_passes} of 4 worlds"] if naive_passes else []
    assert [w.split(":")[0] for w in report.warnings] == expected  # no sign, unit-slip or same-truth warning


def test_check_prints_the_report_with_the_estimator(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "lp.yml", """\
        id: lp-tiny
        question: "LP labour elasticity in machinery"
        world: {preset: tiny, seed: 0}
        quantity: {kind: lp_coefficient, coefficient: labour, industry: machinery}
        tolerance: 0.05
        """)
    assert main(["exercises", "check", str(path), "--sample", "2"]) == 0
    out = capsys.readouterr().out
    estimator = re.search(r"estimator: mean ([-\d.]+)", out)
    assert estimator and abs(float(estimator.group(1)) - 0.6) < 0.05  # LP recovers the true 0.6 (tiny world)
    assert "suggested tolerance" in out and "WARNING: the truth is the same for every trainee" in out


def test_selection_bias_is_answerable_from_the_hand_out(tmp_path: Path) -> None:
    spec = load_exercise(write(tmp_path, "sb.yml", """\
        id: sb-tiny
        question: "Selection bias of the level comparison of log sales at t+5, export starters 50-99."
        world:
          preset: tiny
          seed: 1
          trainee_may_change:
            selection_strength: {min: 0.5, max: 2.0, step: 0.5}
          vary_per_trainee: [selection_strength]
        quantity: {kind: selection_bias, analysis: export, outcome: sales, group: "50-99", horizon: 5,
                   measure: level}
        tolerance: 0.005
        tables: [firms]
        """))
    key = make_datasets(spec, ["t1", "t2"], tmp_path / "class")
    for row in read_key(tmp_path / "class_key.csv").itertuples():
        readme = (tmp_path / "class" / row.trainee_id / "README.md").read_text(encoding="utf-8")
        att = float(re.search(r"\(ATT\) is (-?[\d.]+)", readme).group(1))
        firms = pd.read_csv(tmp_path / "class" / row.trainee_id / "firms.csv.gz")
        naive = naive_difference(firms, outcome="sales", group="50-99", horizon=5, measure="level").difference
        assert naive - att == pytest.approx(row.answer, abs=spec.tolerance)
        assert f"{row.answer:.4f}" not in readme
    assert len(key) == 2


@pytest.mark.parametrize(("quantity", "message"), [
    ("{kind: matched_count, analysis: export, caliper: -1}", "quantity.caliper: must be a number > 0"),
    ("{kind: lp_coefficient, coefficient: labor, industry: machinery}", "quantity.coefficient: 'labor'"),
    ("{kind: lp_coefficient, coefficient: labour, industry: machines}", "did you mean 'machinery'"),
    ("{kind: spillover_coefficient, coefficient: opr, outcome: sales}", "quantity.outcome: not used by kind"),
])
def test_new_kinds_validate_their_fields(tmp_path: Path, capsys, quantity: str, message: str) -> None:
    path = write(tmp_path, "bad.yml", f"id: bad\nquestion: q\nworld: {{preset: tiny}}\nquantity: {quantity}\n"
                                      "tolerance: 1\n")
    assert main(["exercises", "check", str(path), "--sample", "0"]) == 2
    assert message in capsys.readouterr().err


def test_check_runs_the_matched_did_for_an_effect_question(tmp_path: Path) -> None:
    # the white paper's DiD (estimate_for) on each sampled world: its estimate sits near the truth
    report = quality_report(load_exercise(write(tmp_path, "loose.yml", LOOSE)), sample=2, estimate=True)
    error = report.table["estimate"] - report.table["truth"]
    assert report.table["estimate"].notna().all()
    # about 15 starters of 50-99 in an 800-firm world: the DiD's s.e. is about 0.14, so 3 s.e. ≈ 0.42
    assert (error.abs() < 0.42).all(), report.table
    assert report.suggested_tolerance > 0
