"""Disclosure per group: a published number never rests on fewer than the threshold of firms in ANY group it is
computed from — and when one firm drives a number, none of its values reaches any output file."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.disclosure import (
    DisclosureRules,
    check_cell,
    check_folder,
    combine,
    suppress_differences,
)
from kaigai_lib.replication.cli import main
from kaigai_lib.replication.replicate import (
    Config,
    Run,
    percentile_window,
    stage_did,
    stage_distributions,
    stage_spatial,
    stage_tfp,
)
from kaigai_lib.whitepaper.did_design import white_paper_did

RULES = DisclosureRules()
OFF = DisclosureRules(min_firms=1, dominance_share=1.0, p_percent=0.0, min_firms_coefficient=1, min_residual_df=0)


# --------------------------------------------------------------------------- the rules themselves

def test_p_percent_rule_beside_dominance() -> None:
    # the two largest hold 80 % (< 85 %: dominance passes), but the others add 4 < 10 % of the largest (50)
    cell = check_cell([1, 2, 3, 4], [50.0, 46.0, 2.0, 2.0], RULES)
    assert not cell.passes and "p % rule" in cell.reason
    assert cell.p_ratio == pytest.approx(4 / 50)
    assert check_cell([1, 2, 3, 4], [50.0, 30.0, 10.0, 10.0], RULES).passes


@pytest.mark.parametrize("settings, key", [({"min_firms": True}, "min_firms"), ({"p_percent": "ten"}, "p_percent"),
                                           ({"p_percent": 100}, "p_percent"), ({"min_residual_df": 2.5},
                                                                               "min_residual_df"),
                                           ({"min_firms_coefficient": 0}, "min_firms_coefficient"),
                                           ({"dominance_share": float("nan")}, "dominance_share")])
def test_rules_refuse_bad_settings(settings: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        DisclosureRules.from_mapping(settings)


def test_every_group_must_pass_on_its_own() -> None:
    many = check_cell(np.arange(200), np.ones(200), RULES)
    one = check_cell([7], [3.0], RULES)
    pair = combine({"starters": one, "controls": many}, RULES)
    assert not pair.passes and pair.reason.startswith("starters: fewer than 3 firms")
    assert pair.n_firms == 1 and pair.groups == {"starters": 1, "controls": 200}


def test_coefficients_need_identifying_firms_and_residual_df() -> None:
    five = check_cell(np.arange(5), np.ones(5), RULES)
    many = check_cell(np.arange(50), np.ones(50), RULES)
    assert not combine({"centre firms": five, "receiving firms": many}, RULES, residual_df=100).passes
    few_df = combine({"centre firms": many}, RULES, residual_df=9)
    assert not few_df.passes and "9 residual degrees of freedom" in few_df.reason
    assert combine({"centre firms": many}, RULES, residual_df=10).passes
    assert combine({"centre firms": five}, DisclosureRules(min_firms_coefficient=5), residual_df=10).passes


def test_differencing_suppresses_the_subgroup_of_a_near_total() -> None:
    everyone = check_cell(np.arange(40), np.ones(40), RULES)
    all_but_two = check_cell(np.arange(38), np.ones(38), RULES)
    other_statistic = check_cell(np.arange(38), np.ones(38), RULES)
    checks = suppress_differences([everyone, all_but_two, other_statistic], ["h1", "h1", "h2"],
                                  ["all", "100-299", "300+"], RULES)
    assert [c.passes for c in checks] == [True, False, True]
    assert "differencing" in checks[1].reason and "but 2 firm(s)" in checks[1].reason
    half = check_cell(np.arange(20), np.ones(20), RULES)  # differs by 20 firms: both stay
    assert all(c.passes for c in suppress_differences([everyone, half], ["h1", "h1"], ["a", "b"], RULES))


def test_percentile_windows_hold_distinct_firms() -> None:
    # firm 99 has 30 firm-years right at the median: a window of firm-years would be that firm alone
    values = np.r_[np.linspace(0, 10, 20), np.full(30, 5.0)]
    ids = np.r_[np.arange(20), np.full(30, 99)]
    window = percentile_window(values, ids, 50, 6)
    assert len(window) == 6 and len(set(ids[window])) == 6 and (ids[window] == 99).sum() == 1
    assert len(percentile_window(values[:3], ids[:3], 50, 6)) == 0  # too few firms: no percentile


# --------------------------------------------------------------------------- one firm behind a number

def _texts(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_bytes().decode("latin-1") for p in folder.rglob("*")
            if p.is_file()}


def _spellings(value: float) -> list[str]:
    """How a number can be written: full precision, 6 or 8 significant digits — those specific enough (≥ 5
    significant digits) that finding one in a file means the number is there."""
    spellings = {repr(float(value)), f"{value:.6g}", f"{value:.8g}"}
    return sorted(t for t in spellings if sum(ch.isdigit() for ch in t.lstrip("-0.")) >= 5)


def assert_nowhere(values: list[float], folder: Path) -> int:
    """None of ``values`` appears in any file of ``folder``; returns how many spellings were searched."""
    texts = _texts(folder)
    searched = 0
    for value in values:
        if not math.isfinite(value) or value == 0:
            continue
        for spelling in _spellings(value):
            searched += 1
            hits = [name for name, text in texts.items() if spelling in text]
            assert not hits, f"{spelling} (a value driven by one firm) is in {hits}"
    return searched


def _run(out: Path, inputs: dict[str, pd.DataFrame], rules: DisclosureRules) -> Run:
    out.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"kaigai.test.{out.name}")
    return Run(inputs=inputs, config=Config(disclosure=rules), out=out, log=log)


@pytest.fixture(scope="module")
def one_firm_world(tiny_inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny world with a single global firm (the only one with an overseas production ratio) and a single
    300+ export starter (the other large starters never start), replicated with the default rules."""
    folder = tmp_path_factory.mktemp("one-firm")
    firms = pd.read_csv(tiny_inputs / "firms.csv").sort_values(["firm_id", "year"]).reset_index(drop=True)
    before = firms.groupby("firm_id")[["exporter", "employees"]].shift(1)
    starts = firms["exporter"].astype(bool) & (before["exporter"] == False) & (before["employees"] >= 300)  # noqa: E712
    starter = int(firms.loc[starts & firms["year"].between(2000, 2008), "firm_id"].iloc[0])
    others = firms["firm_id"].isin(set(firms.loc[starts, "firm_id"]) - {starter})
    firms.loc[others, "exporter"] = firms.groupby("firm_id")["exporter"].transform("first")[others]
    global_firms = firms.loc[(firms["paid_in_capital"] >= 1000) & (firms["overseas_production_ratio"] > 0),
                             "firm_id"].value_counts()
    global_firm = int(global_firms.index[0])
    firms.loc[firms["firm_id"] != global_firm, "overseas_production_ratio"] = 0.0
    firms.to_csv(folder / "firms.csv", index=False)
    out = folder / "results"
    assert main(["replicate", "--firms", str(folder / "firms.csv"), "--establishments",
                 str(tiny_inputs / "establishments.csv"), "--foreign-demand", str(tiny_inputs / "foreign_demand.csv"),
                 "--out", str(out)]) == 0
    # the same stages with every rule switched off: the numbers the one firm would have put in the files
    inputs = {"firms": firms, "establishments": pd.read_csv(tiny_inputs / "establishments.csv"),
              "foreign_demand": pd.read_csv(tiny_inputs / "foreign_demand.csv")}
    loose = _run(folder / "loose", inputs, OFF)
    stage_tfp(loose)
    effects = stage_did(loose, "export")
    # the starter's own growth from t − 1 to every horizon: what the cell's mean growth would be
    wp = white_paper_did(loose.firms, "export", horizons=range(1, 6), pre_horizons=[-3, -2], first_start_year=1998,
                         tfp_col="tfp")
    changes = wp.changes.table
    own_growth = changes.loc[(changes["treated"] == 1) & (changes["group"] == "300+"), "change_pct"]
    spillover = stage_spatial(loose)
    decomposition = pd.read_csv(folder / "loose" / "spillover_decomposition.csv")
    return {"out": out, "effects": effects, "own_growth": own_growth.tolist(), "spillover": spillover,
            "decomposition": decomposition, "global_firm": global_firm, "firms": firms}


def test_a_single_global_firm_reaches_no_file(one_firm_world: dict) -> None:
    out = one_firm_world["out"]
    spillover = pd.read_csv(out / "spillover.csv")
    assert spillover["suppressed"].all() and spillover["estimate"].isna().all()
    assert spillover["groups"].str.startswith("centre firms=1;").all()
    decomposition = pd.read_csv(out / "spillover_decomposition.csv")
    assert decomposition["suppressed"].all()
    assert not (out / "fig_II-2-4-4_spillover_decomposition.png").exists()
    # the DI is public (the same for every area), so its mean change is not the firm's
    firm_driven = one_firm_world["decomposition"].query("term != 'foreign_demand_di'")
    loose_values = [*one_firm_world["spillover"][["estimate", "std_error", "ci_low", "ci_high"]].to_numpy().ravel(),
                    *firm_driven[["mean_change", "coefficient", "contribution"]].to_numpy().ravel()]
    firms = one_firm_world["firms"]
    own = firms.loc[firms["firm_id"] == one_firm_world["global_firm"], "overseas_production_ratio"]
    assert assert_nowhere([*loose_values, *own.diff().dropna()], out) > 10
    assert check_folder(out) == []


def test_a_single_treated_firm_in_a_cell_reaches_no_file(one_firm_world: dict) -> None:
    out = one_firm_world["out"]
    effects = pd.read_csv(out / "effects.csv")
    cell = effects.loc[(effects["analysis"] == "export") & (effects["group"] == "300+")]
    assert len(cell) and cell["suppressed"].all() and cell["estimate"].isna().all()
    assert cell["suppression_reason"].str.contains("starters: fewer than 3 firms").all()
    loose = one_firm_world["effects"]
    alone = loose.loc[loose["group"] == "300+"]
    assert (alone["n_treated"] == 1).all()
    values = [*alone[["estimate", "std_error", "ci_low", "ci_high"]].to_numpy().ravel(), *one_firm_world["own_growth"]]
    assert assert_nowhere(values, out) > 10


def _distribution_frame(rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """Japanese firms, and foreign-owned firms of whom firm 900 has 30 years at exactly the median pay."""
    rows = [{"firm_id": f, "year": 2000 + y, "fdi": f % 2 == 0, "foreign_capital_ratio": 0.0,
             "compensation_per_employee": rng.uniform(3, 12), "tfp": rng.normal()}
            for f in range(60) for y in range(5)]
    rows += [{"firm_id": 800 + f, "year": 2000, "fdi": False, "foreign_capital_ratio": 60.0,
              "compensation_per_employee": v, "tfp": rng.normal()} for f, v in enumerate(np.linspace(3, 12, 10))]
    own = 7.6543219876
    rows += [{"firm_id": 900, "year": 1990 + y, "fdi": False, "foreign_capital_ratio": 60.0,
              "compensation_per_employee": own, "tfp": 0.4321987654} for y in range(30)]
    frame = pd.DataFrame(rows).assign(manufacturing=True, industry="machinery")
    return frame, own


def test_a_single_foreign_owned_firm_near_a_percentile_reaches_no_file(tmp_path: Path) -> None:
    frame, own = _distribution_frame(np.random.default_rng(4))
    run = _run(tmp_path / "out", {}, RULES)
    run.firms = frame
    stage_distributions(run)
    table = pd.read_csv(tmp_path / "out" / "distributions.csv")
    foreign = table.loc[(table["group"] == "Foreign-owned") & (table["variable"] == "compensation_per_employee")]
    assert not foreign["suppressed"].iloc[0]  # shown: 11 firms, but each percentile over 6 distinct firms
    assert "p50 window=6" in foreign["groups"].iloc[0]
    tfp_relative = frame.loc[frame["firm_id"] == 900, "tfp"] - frame.groupby("year")["tfp"].transform("mean")[
        frame["firm_id"] == 900]
    assert assert_nowhere([own, *tfp_relative], tmp_path / "out") >= 3
    # a group of one foreign-owned firm: the whole row goes
    alone = frame.loc[(frame["foreign_capital_ratio"] == 0) | (frame["firm_id"] == 900)]
    run = _run(tmp_path / "alone", {}, RULES)
    run.firms = alone
    stage_distributions(run)
    table = pd.read_csv(tmp_path / "alone" / "distributions.csv")
    assert table.loc[table["group"] == "Foreign-owned", "suppressed"].all()
    assert assert_nowhere([own, *tfp_relative], tmp_path / "alone") >= 3
