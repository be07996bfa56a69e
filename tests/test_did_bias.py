"""The matched DiD's error splits exactly into selection and the controls' own effects; the truth is not at fault."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.whitepaper import did_design as did
from kaigai_lib.world.synthetic import World, generate

KEYS = ["outcome", "group", "horizon"]


def _error_and_decomposition(world: World, analysis: str, **options) -> pd.DataFrame:
    wp = did.white_paper_did(world, analysis, horizons=[5], pre_horizons=[], design="robust", **options)
    # cohort fixed effects only: with complete 1:1 pairs the estimate is the mean pair difference
    estimate = did.matched_did(wp.changes, group="group", controls=["cohort"], horizons=[5]).table
    truth = did.true_effects(wp.changes, world, analysis)
    table = estimate.merge(truth, on=KEYS).merge(did.bias_decomposition(wp.changes, world, analysis), on=KEYS)
    assert len(table) == len(estimate) > 0
    return table.assign(error=table["estimate"] - table["true_pct"])


@pytest.mark.parametrize(("analysis", "options"), [("fdi", {}), ("export", {}), ("fdi", {"later_starts": "adjust"})])
def test_the_error_is_selection_minus_the_controls_pull(tiny_world: World, analysis: str, options: dict) -> None:
    table = _error_and_decomposition(tiny_world, analysis, **options)
    np.testing.assert_allclose(table["error"], table["selection"] - table["controls_pull"], atol=1e-9)
    assert (table["pairs"] == table["n_treated"]).all()
    # FDI has no effect on TFP in any group: nothing to pull, the error is all selection (in export, a
    # control's own size class may differ from its starter's, so a zero-effect group can still be pulled)
    if analysis == "fdi":
        no_effect = table.loc[table["outcome"] == "tfp"]
        assert len(no_effect) and (no_effect["true_pct"] == 0).all() and (no_effect["controls_pull"] == 0).all()
    # the controls' pull is their own effects: positive where the world's effects are (FDI capital +10 %)
    if analysis == "fdi" and not options:
        pull = table.set_index(["outcome", "group"])["controls_pull"]
        assert pull[("capital_stock", "manufacturing")] > 0


def test_a_wrong_truth_would_show_as_error_but_not_as_selection(tiny_world: World) -> None:
    """The decomposition reads each unit's own effect: editing the latent effects moves truth and selection alike."""
    edited = World(**{**tiny_world.__dict__, "latent": tiny_world.latent.assign(
        capital_stock_fdi_effect=tiny_world.latent["capital_stock_fdi_effect"] * 0.5)})
    honest = _error_and_decomposition(tiny_world, "fdi").set_index(["outcome", "group"])
    halved = _error_and_decomposition(edited, "fdi").set_index(["outcome", "group"])
    capital = ("capital_stock", "manufacturing")
    assert halved.loc[capital, "true_pct"] < 0.7 * honest.loc[capital, "true_pct"]  # a truth half as large…
    assert halved.loc[capital, "selection"] > honest.loc[capital, "selection"] + 2  # …reads as "selection"
    np.testing.assert_allclose(halved["estimate"], honest["estimate"])  # the data did not change


def test_without_selection_on_the_state_the_untreated_gap_is_noise() -> None:
    """Starts drawn at random (``selection_strength=0``): the gap is within sampling error in every cell."""
    world = generate(preset="tiny", seed=20261214, n_establishments=100, selection_strength=0.0)
    table = _error_and_decomposition(world, "fdi")
    assert (table["pairs"] >= 30).all()
    # |z| < 3.3: each cell fails by chance with probability 0.1 %; the world is seeded, so the test is stable
    assert table["selection_z"].abs().max() < 3.3, table[[*KEYS, "selection", "selection_se"]]
    # and the decomposition still holds
    np.testing.assert_allclose(table["error"], table["selection"] - table["controls_pull"], atol=1e-9)


def _other_start_by_brute_force(wp: did.WhitePaperDid, world: World, other: str) -> pd.Series:
    """Each pair's starter minus control effect of the other start on the percent change, read unit by unit."""
    latent = world.latent.set_index(["firm_id", "year"])
    table = wp.changes.table
    rows = []
    for row in table.itertuples():
        effect = latent[f"{row.outcome}_{other}_effect"]
        own = latent[f"{row.outcome}_{wp.analysis}_effect"]
        end, base = (row.firm_id, row.cohort + row.horizon), (row.firm_id, row.cohort - 1)
        untreated = row.change_log - (own[end] - own[base])
        cleared = untreated - (effect[end] - effect[base])
        rows.append((row.outcome, row.group, row.horizon, row.pair, row.treated,
                     100 * (np.expm1(untreated) - np.expm1(cleared))))
    frame = pd.DataFrame(rows, columns=[*KEYS, "pair", "treated", "other"])
    wide = frame.groupby([*KEYS, "pair", "treated"])["other"].mean().unstack("treated")
    return (wide[1] - wide[0]).groupby(level=KEYS).mean()


@pytest.mark.parametrize(("analysis", "other"), [("export", "fdi"), ("fdi", "export")])
def test_the_other_start_is_the_part_of_selection_it_explains(tiny_world: World, analysis: str, other: str) -> None:
    wp = did.white_paper_did(tiny_world, analysis, horizons=[4], pre_horizons=[], design="robust",
                             outcomes=["sales", "capital_stock"])
    parts = did.bias_decomposition(wp.changes, tiny_world, analysis).set_index(KEYS)
    expected = _other_start_by_brute_force(wp, tiny_world, other).reindex(parts.index)
    np.testing.assert_allclose(parts["other_start"], expected, atol=1e-9)
    assert (parts["other_start"].abs() > 0).any()  # some starters or controls start the other one within t+4


def test_without_effects_of_the_other_start_it_explains_nothing() -> None:
    no_fdi = {group: dict.fromkeys(("employees", "sales", "capital_stock", "tfp", "compensation_per_employee"), 0.0)
              for group in ("manufacturing", "non-manufacturing")}
    world = generate(preset="tiny", seed=3, n_establishments=100, fdi_effects=no_fdi)
    wp = did.white_paper_did(world, "export", horizons=[5], pre_horizons=[], design="robust",
                             outcomes=["sales", "capital_stock"])
    parts = did.bias_decomposition(wp.changes, world, "export")
    assert len(parts) and (parts["other_start"] == 0).all()
