"""The synthetic world: determinism, parameter checks, and the properties the book relies on.

Statistical checks use the ``book`` preset (seed 0, ~6,000 firms a year) and
require a difference of at least three standard errors: with a fixed seed the
result is stable, and three SEs keeps a property from passing by chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from kaigai_lib.world.synthetic import (
    EXPORT_GROUPS,
    FDI_GROUPS,
    OUTCOMES,
    World,
    describe_parameters,
    generate,
    resolve_params,
)


def _tables(world: World) -> dict[str, pd.DataFrame]:
    return {"firms": world.firms, "establishments": world.establishments,
            "foreign_demand": world.foreign_demand, "deflators": world.deflators, "latent": world.latent}


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


# --------------------------------------------------------------------------- determinism

def test_same_seed_and_parameters_give_byte_identical_tables(tiny_world: World) -> None:
    again = generate(preset="tiny", seed=0)
    for name, table in _tables(tiny_world).items():
        assert _csv(table) == _csv(_tables(again)[name]), name


def test_another_seed_gives_other_data(tiny_world: World) -> None:
    other = generate(preset="tiny", seed=1)
    for name in ("firms", "establishments", "foreign_demand"):
        assert _csv(_tables(tiny_world)[name]) != _csv(_tables(other)[name]), name


def test_parameters_change_the_data_they_should(tiny_world: World) -> None:
    no_selection = generate(preset="tiny", seed=0, selection_strength=0.0)
    assert not no_selection.firms["exporter"].equals(tiny_world.firms["exporter"])
    # the production side does not depend on selection: same shocks, same untreated world
    never = tiny_world.latent["export_start_year_true"].isna() & tiny_world.latent["fdi_start_year_true"].isna()
    never2 = no_selection.latent["export_start_year_true"].isna() & no_selection.latent["fdi_start_year_true"].isna()
    both = (never & never2).to_numpy()
    np.testing.assert_array_equal(tiny_world.firms.loc[both, "capital_stock"],
                                  no_selection.firms.loc[both, "capital_stock"])


# --------------------------------------------------------------------------- bad parameters

@pytest.mark.parametrize(("params", "message"), [
    ({"n_firms": -10}, "n_firms"),
    ({"n_establishments": 0}, "n_establishments"),
    ({"missing_rate": 1.5}, "missing_rate"),
    ({"catchment_overlap": -0.1}, "catchment_overlap"),
    ({"export_base_rate": 0.0}, "export_base_rate"),
    ({"foreign_owned_share": 2}, "foreign_owned_share"),
    ({"start_year": 2010, "end_year": 2000}, "end_year=2000 is before start_year=2010"),
    ({"establishment_start_year": 2019, "establishment_end_year": 2012}, "establishment_end_year"),
    ({"productivity_persistence": 1.0}, "productivity_persistence"),
    ({"labour_shock_sd": -0.1}, "labour_shock_sd"),
    ({"export_effects": {"10-20": {"sales": 0.1}}}, "unknown group '10-20'"),
    ({"fdi_effects": {"manufacturing": {"profits": 0.1}}}, "unknown outcome 'profits'"),
    ({"no_such_parameter": 1}, "Unknown world parameter"),
])
def test_bad_parameters_raise_a_clear_error(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(preset="tiny", seed=0, **params)


def test_unknown_preset_and_bad_seed() -> None:
    with pytest.raises(ValueError, match="Unknown preset 'huge'"):
        generate(preset="huge")
    with pytest.raises(ValueError, match="seed"):
        generate(preset="tiny", seed=-1)


def test_every_parameter_is_documented() -> None:
    table = describe_parameters()
    assert table["meaning"].str.len().min() > 20
    assert {"selection_strength", "labour_shock_sd", "catchment_overlap"} <= set(table["parameter"])


def test_partial_effect_overrides_keep_the_other_defaults() -> None:
    p = resolve_params("tiny", export_effects={"50-99": {"sales": 0.3}})
    assert p.export_effects["50-99"]["sales"] == 0.3
    assert p.export_effects["50-99"]["tfp"] == resolve_params("tiny").export_effects["50-99"]["tfp"]


# --------------------------------------------------------------------------- shape of the world

def test_presets_have_the_documented_scale(tiny_world: World, book_world: World) -> None:
    for world, firms_a_year, establishments in ((tiny_world, 1_500, 4_000), (book_world, 6_000, 20_000)):
        per_year = world.firms.groupby("year").size()
        assert per_year.index.min() == 1995 and per_year.index.max() == 2020
        # exits are replaced, so only non-response (2 %) moves the yearly count
        assert per_year.between(0.95 * firms_a_year, firms_a_year).all()
        est = world.establishments.groupby("year").size()
        assert list(est.index) == list(range(2012, 2020))
        assert (est == establishments).all()


def test_national_preset_scale() -> None:
    world = generate(preset="national", seed=0)
    per_year = world.firms.groupby("year").size()
    assert per_year.between(28_500, 30_000).all()
    assert (world.establishments.groupby("year").size() == 185_000).all()


def test_establishments_lie_in_japan(tiny_world: World) -> None:
    est = tiny_world.establishments
    assert est["latitude"].between(30, 46).all() and est["longitude"].between(128, 146).all()
    assert (est["exports"] >= 0).all() and (est["shipments"] > 0).all()


def test_overlap_parameter_controls_catchment_overlap() -> None:
    shares = [generate(preset="tiny", seed=0, catchment_overlap=x).truth.spillover["share_in_several_catchments"]
              for x in (0.0, 0.8)]
    assert shares[0] < 0.05 < shares[1]


# --------------------------------------------------------------------------- properties the book relies on

def _lagged_panel(world: World, analysis: str) -> pd.DataFrame:
    """Rows at t−1 of firms not yet treated, flagged if they start at t (observed both years)."""
    flag = {"export": "exporter", "fdi": "fdi"}[analysis]
    f = world.firms.merge(world.latent[["firm_id", "year", "tfp_true"]], on=["firm_id", "year"])
    nxt = f[["firm_id", "year", flag]].assign(year=lambda d: d["year"] - 1).rename(columns={flag: "next_flag"})
    at_risk = f.loc[~f[flag]].merge(nxt, on=["firm_id", "year"])
    return at_risk.assign(starter=at_risk["next_flag"].astype(int), log_employees=np.log(at_risk["employees"]))


@pytest.mark.parametrize("analysis", ["export", "fdi"])
@pytest.mark.parametrize("variable", ["tfp_true", "log_employees"])
def test_starters_were_already_more_productive_and_bigger(book_world: World, analysis: str, variable: str) -> None:
    panel = _lagged_panel(book_world, analysis)
    fit = smf.ols(f"{variable} ~ starter + C(industry) + C(year)", panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["firm_id"]})
    assert panel["starter"].sum() > 300
    assert fit.params["starter"] > 3 * fit.bse["starter"], fit.summary().tables[1]


def test_selection_strength_zero_removes_the_selection_on_productivity() -> None:
    world = generate(preset="book", seed=0, selection_strength=0.0)
    panel = _lagged_panel(world, "export")
    fit = smf.ols("tfp_true ~ starter + C(industry) + C(year)", panel).fit()
    assert abs(fit.params["starter"]) < 3 * fit.bse["starter"]


def test_ols_overstates_the_labour_coefficient(book_world: World) -> None:
    f = book_world.firms.assign(
        log_va=lambda d: np.log(d["value_added"]), log_l=lambda d: np.log(d["employees"]),
        log_k=lambda d: np.log(d["capital_stock"]))
    truth = book_world.truth.production.set_index("industry")
    for industry, rows in f.groupby("industry"):
        fit = smf.ols("log_va ~ log_l + log_k + C(year)", rows).fit(
            cov_type="cluster", cov_kwds={"groups": rows["firm_id"]})
        bias = fit.params["log_l"] - truth.loc[industry, "beta_labour"]
        assert bias > 3 * fit.bse["log_l"], (industry, fit.params["log_l"], truth.loc[industry, "beta_labour"])


def test_fdi_firms_most_productive_foreign_owned_pay_most(book_world: World) -> None:
    f = book_world.firms.merge(book_world.latent[["firm_id", "year", "tfp_true"]], on=["firm_id", "year"])
    f = f.loc[f["manufacturing"]]
    # productivity relative to the industry-year mean: industries differ in their TFP level
    f["tfp_true"] -= f.groupby(["industry", "year"])["tfp_true"].transform("mean")
    foreign = f["foreign_capital_ratio"] > 33.3
    group = np.select([foreign, f["fdi"]], ["foreign-owned", "Japanese, FDI"], "Japanese, no FDI")
    f = f.assign(group=group, wage=np.log(f["compensation"] / f["employees"]))
    means = f.groupby("group")[["tfp_true", "wage"]].mean()
    assert means["tfp_true"].idxmax() == "Japanese, FDI"
    assert means["wage"].idxmax() == "foreign-owned"
    assert means.loc["Japanese, FDI", "wage"] > means.loc["Japanese, no FDI", "wage"]


def test_manufacturers_without_fdi_shrink(book_world: World) -> None:
    lat = book_world.latent
    f = book_world.firms.loc[book_world.firms["manufacturing"] & lat["fdi_start_year_true"].isna().to_numpy()]
    f = f.sort_values(["firm_id", "year"])
    for column in ("employees", "capital_stock"):
        change = np.log(f[column]).groupby(f["firm_id"]).diff()
        gap = f["year"].groupby(f["firm_id"]).diff()
        yearly = change[gap == 1]
        assert yearly.mean() < -3 * yearly.std() / np.sqrt(len(yearly)), column


# --------------------------------------------------------------------------- potential outcomes and the truth

def test_truth_table_covers_every_analysis_group_outcome_and_horizon(tiny_world: World) -> None:
    effects = tiny_world.truth.effects
    assert len(effects) == (len(EXPORT_GROUPS) + len(FDI_GROUPS)) * len(OUTCOMES) * 11
    assert tiny_world.truth.effect("export", "sales", "50-99", 5) == pytest.approx(0.15)
    assert tiny_world.truth.effect("fdi", "tfp", "manufacturing", 10) == 0.0
    with pytest.raises(KeyError, match="No true effect"):
        tiny_world.truth.effect("export", "sales", "manufacturing", 5)


def test_truth_paths_are_what_the_potential_outcomes_produce(book_world: World) -> None:
    """y(1) − y(0) across two worlds with the same shocks, one without any effect, is the truth table."""
    no_effects = {g: dict.fromkeys(OUTCOMES, 0.0) for g in EXPORT_GROUPS}
    no_fdi = {g: dict.fromkeys(OUTCOMES, 0.0) for g in FDI_GROUPS}
    untreated = generate(preset="book", seed=0, export_effects=no_effects, fdi_effects=no_fdi)
    treated, lat = book_world.firms, book_world.latent
    assert (treated[["firm_id", "year"]].to_numpy() == untreated.firms[["firm_id", "year"]].to_numpy()).all()
    assert lat["export_start_year_true"].equals(untreated.latent["export_start_year_true"])

    columns = {"employees": "employees", "sales": "sales", "capital_stock": "capital_stock",
               "compensation_per_employee": None}
    expected_total = np.zeros(len(treated))
    for outcome, column in columns.items():
        if column is None:
            y1 = np.log(treated["compensation"] / treated["employees"])
            y0 = np.log(untreated.firms["compensation"] / untreated.firms["employees"])
        else:
            y1, y0 = np.log(treated[column]), np.log(untreated.firms[column])
        tau = lat[f"{outcome}_export_effect"] + lat[f"{outcome}_fdi_effect"]
        # rounding of the published values (whole employees; 0.1 million yen) bounds the error
        rounding = 0.5 / np.minimum(treated["employees"], untreated.firms["employees"])
        if column in ("sales", "capital_stock"):
            rounding = 0.05 / np.minimum(treated[column], untreated.firms[column])
        tolerance = 2 * rounding + (1e-3 if outcome == "compensation_per_employee" else 1e-9)
        assert ((y1 - y0 - tau).abs() <= tolerance).all(), outcome
        expected_total += tau.abs().to_numpy()
    assert (expected_total[lat["export_start_year_true"].isna() & lat["fdi_start_year_true"].isna()] == 0).all()
    tfp_gap = lat["tfp_observed"] - untreated.latent["tfp_observed"]
    np.testing.assert_allclose(tfp_gap, lat["tfp_export_effect"] + lat["tfp_fdi_effect"], atol=1e-12)

    # each starter's effect at horizon h is the truth table's τ(group, outcome, h)
    for analysis in ("export", "fdi"):
        start = lat[f"{analysis}_start_year_true"]
        h = (lat["year"] - start).astype("float")
        rows = lat.loc[h.ge(0).fillna(False).to_numpy()].assign(horizon=np.minimum(h, 10))
        truth = book_world.truth.effects.query("analysis == @analysis")
        merged = rows.merge(truth, left_on=[f"{analysis}_group", "horizon"], right_on=["group", "horizon"])
        for outcome in OUTCOMES:
            part = merged.loc[merged["outcome"] == outcome]
            np.testing.assert_allclose(part[f"{outcome}_{analysis}_effect"], part["effect"], atol=1e-12)


@pytest.mark.parametrize(("analysis", "group", "outcome"), [
    ("export", "50-99", "sales"), ("export", "50-99", "tfp"), ("fdi", "manufacturing", "employees"),
    ("fdi", "non-manufacturing", "capital_stock")])
def test_sample_att_equals_the_truth_on_the_log_scale(book_world: World, analysis: str, group: str,
                                                      outcome: str) -> None:
    for horizon in (1, 5):
        assert book_world.sample_att(analysis, outcome, group, horizon) == pytest.approx(
            book_world.truth.effect(analysis, outcome, group, horizon), abs=1e-12)
    percent = book_world.sample_att(analysis, outcome, group, 5, scale="percent")
    assert np.sign(percent) == np.sign(book_world.truth.effect(analysis, outcome, group, 5))


def test_start_years_in_the_data_match_the_flags(tiny_world: World) -> None:
    f = tiny_world.firms
    for flag, start in (("exporter", "export_start_year"), ("fdi", "fdi_start_year")):
        known = f[start].notna()
        assert (f.loc[known, flag] == (f.loc[known, "year"] >= f.loc[known, start])).all()
        # a start year is recorded only when the firm was surveyed before it
        first_year = f.groupby("firm_id")["year"].transform("min")
        assert (f.loc[known, start] > first_year[known]).all()
