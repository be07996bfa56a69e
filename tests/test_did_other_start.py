"""The other start's effects subtracted (``white_paper_did(other_start=…)``): timing, groups, errors, estimates."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.starts import EXPORT_GROUPS, FDI_GROUPS
from kaigai_lib.whitepaper import coverage, did_design
from kaigai_lib.world.synthetic import MAX_HORIZON, OUTCOMES, World, effect_path, generate

OTHER = {"export": "fdi", "fdi": "export"}


def _true_path(world: World, analysis: str, groups: tuple[str, ...] | None = None) -> SimpleNamespace:
    """The world's own effect paths of ``analysis`` as an ``effect_path`` table (what an oracle would subtract)."""
    table = world.truth.params.export_effects if analysis == "export" else world.truth.params.fdi_effects
    groups = groups or (EXPORT_GROUPS if analysis == "export" else FDI_GROUPS)
    rows = [{"outcome": o, "group": g, "event_year": k, "effect_log": tau, "pairs": 10 * (i + 1)}
            for i, g in enumerate(groups) for o in OUTCOMES
            for k, tau in enumerate(effect_path(table[g][o], world.truth.params.effect_build_up_years))]
    return SimpleNamespace(analysis=analysis, effect_path=pd.DataFrame(rows))


@pytest.mark.parametrize("analysis", ["export", "fdi"])
def test_other_starts_are_the_worlds_start_years(tiny_world: World, analysis: str) -> None:
    firms = tiny_world.firms
    starts = did_design.other_starts(firms, analysis).set_index("firm_id")
    truth = firms.groupby("firm_id")[f"{analysis}_start_year"].min().astype(float)
    assert len(starts) > 50
    seen = set(zip(firms["firm_id"], firms["year"], strict=True))
    no_gap = np.array([(i, t - 1) in seen and (i, t) in seen for i, t in zip(starts.index, starts["other_start"],
                                                                               strict=True)])
    true_start = truth.reindex(starts.index).to_numpy()
    np.testing.assert_array_equal(starts["other_start"].to_numpy()[no_gap], true_start[no_gap])
    # across a gap in the panel the start is dated at the first year seen on: the true start is in the gap
    assert (~no_gap).sum() > 0 and (true_start[~no_gap] <= starts["other_start"].to_numpy()[~no_gap]).all()
    # a firm not listed never starts, had started by the first year it is observed or starts after the last
    first_seen, last_seen = firms.groupby("firm_id")["year"].min(), firms.groupby("firm_id")["year"].max()
    unlisted = truth.index.difference(starts.index)
    assert (truth[unlisted].isna() | (truth[unlisted] <= first_seen[unlisted])
            | (truth[unlisted] > last_seen[unlisted])).all()
    expected = {"export": set(EXPORT_GROUPS), "fdi": set(FDI_GROUPS)}[analysis]
    assert set(starts["other_group"]) <= expected


@pytest.mark.parametrize("analysis", ["export", "fdi"])
def test_with_the_true_effects_the_clearing_is_each_firms_true_other_effect(tiny_world: World,
                                                                           analysis: str) -> None:
    """Clearing with the world's own paths removes exactly each unit's true effect of the other start, for starts
    before t − 1 (still building up), within the window and after it, on the placebo years as well."""
    other = OTHER[analysis]
    wp = did_design.white_paper_did(tiny_world, analysis, horizons=[1, 3, 5], pre_horizons=[-3, -2])
    cleared = did_design.clear_other_start(wp.changes, tiny_world.firms, _true_path(tiny_world, other))
    table = cleared.table
    true_other = did_design._own_true_effects(table, cleared.unit, tiny_world, other).to_numpy()
    starts = did_design.other_starts(tiny_world.firms, other)
    true_start = tiny_world.firms.groupby("firm_id")[f"{other}_start_year"].min()
    exact = starts.loc[starts["other_start"].to_numpy() == true_start.reindex(starts["firm_id"]).to_numpy(),
                       "firm_id"]
    detected = table[cleared.unit].isin(exact).to_numpy()
    np.testing.assert_allclose(table["other_start_cleared"].to_numpy()[detected], true_other[detected], atol=1e-12)
    assert np.count_nonzero(true_other[detected]) > 20  # the test bites: many rows carry the other's effect
    # firms already on when first seen are not cleared
    unknown = ~table[cleared.unit].isin(starts["firm_id"]).to_numpy()
    assert (table["other_start_cleared"].to_numpy()[unknown] == 0).all()
    np.testing.assert_allclose(table["change_log"], wp.changes.table["change_log"] - table["other_start_cleared"])
    np.testing.assert_allclose(table["change_pct"], 100 * np.expm1(table["change_log"]))
    # the placebo years are cleared too: a start between t + h and t − 1 enters them
    assert table.loc[table["horizon"] < 0, "other_start_cleared"].ne(0).any()


def test_a_group_the_other_analysis_did_not_estimate_takes_the_pooled_effect(tiny_world: World) -> None:
    """FDI analysis: a firm that starts exporting below 50 employees (a group the export analysis leaves out) takes
    the pairs-weighted mean of the other groups' effects; a year without an effect takes the year before's."""
    kept = ("50-99", "100-299", "300+")
    oracle = _true_path(tiny_world, "export", kept)
    path = oracle.effect_path
    path.loc[(path["group"] == "300+") & (path["event_year"] == 3), "effect_log"] = np.nan
    wp = did_design.white_paper_did(tiny_world, "fdi", horizons=[2, 5], pre_horizons=[])
    table = did_design.clear_other_start(wp.changes, tiny_world.firms, oracle).table
    starts = did_design.other_starts(tiny_world.firms, "export").set_index("firm_id")
    keyed = table.join(starts, on=wp.changes.unit)
    weights = np.array([10.0, 20.0, 30.0])  # the pairs of each kept group, as _true_path numbers them
    for outcome in ("sales", "capital_stock"):
        paths = np.stack([effect_path(tiny_world.truth.params.export_effects[g][outcome],
                                      tiny_world.truth.params.effect_build_up_years) for g in kept])
        paths[2, 3] = paths[2, 2]  # the missing year takes the year before's
        pooled = weights @ paths / weights.sum()
        for group, tau in (("under 50", pooled), ("300+", paths[2])):
            rows = keyed.loc[(keyed["outcome"] == outcome) & (keyed["other_group"] == group)]
            end = (rows["cohort"] + rows["horizon"] - rows["other_start"]).to_numpy()
            base = (rows["cohort"] - 1 - rows["other_start"]).to_numpy()

            def at(k: np.ndarray, tau: np.ndarray = tau) -> np.ndarray:
                return np.where(k < 0, 0.0, tau[np.clip(k, 0, MAX_HORIZON).astype(int)])

            assert len(rows) > 0
            np.testing.assert_allclose(rows["other_start_cleared"], at(end) - at(base), atol=1e-12)


def test_the_estimate_moves_by_the_starters_minus_controls_cleared_effect(tiny_world: World) -> None:
    """Log scale, 1:1 pairs: the estimate with the other start cleared is the plain one minus the mean over pairs
    of the starter's cleared amount minus its control's; the later-start recursion and its bootstrap agree."""
    options = {"horizons": [1, 2, 3, 4, 5], "pre_horizons": [], "scale": "log", "outcomes": ["sales", "tfp"]}
    fdi = did_design.white_paper_did(tiny_world, "fdi", later_starts="adjust", **options)
    plain = did_design.white_paper_did(tiny_world, "export", **options)
    cleared = did_design.white_paper_did(tiny_world, "export", other_start=fdi, **options)
    keys = ["outcome", "group", "horizon"]
    table = cleared.changes.table
    by_role = table.groupby([*keys, "pair", "treated"])["other_start_cleared"].mean().unstack("treated")
    shift = (by_role[1] - by_role[0]).groupby(level=keys).mean()
    moved = (cleared.result.table.set_index(keys)["estimate"] - plain.result.table.set_index(keys)["estimate"])
    np.testing.assert_allclose(moved.sort_index(), -shift.reindex(moved.sort_index().index), atol=1e-10)
    assert shift.abs().max() > 1e-4
    # the path the other analysis hands over is its recursion's own estimate at every event year
    path = fdi.effect_path.set_index(["outcome", "group", "event_year"])["effect_log"]
    for row in fdi.result.table.itertuples():
        assert path[(row.outcome, row.group, row.horizon)] == pytest.approx(row.estimate, abs=1e-10)
    # with the later-start adjustment too (the bootstrap checks its recursion against the estimates)
    both = did_design.white_paper_did(tiny_world, "export", later_starts="adjust", other_start=fdi, **options)
    assert both.result.bootstrap_draws and both.counts().loc["the other start's effects", "value"].startswith(
        "subtracted (fdi")


def test_both_analyses_each_cleared_of_the_other(tiny_world: World) -> None:
    results = did_design.white_paper_did_both(tiny_world, horizons=[3], pre_horizons=[], outcomes=["sales"])
    assert [(a, wp.analysis, wp.other_start, wp.later_starts) for a, wp in results.items()] == [
        ("export", "export", "fdi", "adjust"), ("fdi", "fdi", "export", "adjust")]
    # the FDI result is cleared with the cleared export analysis's effects: redo that last step by hand
    again = did_design.white_paper_did(tiny_world, "fdi", horizons=[3], pre_horizons=[], outcomes=["sales"],
                                       later_starts="adjust", other_start=results["export"])
    pd.testing.assert_frame_equal(again.result.table, results["fdi"].result.table)
    with pytest.raises(ValueError, match="pass neither"):
        did_design.white_paper_did_both(tiny_world, later_starts="keep")
    assert coverage.design_options("robust+adjust+other")["other_start"] is True
    with pytest.raises(ValueError, match=r"\+other"):
        coverage.design_options("robust+other")


def test_an_unusable_other_start_is_refused_by_name(tiny_world: World) -> None:
    options = {"horizons": [2], "pre_horizons": [], "outcomes": ["sales"]}
    kept = did_design.white_paper_did(tiny_world, "fdi", **options)
    adjusted = did_design.white_paper_did(tiny_world, "fdi", later_starts="adjust", **options)
    with pytest.raises(ValueError, match="later_starts='adjust'"):
        did_design.white_paper_did(tiny_world, "export", other_start=kept, **options)
    with pytest.raises(ValueError, match="must be the other one"):
        did_design.white_paper_did(tiny_world, "fdi", other_start=adjusted, **options)
    with pytest.raises(ValueError, match=r"outcome\(s\) \['employees'\]"):
        did_design.white_paper_did(tiny_world, "export", other_start=adjusted, **{**options,
                                                                                  "outcomes": ["employees"]})
    with pytest.raises(TypeError, match="not DataFrame"):
        did_design.white_paper_did(tiny_world, "export", other_start=adjusted.result.table, **options)
    with pytest.raises(ValueError, match=r"no column\(s\) \['fdi'\]"):
        did_design.white_paper_did(tiny_world.firms.drop(columns="fdi"), "export", other_start=adjusted, **options)


def test_effects_estimated_on_another_panel_are_refused(tiny_world: World) -> None:
    """Effects from another world, a subset of firms or an edited status would be subtracted from firms they were
    not estimated on; the same panel with its rows shuffled and a column added is the same panel."""
    options = {"horizons": [2], "pre_horizons": [], "outcomes": ["sales"], "later_starts": "adjust"}
    fdi = did_design.white_paper_did(tiny_world, "fdi", **options)
    firms = tiny_world.firms
    other_world = generate("tiny", seed=1)
    one_starter = firms.loc[firms["fdi"].eq(1), "firm_id"].iloc[0]
    edited = firms.assign(fdi=firms["fdi"].where(firms["firm_id"].ne(one_starter), 0))
    subset = firms.loc[firms["firm_id"].ne(one_starter)]
    for panel, named in ((other_world.firms, "'firm_id'"), (edited, "'fdi'"), (subset, "'firm_id'")):
        with pytest.raises(ValueError, match=f"another firm panel \\(column\\(s\\) \\[.*{named}"):
            did_design.white_paper_did(panel, "export", other_start=fdi, **options)
    same = firms.sample(frac=1.0, random_state=5).assign(note="added")
    base = did_design.white_paper_did(tiny_world, "export", other_start=fdi, **options).result.table
    again = did_design.white_paper_did(same, "export", other_start=fdi, **options).result.table
    pd.testing.assert_frame_equal(again, base)


def test_text_ids_and_shuffled_rows_give_the_same_cleared_estimates(tiny_world: World) -> None:
    options = {"horizons": [2], "pre_horizons": [], "outcomes": ["capital_stock"], "later_starts": "adjust"}
    fdi = did_design.white_paper_did(tiny_world, "fdi", **options)
    base = did_design.white_paper_did(tiny_world, "export", other_start=fdi, **options).result.table
    firms = tiny_world.firms.sample(frac=1.0, random_state=3)
    firms = firms.assign(firm_id="F" + firms["firm_id"].astype(str))
    fdi_text = did_design.white_paper_did(firms, "fdi", **options)
    text = did_design.white_paper_did(firms, "export", other_start=fdi_text, **options).result.table
    columns = ["outcome", "group", "horizon", "estimate", "std_error", "n_treated"]
    pd.testing.assert_frame_equal(text[columns], base[columns], check_exact=False, rtol=1e-9)


def test_without_effects_of_the_other_start_nothing_is_cleared() -> None:
    zero_fdi = {g: dict.fromkeys(OUTCOMES, 0.0) for g in FDI_GROUPS}
    world = generate("tiny", seed=1, fdi_effects=zero_fdi)
    options = {"horizons": [2], "pre_horizons": [], "outcomes": ["sales"]}
    wp = did_design.white_paper_did(world, "export", **options)
    cleared = did_design.clear_other_start(wp.changes, world.firms, _true_path(world, "fdi"))
    assert (cleared.table["other_start_cleared"] == 0).all()


def test_replicate_clears_both_analyses_with_adjusted_both(tiny_world: World, tmp_path) -> None:
    """``did_controls = "adjusted_both"``: the DiD stages report white_paper_did_both's estimates, estimated once."""
    import logging

    from kaigai_lib.replication.replicate import Run, read_config, stage_did

    config_file = tmp_path / "replicate.toml"
    config_file.write_text('[analysis]\ndid_controls = "adjusted_both"\nexport_horizons = 3\nfdi_horizons = 4\n'
                           'did_design = "robust"\n', encoding="utf-8")
    config = read_config(config_file)
    firms = tiny_world.firms.assign(tfp=tiny_world.latent["tfp_true"].to_numpy())  # any TFP column will do
    run = Run(inputs={}, config=config, out=tmp_path, log=logging.getLogger("test"), world=tiny_world, firms=firms)
    tables = {analysis: stage_did(run, analysis) for analysis in ("export", "fdi")}
    expected = did_design.white_paper_did_both(
        firms, pre_horizons=[-3, -2], tfp_col="tfp", world=tiny_world, design="robust",
        by_analysis={"export": {"horizons": range(1, 4), "first_start_year": 1998},
                     "fdi": {"horizons": range(1, 5), "first_start_year": 1996}})
    for analysis, table in tables.items():
        assert run.did_results[analysis].other_start == {"export": "fdi", "fdi": "export"}[analysis]
        shown = table.loc[~table["suppressed"]].set_index(["outcome", "group", "horizon"])["estimate"]
        want = expected[analysis].result.table.set_index(["outcome", "group", "horizon"])["estimate"]
        assert len(shown) > 10
        np.testing.assert_allclose(shown, want.reindex(shown.index), rtol=1e-10)


def test_a_status_coded_otherwise_is_refused_and_text_zeros_and_ones_are_read(tiny_world: World) -> None:
    firms = tiny_world.firms
    with pytest.raises(ValueError, match=r"'fdi' must be binary .*'no', 'yes'"):
        did_design.other_starts(firms.assign(fdi=np.where(firms["fdi"], "yes", "no")), "fdi")
    as_text = did_design.other_starts(firms.assign(fdi=firms["fdi"].astype(int).astype(str)), "fdi")
    pd.testing.assert_frame_equal(as_text, did_design.other_starts(firms, "fdi"))
