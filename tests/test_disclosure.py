"""Disclosure control: small and dominated cells never reach an output; tampering is caught."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.disclosure import DisclosureRules, check_cell, check_folder, protect, write_manifest

RULES = DisclosureRules(min_firms=3, dominance_n=2, dominance_share=0.85)


def test_count_rule() -> None:
    assert not check_cell([1, 2], [5.0, 5.0], RULES).passes
    assert not check_cell([1, 1, 2, 2], [5.0, 5.0, 5.0, 5.0], RULES).passes  # rows, not firms, were 4
    assert check_cell([1, 2, 3], [5.0, 5.0, 5.0], RULES).passes


def test_dominance_rule() -> None:
    dominated = check_cell([1, 2, 3, 4], [90.0, 6.0, 2.0, 2.0], RULES)
    assert not dominated.passes and dominated.dominance_share == pytest.approx(0.96)
    assert "2 largest firms" in dominated.reason
    assert check_cell([1, 2, 3, 4], [40.0, 30.0, 20.0, 10.0], RULES).passes
    # contributions of one firm across rows are added up before the rule
    assert not check_cell([1, 1, 1, 2, 3], [30.0, 30.0, 30.0, 5.0, 5.0], RULES).passes


def _small_and_dominated_table() -> tuple[pd.DataFrame, dict]:
    # effects.csv's groups are kaigai's own labels (the checker refuses any other): a big, a small and a
    # dominated cell
    table = pd.DataFrame({"group": ["300+", "50-99", "100-299"], "estimate": [0.1, 0.2, 0.3],
                          "ci_low": [0.0, 0.1, 0.2]})
    rng = np.random.default_rng(0)
    cells = {0: (np.arange(50), rng.uniform(1, 2, 50)),
             1: ([7, 8], [1.0, 1.0]),
             2: ([1, 2, 3, 4, 5], [1000.0, 500.0, 1.0, 1.0, 1.0])}
    return table, cells


def test_nothing_below_the_thresholds_reaches_the_output(tmp_path: Path) -> None:
    table, cells = _small_and_dominated_table()
    protected = protect(table, cells, ["estimate", "ci_low"], RULES)
    assert protected["suppressed"].tolist() == [False, True, True]
    assert protected.loc[[1, 2], ["estimate", "ci_low"]].isna().all().all()
    assert protected.loc[0, "estimate"] == 0.1
    protected.to_csv(tmp_path / "effects.csv", index=False)
    write_manifest(tmp_path, RULES, {"effects.csv": ["estimate", "ci_low"]})
    assert check_folder(tmp_path) == []
    written = (tmp_path / "effects.csv").read_text()
    assert "0.2" not in written.split("\n")[2]  # the small cell's value is gone from the file


def test_unknown_contributors_are_suppressed() -> None:
    table, cells = _small_and_dominated_table()
    protected = protect(table, {0: cells[0]}, ["estimate"], RULES)
    assert protected["suppressed"].tolist() == [False, True, True]
    assert (protected["suppression_reason"][1:] == "contributors unknown").all()


def _protected_folder(folder: Path) -> Path:
    table, cells = _small_and_dominated_table()
    protect(table, cells, ["estimate", "ci_low"], RULES).to_csv(folder / "effects.csv", index=False)
    write_manifest(folder, RULES, {"effects.csv": ["estimate", "ci_low"]})
    return folder / "effects.csv"


def test_check_catches_a_restored_value(tmp_path: Path) -> None:
    path = _protected_folder(tmp_path)
    tampered = pd.read_csv(path)
    tampered.loc[1, "estimate"] = 0.2
    tampered.to_csv(path, index=False)
    assert any("suppressed but values still present" in p for p in check_folder(tmp_path))


def test_check_catches_a_dropped_flag(tmp_path: Path) -> None:
    path = _protected_folder(tmp_path)
    tampered = pd.read_csv(path)
    tampered.loc[1, ["suppressed", "estimate"]] = [False, 0.2]
    tampered.to_csv(path, index=False)
    problems = check_folder(tmp_path)
    assert any("fewer than 3 firms but shown (lines 3)" in p for p in problems), problems


def test_check_catches_microdata_and_unlisted_files(tmp_path: Path) -> None:
    _protected_folder(tmp_path)
    pd.DataFrame({"firm_id": [1, 2], "sales": [10.0, 20.0]}).to_csv(tmp_path / "extra.csv", index=False)
    problems = check_folder(tmp_path)
    assert any("extra.csv: not in the manifest" in p for p in problems)
    (tmp_path / "extra.csv").unlink()
    path = tmp_path / "effects.csv"
    tampered = pd.read_csv(path).assign(firm_id=[1, 2, 3])
    tampered.to_csv(path, index=False)
    assert any("identifier column(s) ['firm_id']" in p for p in check_folder(tmp_path))


def test_check_without_manifest_and_bad_rules(tmp_path: Path) -> None:
    assert "no disclosure manifest" in check_folder(tmp_path)[0]
    with pytest.raises(ValueError, match="min_firms"):
        DisclosureRules(min_firms=0)
    with pytest.raises(ValueError, match="unknown disclosure setting"):
        DisclosureRules.from_mapping({"min_firm": 3})
