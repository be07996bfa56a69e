"""Controls that start later: clean controls (none starts within t + 1 … t + window) or their effect subtracted."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.whitepaper import coverage, did_design
from kaigai_lib.whitepaper.samples import CLEAN_WINDOWS, matching_sample
from kaigai_lib.world.synthetic import World


@pytest.fixture(scope="module")
def tiny_fdi(tiny_world: World) -> dict[str, did_design.WhitePaperDid]:
    options = {"horizons": [5], "pre_horizons": [], "design": "robust"}
    return {"all": did_design.white_paper_did(tiny_world, "fdi", **options),
            "clean": did_design.white_paper_did(tiny_world, "fdi", control_pool="clean", **options)}


def _controls_with_start_years(wp: did_design.WhitePaperDid, world: World) -> pd.DataFrame:
    """Every matched control with its cohort t and its own FDI start year read from the world's firm table."""
    matched = wp.match.matched
    controls = matched.loc[matched["_treated"] == 0, ["firm_id", "start_year"]].rename(columns={"start_year": "t"})
    starts = world.firms.groupby("firm_id")["fdi_start_year"].min()
    return controls.assign(own_start=controls["firm_id"].map(starts).to_numpy(float))


def test_no_clean_control_starts_within_the_window(tiny_world: World,
                                                  tiny_fdi: dict[str, did_design.WhitePaperDid]) -> None:
    window = CLEAN_WINDOWS["fdi"]
    assert window == max(did_design.WHITE_PAPER_HORIZONS["fdi"])  # the design's longest horizon
    plain = _controls_with_start_years(tiny_fdi["all"], tiny_world)
    inside = plain["own_start"].gt(plain["t"]) & plain["own_start"].le(plain["t"] + window)
    assert inside.sum() > 10  # the white paper's pool has later starters among the controls: the test bites
    clean = _controls_with_start_years(tiny_fdi["clean"], tiny_world)
    inside = clean["own_start"].gt(clean["t"]) & clean["own_start"].le(clean["t"] + window)
    assert not inside.any(), clean.loc[inside].head()
    # those that start after the window still count as controls (the window is the only restriction)
    assert clean["own_start"].gt(clean["t"] + window).any()
    assert tiny_fdi["clean"].later_starters(5)["later_starters"].sum() == 0
    # what was left out is counted, only among non-starters, and the summary says which pool was used
    excluded = tiny_fdi["clean"].sample.excluded.loc[f"starts within t+1…t+{window} (clean controls)"]
    assert excluded["starters"] == 0 and excluded["non-starters"] == excluded["all"] > 0
    assert tiny_fdi["clean"].counts().loc["controls", "value"] == f"clean: no start within t+1…t+{window}"
    assert tiny_fdi["all"].counts().loc["controls", "value"].startswith("all non-starters")
    # the starters are the same: only who may be a control changed
    starters = {name: wp.match.matched.loc[lambda m: m["_treated"] == 1, "firm_id"].sort_values().to_numpy()
                for name, wp in tiny_fdi.items()}
    assert len(np.setdiff1d(starters["all"], starters["clean"])) <= 0.05 * len(starters["all"])


def test_the_clean_sample_does_not_depend_on_the_horizons(tiny_world: World,
                                                          tiny_fdi: dict[str, did_design.WhitePaperDid]) -> None:
    full = did_design.white_paper_did(tiny_world, "fdi", design="robust", control_pool="clean")  # horizons 1–10
    short = tiny_fdi["clean"]  # horizon 5 only
    pd.testing.assert_frame_equal(full.match.pairs, short.match.pairs)
    columns = ["outcome", "group", "estimate", "std_error", "n_treated", "n_control"]
    pd.testing.assert_frame_equal(full.result.table.query("horizon == 5")[columns].reset_index(drop=True),
                                  short.result.table[columns].reset_index(drop=True))
    assert full.clean_window == short.clean_window == CLEAN_WINDOWS["fdi"]


def test_bad_pool_or_window_is_named(tiny_world: World) -> None:
    with pytest.raises(ValueError, match="control_pool='none'"):
        did_design.white_paper_did(tiny_world, "fdi", control_pool="none")
    for window in (0, 2.5, True):
        with pytest.raises(ValueError, match="clean_window="):
            matching_sample(tiny_world.firms, "fdi", horizon=0, tfp_col="sales", control_pool="clean",
                            clean_window=window)
    with pytest.raises(ValueError, match="'robust\\+clean'"):
        coverage.design_options("robust+never")
    assert coverage.design_options("white_paper+clean") == {"design": "white_paper", "control_pool": "clean",
                                                       "later_starts": "keep", "other_start": False}


def _hand_built_panel(seed: int = 7, n_firms: int = 4000, tau: float = 0.3) -> pd.DataFrame:
    """A firm panel with FDI starts at random (no selection) and a permanent effect ``tau`` on log sales.

    Every firm's untreated log sales grow 2 % a year plus N(0, 0.05) noise; a
    start adds ``tau`` from its start year on. Matching on random covariates
    then leaves no selection bias, so the only bias a matched DiD can have is
    the controls' own later starts.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2016)
    firm = np.repeat(np.arange(1, n_firms + 1), len(years))
    year = np.tile(years, n_firms)
    # an absorbing start with a 4 % hazard a year from 2001 on (some firms never start)
    start = 2001 + rng.geometric(0.04, n_firms) - 1
    started = year >= np.repeat(start, len(years))
    level = np.repeat(rng.normal(5, 1, n_firms), len(years))
    log_sales = level + 0.02 * (year - 2000) + tau * started + rng.normal(0, 0.05, len(year))
    industry = np.repeat(rng.choice(["a", "b"], n_firms), len(years))
    return pd.DataFrame({
        "firm_id": firm, "year": year, "industry": industry, "manufacturing": industry == "a",
        "fdi": started.astype(int), "sales": np.exp(log_sales),
        "employees": np.exp(rng.normal(4, 0.5, len(year))), "capital_stock": np.exp(rng.normal(6, 0.5, len(year))),
        "domestic_subsidiaries": rng.poisson(1, len(year)), "tfp": rng.normal(0, 0.3, len(year)),
    })


@pytest.mark.parametrize("fix", ["clean", "adjust"])
def test_clean_or_adjusted_controls_remove_the_pull_of_later_starters(fix: str) -> None:
    tau, horizon = 0.3, 5
    firms = _hand_built_panel(tau=tau)
    options = {"outcomes": ["sales"], "horizons": [horizon], "pre_horizons": [], "scale": "log", "tfp_col": "tfp",
               "groups": "all"}
    plain = did_design.white_paper_did(firms, "fdi", **options)
    fixed = did_design.white_paper_did(firms, "fdi", **options,
                                **({"control_pool": "clean"} if fix == "clean" else {"later_starts": "adjust"}))
    # the reasoning: a control that starts within t + 1 … t + h carries tau in its change, so the plain DiD is
    # tau × (1 − share of such controls); clean controls carry none, and the adjustment subtracts the effect
    # estimated at the earlier event years (here tau from the start year on), so both give tau
    share = plain.later_starters(horizon)
    assert (share["share"] > 0.1).all()
    for group in plain.groups:
        row_plain = plain.result.table.set_index("group").loc[group]
        row_fixed = fixed.result.table.set_index("group").loc[group]
        expected_plain = tau * (1 - share.loc[group, "share"])
        # 3 standard errors: a two-sided 0.3 % chance for each comparison under the reasoning
        assert abs(row_plain["estimate"] - expected_plain) < 3 * row_plain["std_error"], (group, row_plain)
        assert abs(row_fixed["estimate"] - tau) < 3 * row_fixed["std_error"], (group, row_fixed)
        # ... and the pull is far larger than the sampling error, so the test can tell the designs apart
        assert tau - expected_plain > 6 * row_plain["std_error"]
        assert row_plain["estimate"] < row_fixed["estimate"]
    if fix == "adjust":
        table = fixed.changes.table
        adjusted = table.loc[table["adjusted_for_own_start"]]
        assert len(adjusted) and (adjusted["treated"] == 0).all()
        assert fixed.counts().loc["controls that start later", "value"].startswith("their own estimated effect")


def test_adjusted_estimate_does_not_depend_on_the_horizons(tiny_world: World) -> None:
    options = {"design": "robust", "later_starts": "adjust"}
    short = did_design.white_paper_did(tiny_world, "fdi", horizons=[5], pre_horizons=[], **options)
    mixed = did_design.white_paper_did(tiny_world, "fdi", horizons=[2, 5, 8], **options)
    columns = ["outcome", "group", "estimate", "std_error", "n_treated", "n_control"]
    pd.testing.assert_frame_equal(short.result.table[columns].reset_index(drop=True),
                                  mixed.result.table.query("horizon == 5")[columns].reset_index(drop=True))
    # only the reported horizons are in the result, though every event year 0 … 8 was needed
    assert sorted(mixed.result.table["horizon"].unique()) == [-3, -2, 2, 5, 8]
    assert sorted(mixed.lost["horizon"].unique()) == [-3, -2, 2, 5, 8]
    # the cheap per-year effect used by the recursion is the regression's own estimate
    plain = did_design.white_paper_did(tiny_world, "fdi", horizons=[3], pre_horizons=[], scale="log")
    cheap = did_design._pair_differences(plain.changes.table).set_index(["outcome", "group", "horizon"])
    for row in plain.result.table.itertuples():
        assert cheap.loc[(row.outcome, row.group, 3), "effect_log"] == pytest.approx(row.estimate, abs=1e-10)
        assert cheap.loc[(row.outcome, row.group, 3), "pairs"] == row.n_treated
    with pytest.raises(ValueError, match="later_starts='drop'"):
        did_design.white_paper_did(tiny_world, "fdi", later_starts="drop")


# --------------------------------------------------------------------------- the adjusted design's errors


def _record_bootstrap(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Keep what white_paper_did hands to the bootstrap (complete changes, sample, draws) and what it returns."""
    seen: dict = {}
    original = did_design._adjusted_bootstrap

    def recording(raw, sample, scale, draws):
        out = original(raw, sample, scale, draws)
        seen.update(raw=raw, sample=sample, scale=scale, draws=draws, out=out)
        return out

    monkeypatch.setattr(did_design, "_adjusted_bootstrap", recording)
    return seen


def _brute_force(seen: dict, draw: int) -> pd.Series:
    """The library's own recursion (``_adjust_later_starts``) on the changes with each pair repeated as often as
    the draw picked it (each copy a pair of its own), then the mean pair difference on the scale."""
    table = seen["raw"].table
    parts = []
    for members, weights in seen["draws"].values():
        for pair, count in zip(members, weights[draw], strict=True):
            rows = table.loc[table["pair"] == pair]
            parts += [rows.assign(pair=f"{pair}#{copy}") for copy in range(int(count))]
    resampled = did_design._subset(seen["raw"], pd.concat(parts, ignore_index=True))
    adjusted = did_design._adjust_later_starts(resampled, seen["sample"])[0].table
    adjusted = adjusted.loc[adjusted["horizon"] >= 0]
    column = "change_log" if seen["scale"] == "log" else "change_pct"
    by_role = adjusted.groupby(["outcome", "group", "horizon", "pair", "treated"])[column].mean().unstack("treated")
    return (by_role[1] - by_role[0]).groupby(level=["outcome", "group", "horizon"]).mean()


@pytest.mark.parametrize(("scale", "ratio"), [("percent", 1), ("log", 2)])
def test_the_bootstrap_is_the_recursion_on_resampled_pairs(tiny_world: World, monkeypatch: pytest.MonkeyPatch,
                                                           scale: str, ratio: int) -> None:
    seen = _record_bootstrap(monkeypatch)
    wp = did_design.white_paper_did(tiny_world, "fdi", design="robust", later_starts="adjust", horizons=[4],
                                    pre_horizons=[-2], scale=scale, match_options={"ratio": ratio})
    draws = seen["out"].set_index(["outcome", "group", "horizon", "draw"])["estimate"]
    # the arrays' shortcut gives, draw by draw, what the recursion gives on the resampled pairs themselves
    for draw in (0, 1, 2, 3):
        expected = _brute_force(seen, draw)
        got = draws.xs(draw, level="draw").reindex(expected.index)
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-9)
    members = seen["raw"].table.groupby(["outcome", "horizon", "pair"]).size()
    assert members.max() == ratio + 1 and members.min() >= 2  # up to `ratio` controls share a pair's weight
    adjusted_rows = wp.changes.table["adjusted_for_own_start"].sum()
    assert adjusted_rows > 0  # some controls start within the window: the bootstrap has something to carry
    # after the start the errors are the draws' spread; before it, the regression's
    table = wp.result.table.set_index(["outcome", "group", "horizon"])
    spread = draws.drop(index=0, level="draw").groupby(level=["outcome", "group", "horizon"]).std(ddof=1)
    after = table.xs(4, level="horizon")
    np.testing.assert_allclose(after["std_error"], spread.xs(4, level="horizon").reindex(after.index), rtol=1e-12)
    np.testing.assert_allclose(after["ci_high"] - after["estimate"], 1.959963984540054 * after["std_error"])
    plain = did_design.matched_did(wp.changes, group="group", controls=wp.controls, scale=scale).table
    plain = plain.set_index(["outcome", "group", "horizon"])
    np.testing.assert_allclose(table.xs(-2, level="horizon")["std_error"],
                               plain.xs(-2, level="horizon")["std_error"], rtol=1e-12)
    # with pairs of one size the recursion's own estimate is the regression's (fixed effects constant within
    # pairs); 1:2 matching leaves pairs of 2 and 3 firms, where the regression weighs controls one by one
    full = draws.xs(0, level="draw").reindex(table.index).dropna()
    gap = (full - plain["estimate"].reindex(full.index)).abs()
    if ratio == 1:
        assert gap.max() < 1e-9
    else:
        assert members.nunique() > 1 and gap.max() > 0
        assert (gap < 0.5 * table["std_error"].reindex(gap.index)).all()  # well inside the sampling error
    assert "pair bootstrap" in wp.counts().loc["standard errors at t+1 and after", "value"]
    assert "399 draws" in wp.result.summary()


def test_bootstrap_errors_are_seeded_and_do_not_depend_on_the_outcomes_reported(tiny_world: World) -> None:
    options = {"design": "robust", "later_starts": "adjust", "horizons": [3], "pre_horizons": []}
    every = did_design.white_paper_did(tiny_world, "fdi", **options).result.table
    again = did_design.white_paper_did(tiny_world, "fdi", **options).result.table
    sales = did_design.white_paper_did(tiny_world, "fdi", outcomes=["sales"], **options).result.table
    pd.testing.assert_frame_equal(every, again)
    pd.testing.assert_frame_equal(sales.reset_index(drop=True),
                                  every.loc[every["outcome"] == "sales"].reset_index(drop=True))
    # the draws' spread is of the regression's size: the same pairs, the same clusters but for firms reused
    plain = did_design.matched_did(
        did_design.white_paper_did(tiny_world, "fdi", **options).changes, group="group",
        controls=list(did_design.WHITE_PAPER_CONTROLS["fdi"])).table
    ratio = every["std_error"].to_numpy() / plain["std_error"].to_numpy()
    assert np.all((ratio > 0.75) & (ratio < 1.35)), ratio


def test_pairs_sharing_a_firm_are_resampled_together() -> None:
    # pairs 10 and 11 share control firm "a"; starter "b" of pair 12 was the control of pair 13 before its own
    # start; pair 14 shares nothing; pair 15 (another group) reuses firm "a" but is clustered within its group
    matched = pd.DataFrame({
        "_pair": [10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15],
        "_treated": [1, 0] * 6,
        "firm": ["x", "a", "y", "a", "b", "c", "z", "b", "u", "v", "w", "a"],
        "group": ["g1"] * 10 + ["g2"] * 2,
    })
    clusters = did_design._pair_clusters(matched, "firm")
    pairs, cluster = clusters["g1"]
    assert list(pairs) == [10, 11, 12, 13, 14] and list(cluster) == [0, 0, 1, 1, 2]
    assert list(clusters["g2"][0]) == [15] and list(clusters["g2"][1]) == [0]
    draws = did_design._pair_draws(clusters, draws=200)
    members, weights = draws["g1"]
    assert list(members) == [10, 11, 12, 13, 14] and weights.shape == (201, 5)
    assert (weights[0] == 1).all()
    # a cluster's pairs are drawn as often as each other, clusters as a multinomial over the three clusters
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 2] == weights[:, 3]).all()
    assert (weights[1:, [0, 2, 4]].sum(axis=1) == 3).all()
    assert len(np.unique(weights[1:, [0, 2, 4]], axis=0)) > 5
    # without shared firms every pair is its own cluster: the plain pair bootstrap, draw for draw
    lone = {"g": (np.array([3, 7, 9]), np.array([0, 1, 2]))}
    rng = np.random.default_rng([0, zlib.crc32(b"g")])
    expected = rng.multinomial(3, np.full(3, 1 / 3), 50)
    np.testing.assert_array_equal(did_design._pair_draws(lone, draws=50)["g"][1][1:], expected)


def test_the_white_paper_did_bootstrap_ties_a_reused_firm(tiny_world: World,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_bootstrap(monkeypatch)
    wp = did_design.white_paper_did(tiny_world, "export", design="robust", later_starts="adjust", horizons=[3],
                                    pre_horizons=[], outcomes=["sales"])
    matched = wp.match.matched
    clusters = did_design._pair_clusters(matched, "firm_id")
    for group, (members, weights) in seen["draws"].items():
        pairs, cluster = clusters[group]
        np.testing.assert_array_equal(members, pairs)
        shared = pd.Series(cluster).duplicated(keep=False).to_numpy()
        assert shared.any()  # the tiny world reuses firms across cohorts in every export group
        for label in np.unique(cluster[shared]):
            block = weights[:, cluster == label]
            assert (block == block[:, :1]).all()
        # and such pairs do share a firm
        firms = matched.loc[matched["_pair"].isin(pairs[shared])]
        assert firms["firm_id"].duplicated().any()


def test_a_group_that_is_one_cluster_keeps_the_regressions_error(tiny_world: World,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_bootstrap(monkeypatch)
    wp = did_design.white_paper_did(tiny_world, "fdi", design="robust", later_starts="adjust", horizons=[3],
                                    pre_horizons=[], outcomes=["sales"])
    plain = did_design.matched_did(wp.changes, group="group", controls=wp.controls, scale=wp.scale)
    draws = seen["out"].copy()
    # every draw of the manufacturing cells is the sample, as when all its pairs share firms (one cluster)
    one = draws["group"] == "manufacturing"
    full = draws.loc[one & (draws["draw"] == 0)].set_index(["outcome", "horizon"])["estimate"]
    cells = pd.MultiIndex.from_frame(draws.loc[one, ["outcome", "horizon"]])
    draws.loc[one, "estimate"] = full.reindex(cells).to_numpy()
    result = did_design._with_bootstrap_errors(plain, draws, same_size_pairs=True)
    table = result.table.set_index(["group", "horizon"])
    # and the result says so: the errors' description names the group that kept the regression's
    assert result.unbootstrapped == ("manufacturing",)
    assert "group(s) manufacturing: clustered by " in result.errors
    assert wp.result.unbootstrapped == () and "group(s)" not in wp.result.errors
    regression = plain.table.set_index(["group", "horizon"])
    assert table.loc[("manufacturing", 3), "std_error"] == regression.loc[("manufacturing", 3), "std_error"] > 0
    assert table.loc[("non-manufacturing", 3), "std_error"] == pytest.approx(
        wp.result.table.set_index(["group", "horizon"]).loc[("non-manufacturing", 3), "std_error"], rel=1e-12)
    assert table.loc[("non-manufacturing", 3), "std_error"] != regression.loc[("non-manufacturing", 3), "std_error"]


def _sector_switching_panel(seed: int = 11, n_firms: int = 5000) -> tuple[pd.DataFrame, dict[bool, float]]:
    """A panel whose firms change sector from year to year (the FDI groups) and whose FDI effect on log sales
    depends on the sector at the start (read at t − 1, as the groups are): 0.6 in manufacturing, 0 outside.

    Starts are at random, so matching leaves no selection; a control that starts later is, about half the time,
    in the other sector at its own start than its pair's at t − 1.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2016)
    n_years = len(years)
    firm = np.repeat(np.arange(1, n_firms + 1), n_years)
    year = np.tile(years, n_firms)
    manufacturing = rng.random((n_firms, n_years)) < 0.5
    start = 2001 + rng.geometric(0.05, n_firms) - 1
    effects = {True: 0.6, False: 0.0}
    sector_before = manufacturing[np.arange(n_firms), np.clip(start - 1 - years[0], 0, n_years - 1)]
    tau = np.where(sector_before, effects[True], effects[False])
    started = year >= np.repeat(start, n_years)
    level = np.repeat(rng.normal(5, 1, n_firms), n_years)
    log_sales = level + 0.02 * (year - 2000) + np.repeat(tau, n_years) * started + rng.normal(0, 0.05, len(year))
    panel = pd.DataFrame({
        "firm_id": firm, "year": year, "industry": np.repeat(rng.choice(["a", "b"], n_firms), n_years),
        "manufacturing": manufacturing.ravel(), "fdi": started.astype(int), "sales": np.exp(log_sales),
        "employees": np.exp(rng.normal(4, 0.5, len(year))), "capital_stock": np.exp(rng.normal(6, 0.5, len(year))),
        "domestic_subsidiaries": rng.poisson(1, len(year)), "tfp": rng.normal(0, 0.3, len(year)),
    })
    return panel, effects


def test_a_later_start_is_cleared_of_the_effect_of_its_own_group(monkeypatch: pytest.MonkeyPatch) -> None:
    firms, effects = _sector_switching_panel()
    options = {"outcomes": ["sales"], "horizons": [4], "pre_horizons": [], "scale": "log", "tfp_col": "tfp",
               "groups": "all", "later_starts": "adjust"}
    seen = _record_bootstrap(monkeypatch)
    wp = did_design.white_paper_did(firms, "fdi", **options)
    table = wp.result.table.set_index("group")
    truth = {"manufacturing": effects[True], "non-manufacturing": effects[False]}
    # each control that starts later is tied to the group of its own start, read from the firm's sector at
    # its own start year − 1 (in this panel, the other sector about half the time)
    changes = wp.changes.table
    controls = changes.loc[changes["adjusted_for_own_start"]]
    own = did_design._own_starts(controls, wp.changes.unit, wp.sample)
    sector = firms.set_index(["firm_id", "year"])["manufacturing"]
    own_year = (controls["cohort"] + own["offset"] - 1).astype(int)
    expected = np.where(sector.reindex(list(zip(controls["firm_id"], own_year, strict=True))).to_numpy(),
                        "manufacturing", "non-manufacturing")
    np.testing.assert_array_equal(own["own_group"].to_numpy(), expected)
    moved = (own["own_group"] != controls["group"].astype(str)).mean()
    assert 0.35 < moved < 0.65
    later = wp.later_starters(4)
    assert (later["in_another_group"] > 0.35 * later["later_starters"]).all()
    assert (later["in_another_group"] < 0.65 * later["later_starters"]).all()
    for group, tau in truth.items():
        # 3 standard errors: a two-sided 0.3 % chance for each group under the reasoning
        assert abs(table.loc[group, "estimate"] - tau) < 3 * table.loc[group, "std_error"], table
    # the bootstrap's arrays clear each control of its own group's draw, as the recursion does on resampled pairs
    draws = seen["out"].set_index(["outcome", "group", "horizon", "draw"])["estimate"]
    for draw in (0, 1, 2):
        expected_draw = _brute_force(seen, draw)
        got = draws.xs(draw, level="draw").reindex(expected_draw.index)
        np.testing.assert_allclose(got.to_numpy(), expected_draw.to_numpy(), rtol=1e-9, atol=1e-9)
    # clearing each control of its pair's group instead (the rule before) misses by many standard errors
    original = did_design._own_starts

    def pair_group(table: pd.DataFrame, unit: str, sample: object) -> pd.DataFrame:
        return original(table, unit, sample).assign(own_group=table["group"].astype(str).to_numpy())

    monkeypatch.setattr(did_design, "_own_starts", pair_group)
    before = did_design.white_paper_did(firms, "fdi", **options).result.table.set_index("group")
    for group, tau in truth.items():
        assert abs(before.loc[group, "estimate"] - tau) > 5 * before.loc[group, "std_error"], before
