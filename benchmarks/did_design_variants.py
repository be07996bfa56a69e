"""Which extra reading in the propensity score would remove the robust design's remaining bias (issue 14)?

Run: ``.venv/bin/python benchmarks/did_design_variants.py [--preset national] --seeds 20262701 …
[--variants robust gap fe] [--cells cells.csv]``; with ``--cells`` each world's rows are appended as it ends and
a rerun with the same file resumes; ``--summary-only`` prints the figures of a file. One process (one core);
≈ 45 s a variant and world at national scale on an idle core.

For each seed, one world and the design ``robust+adjust+other``
(:func:`~kaigai_lib.whitepaper.did_design.white_paper_did_both`, ``design="robust"``, percent scale, t+5), once per
variant: the robust design's logit plus the variant's columns (``extra_covariates``), read at the base year
``t − 1`` unless named otherwise. LP TFP is estimated once per world (the pipeline's own ``levinsohn_petrin``
by industry) and passed as ``tfp_col``, so the variants differ only in the score. Variants:

* ``robust``: the library's robust design, nothing added;
* ``gap``: *oracle* — the simulator's log capital minus its long-run target at ``t − 1`` (not in any data);
* ``fe``: *oracle* — the unobserved firm effect that raises both start hazards;
* ``khist``: the mean log capital over the firm's earlier years (a reading of its long-run target);
* ``paid``: log paid-in capital (資本金; in the world, a noisy reading of the capital target);
* ``pay``: log compensation per employee at ``t − 1`` (the firm effect raises pay's level);
* ``m2``: log intermediate inputs and log capital at ``t − 2`` with industry slopes (the LP inversion one year
  earlier: productivity at ``t − 2`` without its output noise, which with the investment rate at ``t − 2``
  reads the capital gap).

Printed: per variant × analysis × group, coverage of the 95 % intervals, mean z = (estimate − truth) / SE and
the SD of z (five outcomes pooled); for exports 100–299 the same per outcome; and each variant's mean change of
z against ``robust`` on the same worlds, with its SE over worlds.

Measured (national worlds, ``robust+adjust+other``):

* Oracles, 10 worlds (seeds 20262701–10; 50 intervals a group): exports 100–299 mean z +0.15 (robust), +0.00
  with the true capital gap, +0.28 with the true firm effect; capital stock there +0.67 → −0.12 (gap), +0.30
  (firm effect); capital's mean z over the five groups +0.60 → −0.07 (gap). Balancing the capital gap at
  ``t − 1`` removes the capital bias (the mechanism of ``did_capital_gap.py``); balancing the firm effect halves
  it. ``khist`` on the same worlds: 100–299 capital +0.51, mean z +0.07, but FDI manufacturing capital +0.40 →
  +0.61 — no consistent gain.
* Observable readings, 6 worlds (seeds 20262711–16): ``pay`` biases the pay estimate itself — compensation per
  employee's mean z +2.7 (coverage 0.17) against +0.15 — regression to the mean: starters, paid more for a
  lasting reason (the firm effect), are matched to controls paid as much in ``t − 1`` by a passing shock,
  whose pay then falls back (Daw and Hatfield 2018, matching on a pre-period level of the outcome in a DiD);
  ``m2`` left capital's mean z in 100–299 at +0.64 (robust +0.42). Neither adopted. Earlier sessions found the
  same for paid-in capital, the wage at ``t − 2`` and ``t − 3``, and ``t − 3`` readings of capital and investment
  (``did_coverage.py``).

Reading: the part of the capital gap that the data predict is balanced already — on seed 20262701 a gradient
boosting prediction of the gap from every reading at ``t − 1 … t − 3`` (cross-validated R² 0.69) differs between
matched starters and controls by +0.005 (t +1.8) while the true gap differs by −0.005 (t −1.2) in exports
100–299 — so what is left sits in the part no reading predicts (the investment shocks and the target itself).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from did_capital_gap import _simulator_state

from kaigai_lib.whitepaper import did_design as did
from kaigai_lib.whitepaper import samples

HORIZON = 5
EXTRA_TERMS = {
    "robust": (),
    "gap": ("oracle_gap",),
    "fe": ("oracle_fe",),
    "khist": ("log_capital_history",),
    "paid": ("log_paid_in_capital",),
    "pay": ("log_pay_now",),
    "m2": ("log_m_lag_by_industry", "log_k_lag_by_industry"),  # stems: one column per industry (see below)
}


def _lagged(firms: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """``values`` of each row's firm one year earlier (NaN where that year is not observed)."""
    earlier = firms[["firm_id", "year"]].assign(_v=values, year=firms["year"] + 1)
    return firms[["firm_id", "year"]].merge(earlier, on=["firm_id", "year"], how="left")["_v"].to_numpy()


def variant_columns(firms: pd.DataFrame, state) -> pd.DataFrame:
    """The columns the variants read, on the firm panel (sorted by firm and year)."""
    f = firms.sort_values(["firm_id", "year"]).reset_index(drop=True)
    log_k = np.log(f["capital_stock"].to_numpy(float))
    by_firm = pd.Series(log_k).groupby(f["firm_id"].to_numpy())
    earlier_years = by_firm.cumcount().replace(0, np.nan).to_numpy()
    trend = np.where(state.manufacturing, state.p.manufacturing_capital_trend,
                     state.p.non_manufacturing_capital_trend)
    firm, year = f["firm_id"].to_numpy() - 1, f["year"].to_numpy() - int(state.years[0])
    target = state.capital_target[firm] + trend[firm] * state.calendar[year]
    # rows without an earlier year are left out of the robust design (not observed at t−2): any value will do
    return f.assign(
        oracle_gap=state.k[firm, year] - target, oracle_fe=state.firm_effect[firm],
        log_capital_history=np.nan_to_num((by_firm.cumsum().to_numpy() - log_k) / earlier_years, nan=0.0),
        log_paid_in_capital=np.log(f["paid_in_capital"].to_numpy(float)),
        log_pay_now=np.log(f["compensation"].to_numpy(float) / f["employees"].to_numpy(float)),
        **_by_industry(f, "log_m_lag_by_industry", np.nan_to_num(_lagged(f, np.log(f["intermediate_inputs"]
                                                                                  .to_numpy(float))))),
        **_by_industry(f, "log_k_lag_by_industry", np.nan_to_num(_lagged(f, log_k))))


def _by_industry(firms: pd.DataFrame, stem: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """``values`` times each industry's dummy, one column per industry (``stem:<industry>``): a slope per industry,
    the span of the formula's ``x:C(industry)``, as columns that ``extra_covariates`` takes."""
    industry = firms["industry"].astype(str).to_numpy()
    return {f"{stem}:{name}": np.where(industry == name, values, 0.0) for name in sorted(set(industry))}


def world_rows(seed: int, variants: list[str], preset: str) -> pd.DataFrame:
    """Every variant's cells on one world."""
    world, state = _simulator_state(preset, seed)
    firms = variant_columns(world.firms, state)
    cols = {**samples.PANEL_COLUMNS, "status": "exporter", "tfp": None}
    checked = samples._check_panel(firms, "export", samples.OUTCOMES, cols, "robust")
    panel, _, _ = samples._logged_panel(checked, tuple(samples.OUTCOMES), cols)
    firms["tfp_lp"] = panel["tfp"].to_numpy()
    frames = []
    for variant in variants:
        extra = [c for stem in EXTRA_TERMS[variant] for c in firms.columns if c == stem or c.startswith(f"{stem}:")]
        results = did.white_paper_did_both(firms, world=world, tfp_col="tfp_lp", design="robust",
                                           horizons=[HORIZON], pre_horizons=[], scale="percent",
                                           extra_covariates=extra)
        for analysis, wp in results.items():
            cells = wp.compare(HORIZON)[["group", "outcome", "estimate", "std_error", "truth", "covered"]]
            frames.append(cells.assign(analysis=analysis, variant=variant, seed=seed))
    return pd.concat(frames, ignore_index=True)


def summary(cells: pd.DataFrame) -> None:
    """Print the across-world figures."""
    data = cells.assign(z=(cells["estimate"] - cells["truth"]) / cells["std_error"])
    print(f"{data['seed'].nunique()} worlds (seeds {data['seed'].min()}–{data['seed'].max()})")
    print("\n== coverage, mean z, SD z per variant × analysis × group (outcomes pooled)")
    pooled = data.groupby(["analysis", "group", "variant"]).agg(coverage=("covered", "mean"), mean_z=("z", "mean"),
                                                                sd_z=("z", "std"))
    print(pooled.round(3).to_string())
    print("\n== exports 100-299 per outcome: coverage and mean z")
    middle = data.loc[data["group"] == "100-299"]
    print(middle.groupby(["outcome", "variant"]).agg(coverage=("covered", "mean"), mean_z=("z", "mean"))
          .round(3).unstack("variant").to_string())
    if "robust" in set(data["variant"]) and data["variant"].nunique() > 1:
        print("\n== change of mean z against robust on the same worlds (SE over worlds)")
        wide = data.pivot_table(index=["seed", "analysis", "group", "outcome"], columns="variant", values="z")
        rows = []
        for variant in [v for v in wide.columns if v != "robust"]:
            per_world = (wide[variant] - wide["robust"]).groupby(level=["seed", "analysis", "group"]).mean()
            for (analysis, group), values in per_world.groupby(level=["analysis", "group"]):
                rows.append({"variant": variant, "analysis": analysis, "group": group, "change": values.mean(),
                             "se": values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan})
        print(pd.DataFrame(rows).round(3).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="national")
    parser.add_argument("--seeds", type=int, nargs="+", default=[20262701])
    parser.add_argument("--variants", nargs="+", default=["robust", "gap", "fe"], choices=list(EXTRA_TERMS))
    parser.add_argument("--cells", type=Path, help="append each world's rows to this CSV (resumes)")
    parser.add_argument("--summary-only", action="store_true", help="print the figures of --cells")
    args = parser.parse_args()
    done = pd.read_csv(args.cells) if args.cells is not None and args.cells.exists() else None
    frames = [] if done is None else [done]
    if not args.summary_only:
        for seed in args.seeds:
            if done is not None and seed in set(done["seed"]):
                continue
            start = time.perf_counter()
            rows = world_rows(seed, args.variants, args.preset)
            frames.append(rows)
            if args.cells is not None:
                rows.to_csv(args.cells, mode="a", header=not args.cells.exists(), index=False)
            print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    if frames:
        summary(pd.concat(frames, ignore_index=True))


if __name__ == "__main__":
    main()
