"""Where the extra variance of exports 100–299's matched DiD comes from (issue 14): experiments on national worlds.

Run: ``.venv/bin/python benchmarks/did_variance_sources.py --seeds 20262502 … [--cells cells.csv]
[--pairs-dir DIR] [--variants lp omega]``: with ``--cells`` each world's rows are appended as it ends and a rerun
with the same file resumes; ``--summary-only`` prints the figures of a file; ``--later-starts`` runs experiment
(f) on the pair files a run left in ``--pairs-dir``. One process (one core); ≈ 1–2 min a world on a loaded machine.

For each seed, one ``national`` world and the design ``robust+adjust+other``
(:func:`~kaigai_lib.whitepaper.did_design.white_paper_did_both`, ``design="robust"``, percent scale, t+5), in the
variant ``lp`` (the library's pipeline, LP TFP estimated) and optionally ``omega`` (the world's true log TFP,
``world.latent["tfp_true"]``, as ``tfp_col``: no generated regressor). Per world × group × outcome it keeps the
estimate, its pair-bootstrap SE and the truth (the realised ATT), and from the matched pairs:

* ``r_i`` = the starter's untreated change (its change minus its own true effect) − its control's (adjusted,
  cleared) change; its mean is the error (checked: |error − mean r| ≤ 1e-14);
* ``u_i`` = the same from the world's latent untreated paths (every effect removed exactly), and
  ``cleared = r − u``: what the later-start and other-start adjustments and, for TFP, the LP measurement add;
* the CRV1 SE of mean r by start year, industry and start year × industry over the iid SE (experiment a);
* the share of pairs whose starter is within 20 % of 100 or 300 employees at t−1, and their contrast (c);
* starter − control gaps at t−1 in true ω, the firm effect, the TFP used (b, d), and in the simulator's state
  (ω − firm mean, capital − target, labour shock, sales / pay / output noise; via ``did_capital_gap``), with the
  part of mean u a pair-level OLS of u on those gaps explains (d);
* (f) the pairs split by later starts within t+1…t+5 (starter's FDI; control's exports or FDI).

Measured. Fresh national worlds, seeds 20262502–45 (44 worlds; ``--seeds $(seq 20262502 20262545) --cells …
--pairs-dir …``, ≈ 1 min a world on one core beside other work), coverage / mean z / SD z, outcomes pooled:
exports 50–99 0.914 / +0.11 / 1.08, **100–299 0.941 / +0.24 / 0.98**, 300+ 0.959 / +0.03 / 0.98, FDI
manufacturing 0.927 / +0.14 / 1.04, non-manufacturing 0.973 / +0.01 / 1.00. The extra spread of 100–299 does not
come back on fresh worlds (SD z by outcome 0.83–1.05; world-bootstrap 95 % CI of the pooled SD 0.82–1.14).
Pooled with the hundred earlier worlds (seeds 20262001–50, 20262401–50; same design): 144 worlds, 100–299
coverage 0.919, mean z +0.28, SD z 1.07 (CI 0.96–1.18: not distinguishable from 1); the other groups' SD z
0.96–1.00. With N(mean z, 1) per outcome 100–299's coverage would be 0.939 (capital 0.91: the capital-target gap);
with the observed SDs 0.922 (observed 0.919).

Where 100–299's error is (44 fresh worlds, in SEs):

* in the untreated paths: z_u mean +0.23, SD 0.92; ``cleared`` SD 0.18 (0.05–0.09 for the four outcomes other
  than TFP in every group; TFP 0.31–0.39 in every group: the LP measurement, alike in all groups). The pair
  bootstrap's SE is 1.06× the iid SE of r (1.06–1.11 in every group), and the iid SE of u 0.89–0.95× it.
* (a) no cohort or industry component: CRV1/iid SE ratio by start year 0.99, industry 0.95, start year ×
  industry 1.00 (every group 0.89–1.03). An extra cluster by start year × industry would change nothing.
* (b) the generated regressor adds noise to TFP only (above) and no shared imbalance: the t statistic of the
  true-ω gap at t−1 has SD 0.74 over worlds (0.73–1.02 in the other groups; 1 if pairs were independent), mean
  +0.07. The ``omega`` variant on two worlds (20262502–03) moved 100–299's sales z from +1.25 / +1.00 to
  +0.31 / +1.94: no systematic change.
* (c) pairs near a class boundary (30 % of 100–299's) have the same residual as the others (contrast t +0.03
  on average); the largest single pair is 0.09 SE of the error (no outliers; mean excess kurtosis of r 0.57).
* (d) the state gaps at t−1 explain capital's mean z_u (+0.46 of +0.45: the capital gap, t −0.73 on average),
  +0.19 of employees' +0.30, +0.11 of sales' +0.20, none of TFP's +0.17 or pay's +0.01; the firm effect is
  t +15.6 above the controls' (it shifts only pay's level and the hazards). Nothing in the simulator is shared by
  firms in a year (ω innovations, labour, investment, sales and pay noise are independent by firm-year; on
  20262413 the year means of ξ are within their SE); the common series (foreign demand, deflator, OPR) do not
  enter the outcomes used.
* (f) 26 of the worlds (``--later-starts --seeds $(seq 20262502 20262527) --pairs-dir …``): pairs whose control
  starts exports or FDI within t+1…t+5 (15.5 %) have a lower u (sales −9.0 pp, t −22 over the pooled pairs;
  −1.7 SE of a world's error), pairs whose starter starts FDI (5.2 %) a higher one (sales +13.0 pp, +0.8 SE), the
  rest +1.0 pp (+1.0 SE): later starts follow rising productivity, so they select on the shocks after t. These
  parts cancel but for the net bias (0.0 to +0.4 SE by outcome), as they must, since the shocks after t do not
  depend on who is matched; they are not a world-level component.
* The four extreme worlds of the earlier hundred (|z| ≥ 3.5 in some outcome; seeds 20262043, 20262413, 20262434,
  20262025; ``--seeds 20262043 20262413``): the shift is in u (z_u −3.8 / +3.4 for pay / sales), spread over every
  start year and industry and over pairs that share no firm, and the state gaps at t−1 explain at most 1.0 of the
  3–4 SE; in 20262413 the matched starters' ω innovations in t…t+5 sum to z +2.6 and the controls' to −2.7. The
  earlier hundred had four worlds with |z − mean z| ≥ 3 in some outcome of 100–299 where independent pairs
  predict one (P 0.018 with the outcomes' correlations; other groups 0–2); the 44 fresh worlds had none (largest
  |z| 2.85).

Reading: within a world the pairs are independent and the pair bootstrap's SE is right (6–11 % above the iid SE
of the residuals in every group); no cohort, industry, boundary, outlier, LP or shared-score component was
found, and the earlier SD of z of 1.10 in 100–299 is within the sampling error of a hundred worlds (0.98 on 44
fresh ones; 1.07 over all 144). What lowers 100–299's coverage reproducibly is its mean z (+0.24 / +0.28), which
shows first there because its SE is the smallest of the export groups (≈ 2,200 pairs): capital's +0.5 (the
capital-target gap, ``did_capital_gap.py``, fully explained by the gap at t−1) and +0.0 to +0.3 in the others, of
which the state gaps at t−1 explain about half for employees and sales. No library option was added: no SE change
is supported by these figures.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from did_capital_gap import _simulator_state

from kaigai_lib import generate
from kaigai_lib.whitepaper import did_design as did

HORIZON = 5
BOUNDARIES = (100, 300)


def _crv1_se(residual: np.ndarray, cluster: np.ndarray) -> float:
    """CRV1 standard error of the mean of ``residual`` with clusters ``cluster`` (G/(G−1) small-sample factor)."""
    centred = residual - residual.mean()
    sums = pd.Series(centred).groupby(cluster).sum().to_numpy()
    n_clusters = len(sums)
    if n_clusters < 2:
        return float("nan")
    return float(np.sqrt(n_clusters / (n_clusters - 1) * (sums ** 2).sum()) / len(residual))


def pair_residuals(wp: did.WhitePaperDid, world, analysis: str) -> pd.DataFrame:
    """One row per pair × outcome at t+5: the starter's untreated change − its controls' mean change (percent)."""
    table = wp.changes.table
    table = table.loc[table["horizon"] == HORIZON]
    starters = did.starter_truth(did._subset(wp.changes, table), world, analysis)
    starters = starters.assign(untreated=starters["change_pct"] - starters["true_pct"])
    by_pair = table.loc[table["treated"] == 0].groupby(["outcome", "pair"], observed=True)
    out = starters.set_index(["outcome", "pair"])[["firm_id", "group", "industry", "cohort", "untreated",
                                                  "change_pct"]]
    out["control"] = by_pair["change_pct"].mean().reindex(out.index).to_numpy()
    out["control_id"] = by_pair["firm_id"].first().reindex(out.index).to_numpy()
    out = out.dropna(subset=["control"]).reset_index()
    out["residual"] = out["untreated"] - out["control"]
    out["difference"] = out["change_pct"] - out["control"]
    return out


def _size_columns(pairs: pd.DataFrame, firms: pd.DataFrame) -> pd.DataFrame:
    """The starter's employees at t−1 and t+5, near a class boundary (within 20 %) and class change."""
    employees = firms.set_index(["firm_id", "year"])["employees"]
    before = employees.reindex(pd.MultiIndex.from_arrays([pairs["firm_id"], pairs["cohort"] - 1])).to_numpy()
    after = employees.reindex(pd.MultiIndex.from_arrays([pairs["firm_id"], pairs["cohort"] + HORIZON])).to_numpy()
    near = np.zeros(len(pairs), dtype=bool)
    for bound in BOUNDARIES:
        near |= (before >= bound / 1.2) & (before < bound * 1.2)
    return pairs.assign(near_boundary=near,
                        class_changed=np.digitize(before, BOUNDARIES) != np.digitize(after, BOUNDARIES))


def _untreated_changes(pairs: pd.DataFrame, world) -> pd.DataFrame:
    """Each pair's difference of untreated changes from the world's latent table (``u``: starter − control, percent,
    t−1 → t+5, every treatment effect removed exactly), and ``cleared`` = ``residual − u``: what the later-start
    and other-start adjustments (estimated effects subtracted) and, for TFP, the LP measurement left in the
    residual."""
    latent = world.latent.set_index(["firm_id", "year"])
    u = np.full(len(pairs), np.nan)
    for outcome, part in pairs.groupby("outcome", sort=False):
        untreated = (latent[f"{outcome}_observed"] - latent[f"{outcome}_export_effect"]
                     - latent[f"{outcome}_fdi_effect"])

        def change(firm: pd.Series, rows: pd.DataFrame = part, series: pd.Series = untreated) -> np.ndarray:
            after = series.reindex(pd.MultiIndex.from_arrays([firm, rows["cohort"] + HORIZON])).to_numpy(float)
            before = series.reindex(pd.MultiIndex.from_arrays([firm, rows["cohort"] - 1])).to_numpy(float)
            return 100 * np.expm1(after - before)

        u[pairs.index.get_indexer(part.index)] = change(part["firm_id"]) - change(part["control_id"])
    return pairs.assign(u=u, cleared=pairs["residual"] - u)


STATES = ("omega_dev", "capital_gap", "labour_shock", "sales_noise", "wage_noise", "output_noise")


def _state_gaps(pairs: pd.DataFrame, state) -> pd.DataFrame:
    """Starter − control at t−1 of the simulator's state (what drives each outcome's change after t−1): ω minus the
    firm's mean, log capital minus its target, the labour shock ν, and the yearly noises of sales, pay and value
    added (each reverts: last year's noise enters this change with a minus sign)."""
    p = state.p
    trend = np.where(state.manufacturing, p.manufacturing_capital_trend, p.non_manufacturing_capital_trend)
    values = {
        "omega_dev": state.omega - state.mu_firm[:, None],
        "capital_gap": state.k - (state.capital_target[:, None] + trend[:, None] * state.calendar[None, :]),
        "labour_shock": state.labour - (state.l_ref + p.labour_productivity_response
                                        * (state.omega - state.mu_industry[:, None])
                                        + p.labour_capital_elasticity * (state.k - state.K_REF)),
        "sales_noise": state.sales_noise, "wage_noise": state.wage_noise, "output_noise": state.eps}
    year = pairs["cohort"].to_numpy() - 1 - int(state.years[0])
    starter, control = pairs["firm_id"].to_numpy() - 1, pairs["control_id"].to_numpy().astype(int) - 1
    return pairs.assign(**{f"gap_{name}": 100 * (v[starter, year] - v[control, year]) for name, v in values.items()})


def _explained_by_state(cell: pd.DataFrame) -> float:
    """The part of the cell's mean untreated difference that the state gaps at t−1 explain (OLS of ``u`` on them
    over the pairs, times their means)."""
    columns = [f"gap_{name}" for name in STATES]
    x = np.column_stack([np.ones(len(cell)), cell[columns].to_numpy(float)])
    y = cell["u"].to_numpy(float)
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
    coef = np.linalg.lstsq(x[ok], y[ok], rcond=None)[0]
    return float(x[ok, 1:].mean(axis=0) @ coef[1:])


IMBALANCES = ("omega_t-1", "omega_t-2", "firm_effect", "tfp_used_t-1")


def _imbalances(pairs: pd.DataFrame, world, panel: pd.DataFrame) -> pd.DataFrame:
    """Starter − control differences at t−1 / t−2 of what the matching cannot see or sees with error: true log
    TFP ω (``world.latent``), the unobserved firm effect, and the TFP the pipeline used (LP or true)."""
    latent = world.latent.set_index(["firm_id", "year"])
    used = panel.set_index(["firm_id", "year"])["tfp"]

    def at(series: pd.Series, firm: pd.Series, lag: int) -> np.ndarray:
        return series.reindex(pd.MultiIndex.from_arrays([firm, pairs["cohort"] - lag])).to_numpy(float)

    out = {}
    for name, series, lag in (("omega_t-1", latent["tfp_true"], 1), ("omega_t-2", latent["tfp_true"], 2),
                              ("firm_effect", latent["firm_effect"], 1), ("tfp_used_t-1", used, 1)):
        out[name] = at(series, pairs["firm_id"], lag) - at(series, pairs["control_id"], lag)
    return pairs.assign(**out)


def cell_diagnostics(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per group × outcome: the residuals' error, iid and clustered SEs, and the boundary pairs' contrast."""
    rows = []
    for (group, outcome), cell in pairs.groupby(["group", "outcome"], observed=True):
        r = cell["residual"].to_numpy(float)
        n = len(r)
        se_iid = r.std(ddof=1) / np.sqrt(n)
        cohort_industry = cell["cohort"].astype(str) + "|" + cell["industry"].astype(str)
        near = cell["near_boundary"].to_numpy()
        changed = cell["class_changed"].to_numpy()

        def contrast(mask: np.ndarray, r: np.ndarray = r) -> float:
            if mask.sum() < 5 or (~mask).sum() < 5:
                return float("nan")
            gap = r[mask].mean() - r[~mask].mean()
            return float(gap / np.sqrt(r[mask].var(ddof=1) / mask.sum() + r[~mask].var(ddof=1) / (~mask).sum()))

        u = cell["u"].to_numpy(float)
        states = {}
        if "gap_omega_dev" in cell:
            states["error_explained"] = _explained_by_state(cell)
            for name in STATES:
                gap = cell[f"gap_{name}"]
                states[f"t_gap_{name}"] = float(gap.mean() / gap.std(ddof=1) * np.sqrt(gap.notna().sum()))
        rows.append({"group": group, "outcome": outcome, "pairs": n, "error_r": r.mean(), "se_iid": se_iid, **states,
                     "error_u": float(np.nanmean(u)), "se_u": float(np.nanstd(u, ddof=1) / np.sqrt(n)),
                     "error_cleared": float(np.nanmean(cell["cleared"])),
                     "se_pair_difference": cell["difference"].std(ddof=1) / np.sqrt(n),
                     "ratio_cohort": _crv1_se(r, cell["cohort"].to_numpy()) / se_iid,
                     "ratio_industry": _crv1_se(r, cell["industry"].astype(str).to_numpy()) / se_iid,
                     "ratio_cohort_industry": _crv1_se(r, cohort_industry.to_numpy()) / se_iid,
                     # the largest single pair's share of the error, in SEs (heavy tails show here)
                     "top_pair_in_se": float(np.abs(r - r.mean()).max() / n / se_iid),
                     "kurtosis": float(pd.Series(r).kurt()),
                     **{f"imb_{name}": float(np.nanmean(cell[name])) for name in IMBALANCES},
                     **{f"t_{name}": float(np.nanmean(cell[name]) / np.nanstd(cell[name], ddof=1)
                                           * np.sqrt(cell[name].notna().sum())) for name in IMBALANCES},
                     "share_near": near.mean(), "t_near": contrast(near),
                     "share_changed": changed.mean(), "t_changed": contrast(changed)})
    return pd.DataFrame(rows)


def world_rows(seed: int, variants: list[str], preset: str = "national",
               pairs_dir: Path | None = None) -> pd.DataFrame:
    """Every variant's cells and diagnostics on one national world."""
    world, state = _simulator_state(preset, seed)
    true_tfp = world.latent.set_index(["firm_id", "year"])["tfp_true"]
    frames = []
    for variant in variants:
        options = {"design": "robust", "horizons": [HORIZON], "pre_horizons": [], "scale": "percent"}
        if variant == "omega":
            keys = pd.MultiIndex.from_frame(world.firms[["firm_id", "year"]])
            firms = world.firms.assign(tfp_omega=true_tfp.reindex(keys).to_numpy())
            results = did.white_paper_did_both(firms, world=world, tfp_col="tfp_omega", **options)
        else:
            results = did.white_paper_did_both(world, **options)
        for analysis, wp in results.items():
            cells = wp.compare(HORIZON)[["group", "outcome", "estimate", "std_error", "truth", "covered"]]
            pairs = _imbalances(_size_columns(pair_residuals(wp, world, analysis), world.firms), world, wp.panel)
            pairs = _state_gaps(_untreated_changes(pairs.reset_index(drop=True), world), state)
            if pairs_dir is not None:
                pairs.to_parquet(pairs_dir / f"pairs_{seed}_{variant}_{analysis}.parquet")
            merged = cells.merge(cell_diagnostics(pairs), on=["group", "outcome"], how="left")
            frames.append(merged.assign(analysis=analysis, variant=variant, seed=seed))
    return pd.concat(frames, ignore_index=True)


def later_start_split(seeds: list[int], pairs_dir: Path, preset: str = "national",
                      group: str = "100-299") -> pd.DataFrame:
    """Experiment (f), on the pair files of ``--pairs-dir``: the export pairs of ``group`` split by which member
    starts something within t+1 … t+5 (the starter FDI, the control exports or FDI). Those starts follow rising
    productivity (the hazards read ω at the year before), so they select on the shocks after t, which no
    matching on t−1 can balance; the adjustments subtract the starts' effects, not that selection. Returns,
    per outcome and kind of pair, the pairs and the mean untreated difference ``u``, in SEs of the group's mean."""
    frames = []
    for seed in seeds:
        pairs = pd.read_parquet(pairs_dir / f"pairs_{seed}_lp_export.parquet")
        pairs = pairs.loc[pairs["group"] == group]
        latent = generate(preset=preset, seed=seed, n_establishments=100).latent
        starts = latent.groupby("firm_id")[["export_start_year_true", "fdi_start_year_true"]].first()

        def within(firm: pd.Series, column: str, rows: pd.DataFrame = pairs,
                   table: pd.DataFrame = starts) -> np.ndarray:
            year = table[column].reindex(firm.to_numpy()).to_numpy(float)
            return (year > rows["cohort"].to_numpy()) & (year <= rows["cohort"].to_numpy() + HORIZON)

        frames.append(pairs.assign(seed=seed, starter_fdi=within(pairs["firm_id"], "fdi_start_year_true"),
                                   control_exports=within(pairs["control_id"], "export_start_year_true"),
                                   control_fdi=within(pairs["control_id"], "fdi_start_year_true")))
    data = pd.concat(frames, ignore_index=True)
    data["kind"] = np.select([data["starter_fdi"] & ~(data["control_exports"] | data["control_fdi"]),
                              ~data["starter_fdi"] & (data["control_exports"] | data["control_fdi"]),
                              ~data["starter_fdi"] & ~(data["control_exports"] | data["control_fdi"])],
                             ["starter starts FDI", "control starts exports or FDI", "neither"], "both")
    rows = []
    for outcome, cell in data.groupby("outcome"):
        # the SE of one world's group mean: the pairs' SD over the root of a world's pairs
        se_world = cell["u"].std() / np.sqrt(len(cell) / len(seeds))
        for kind, part in cell.groupby("kind"):
            rows.append({"outcome": outcome, "kind": kind, "share": len(part) / len(cell),
                         "mean_u": part["u"].mean(),
                         "contribution_in_se": part["u"].sum() / len(cell) / se_world,
                         "t_over_pairs": part["u"].mean() / part["u"].std() * np.sqrt(len(part))})
    return pd.DataFrame(rows)


def summary(cells: pd.DataFrame) -> None:
    """Print the across-world figures."""
    data = cells.assign(z=(cells["estimate"] - cells["truth"]) / cells["std_error"],
                        error=cells["estimate"] - cells["truth"])
    keys = ["variant", "analysis", "group"]
    print(f"{data['seed'].nunique()} worlds (seeds {data['seed'].min()}–{data['seed'].max()})")
    print("\n== coverage, mean z, SD z, SD(error)/mean SE, pooled over outcomes")
    pooled = data.groupby(keys).agg(coverage=("covered", "mean"), mean_z=("z", "mean"), sd_z=("z", "std"))
    print(pooled.round(3).to_string())
    print("\n== per outcome: coverage, mean z, SD z, SD(error)/mean SE; SE ratios and boundary contrasts (means)")
    per = data.groupby([*keys, "outcome"]).agg(
        coverage=("covered", "mean"), mean_z=("z", "mean"), sd_z=("z", "std"),
        sd_err_over_se=("error", "std"), mean_se=("std_error", "mean"),
        boot_over_iid=("std_error", "mean"), se_iid=("se_iid", "mean"),
        r_cohort=("ratio_cohort", "mean"), r_industry=("ratio_industry", "mean"),
        r_cohort_industry=("ratio_cohort_industry", "mean"), top_pair=("top_pair_in_se", "mean"),
        kurtosis=("kurtosis", "mean"), t_near=("t_near", "mean"),
        share_near=("share_near", "mean"), t_changed=("t_changed", "mean"), share_changed=("share_changed", "mean"))
    per["sd_err_over_se"] /= per["mean_se"]
    per["boot_over_iid"] = per["mean_se"] / per["se_iid"]
    print(per.drop(columns=["mean_se", "se_iid"]).round(3).to_string())
    print("\n== the error split: u (untreated changes, exact) + cleared (adjustments, LP); in SEs, over worlds")
    split = data.assign(z_u=data["error_u"] / data["std_error"], z_cleared=data["error_cleared"] / data["std_error"],
                        se_ratio_u=data["se_u"] / data["std_error"])
    print(split.groupby([*keys, "outcome"]).agg(
        mean_z_u=("z_u", "mean"), sd_z_u=("z_u", "std"), mean_z_cleared=("z_cleared", "mean"),
        sd_z_cleared=("z_cleared", "std"), se_u_over_se=("se_ratio_u", "mean")).round(3).to_string())
    if "error_explained" in data:
        print("\n== u = explained by the state gaps at t−1 + the rest, in SEs; SD over worlds of each state gap's t")
        state = data.assign(z_explained=data["error_explained"] / data["std_error"],
                            z_rest=(data["error_u"] - data["error_explained"]) / data["std_error"])
        agg = {"sd_z_explained": ("z_explained", "std"), "sd_z_rest": ("z_rest", "std"),
               "mean_z_explained": ("z_explained", "mean"), "mean_z_rest": ("z_rest", "mean"),
               **{f"sd_t_{name}": (f"t_gap_{name}", "std") for name in STATES}}
        print(state.groupby([*keys, "outcome"]).agg(**agg).round(3).to_string())
    print("\n== imbalance t statistics at t−1 (starter − control over pairs; SD over worlds ≈ 1 if the pairs'"
          " imbalances are independent) and their correlation with z over worlds")
    imbalance = {}
    for name in IMBALANCES:
        column = f"t_{name}"
        imbalance[f"sd_{column}"] = data.groupby([*keys, "outcome"])[column].std()
        imbalance[f"corr_z_{column}"] = data.groupby([*keys, "outcome"])[[column, "z"]].corr().xs(
            column, level=-1)["z"]
    print(pd.DataFrame(imbalance).round(3).to_string())
    check = (data["error"] - data["error_r"]).abs().max()
    print(f"\nlargest |error − mean pair residual| = {check:.2e} (pairs with several controls make it non-zero)")
    if {"lp", "omega"} <= set(data["variant"]):
        wide = data.pivot_table(index=["seed", "analysis", "group", "outcome"], columns="variant",
                                values=["error", "std_error"])
        shift = (wide[("error", "lp")] - wide[("error", "omega")]) / wide[("std_error", "lp")]
        print("\n== (error with LP TFP − error with true TFP) / SE: mean and SD over worlds")
        print(shift.groupby(level=["analysis", "group", "outcome"]).agg(["mean", "std"]).round(3).to_string())


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[20262502])
    parser.add_argument("--variants", nargs="+", default=["lp"], choices=["lp", "omega"])
    parser.add_argument("--preset", default="national")
    parser.add_argument("--cells", help="append every world's rows to this CSV (a rerun resumes)")
    parser.add_argument("--pairs-dir", help="also write each world's pair residuals to parquet files here")
    parser.add_argument("--later-starts", action="store_true",
                        help="run experiment (f) on the pair files of --pairs-dir for --seeds instead")
    parser.add_argument("--summary-only", action="store_true", help="print the figures of --cells and stop")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    if args.later_starts:
        split = later_start_split(args.seeds, Path(args.pairs_dir), args.preset)
        print(f"(f) exports 100–299, {len(args.seeds)} worlds: pairs by later starts within t+1…t+{HORIZON}; u in "
              "percentage points; contribution = that kind's share of a world's mean error, in SEs")
        print(split.round(3).to_string(index=False))
        return split
    path = Path(args.cells) if args.cells else None
    done = pd.read_csv(path) if path is not None and path.exists() else pd.DataFrame(columns=["seed"])
    frames = [done] if len(done) else []
    start = time.perf_counter()
    if not args.summary_only:
        for seed in (s for s in args.seeds if s not in set(done["seed"])):
            rows = world_rows(seed, args.variants, args.preset,
                              Path(args.pairs_dir) if args.pairs_dir else None)
            frames.append(rows)
            if path is not None:
                rows.to_csv(path, mode="a", header=not path.exists(), index=False)
            print(f"seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    cells = pd.concat(frames, ignore_index=True)
    summary(cells)
    return cells


if __name__ == "__main__":
    main()
