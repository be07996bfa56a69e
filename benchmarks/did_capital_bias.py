"""Why the matched DiD overstates the capital-stock effect: the starters' own untreated capital grows faster.

Run: ``.venv/bin/python benchmarks/did_capital_bias.py [--preset national] [--seed 20261213]
[--analysis fdi] [--design robust]``.

On one world, at t+5, every matched unit's change t−1 → t+5 is cleared of its OWN true effect
(``world.latent``, starters and controls alike): what is left is the untreated change. Per group × outcome,
the starter − control mean of that untreated change (log points, pairs' cohort means as in the DiD) is the
design's selection bias, with its z against the pair-clustered SE. If the truth were wrong (timing, percent
scale), this gap would be zero while the DiD's z is not. Then the capital gap is regressed on the pair gap in
TRUE productivity at t−1 (``tfp_true`` minus the effects) and in measured (LP) TFP at t−1: investment
responds to ω (``investment_productivity_response``), selection is on ω, matching is on the noisy LP TFP.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from kaigai_lib import did
from kaigai_lib.synthetic import generate


def _own_effect(part: pd.DataFrame, latent: pd.DataFrame, firm: str, column: str, at: np.ndarray) -> np.ndarray:
    keys = pd.MultiIndex.from_arrays([part[firm].to_numpy(), at])
    return latent[column].reindex(keys).fillna(0.0).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="national")
    parser.add_argument("--seed", type=int, default=20261213)
    parser.add_argument("--analysis", default="fdi")
    parser.add_argument("--design", default="robust")
    args = parser.parse_args()
    world = generate(preset=args.preset, seed=args.seed, n_establishments=100)
    wp = did.white_paper_did(world, args.analysis, horizons=[5], pre_horizons=[], design=args.design,
                             outcomes=["capital_stock", "tfp", "sales", "employees"])
    firm = wp.changes.id
    latent = world.latent.set_index(["firm_id", "year"])
    table = wp.changes.table.loc[wp.changes.table["horizon"] == 5]
    parts = []
    for outcome, part in table.groupby("outcome", sort=False):
        cohort = part["cohort"].to_numpy()
        own = sum(_own_effect(part, latent, firm, f"{outcome}_{a}_effect", cohort + 5)
                  - _own_effect(part, latent, firm, f"{outcome}_{a}_effect", cohort - 1) for a in ("export", "fdi"))
        base_effect = sum(_own_effect(part, latent, firm, f"tfp_{a}_effect", cohort - 1) for a in ("export", "fdi"))
        keys = pd.MultiIndex.from_arrays([part[firm].to_numpy(), cohort - 1])
        pre_keys = pd.MultiIndex.from_arrays([part[firm].to_numpy(), cohort - 2])
        omega = latent["tfp_true"].reindex(keys)
        capital = latent["capital_stock_observed"].reindex(keys).to_numpy()
        other = "export" if args.analysis == "fdi" else "fdi"
        other_change = (_own_effect(part, latent, firm, f"{outcome}_{other}_effect", cohort + 5)
                        - _own_effect(part, latent, firm, f"{outcome}_{other}_effect", cohort - 1))
        parts.append(part.assign(untreated=part["change_log"] - own, other_effect=other_change,
                                 omega_base=omega.to_numpy() - base_effect,
                                 capital_base=capital,
                                 capital_pre_growth=capital - latent["capital_stock_observed"].reindex(pre_keys).to_numpy()))
    rows = pd.concat(parts)
    # the capital target is a firm constant the survey does not record; paid-in capital is built from it
    paid_in = world.firms.groupby("firm_id")["paid_in_capital"].first()
    rows["target_proxy"] = np.log(rows[firm].map(paid_in) - 29.9)
    lp = wp.sample.rows.set_index([wp.sample.firm_col, "start_year"])
    tfp_name = [c for c in lp.columns if c.startswith("log_tfp") or c == "tfp"]
    print(f"{args.analysis}, {args.design} design, '{args.preset}' world seed {args.seed}, t+5; matched sample "
          f"columns with TFP: {tfp_name}")

    # pair gap = starter − mean of its controls
    def gap(column: str) -> pd.DataFrame:
        wide = rows.pivot_table(index=["outcome", "group", "pair"], columns="treated", values=column, aggfunc="mean")
        return (wide[1] - wide[0]).rename(column)

    gaps = pd.concat([gap(c) for c in ("untreated", "other_effect", "change_log", "omega_base", "capital_base", "capital_pre_growth",
                                     "target_proxy")],
                     axis=1).reset_index()
    summary = gaps.groupby(["group", "outcome"]).agg(
        pairs=("untreated", "size"), untreated_gap=("untreated", "mean"),
        se=("untreated", lambda x: x.std(ddof=1) / np.sqrt(len(x))), other_effect_gap=("other_effect", "mean"), omega_gap=("omega_base", "mean"),
        capital_base_gap=("capital_base", "mean"), capital_pre_growth_gap=("capital_pre_growth", "mean"),
        target_proxy_gap=("target_proxy", "mean"))
    summary["z_untreated"] = summary["untreated_gap"] / summary["se"]
    pd.set_option("display.width", 200)
    print("\nstarter − control mean of the UNTREATED change t−1 → t+5 (log points ×100) = the selection bias")
    print((summary.assign(untreated_gap=100 * summary["untreated_gap"], se=100 * summary["se"])).round(3).to_string())
    print("\ncapital: untreated pair gap regressed on the pair gaps in true ω, log capital (t−1), capital growth "
          "t−2→t−1")
    for group, part in gaps.loc[gaps["outcome"] == "capital_stock"].groupby("group"):
        fit = smf.ols("untreated ~ omega_base + capital_base + capital_pre_growth + target_proxy", part).fit()
        print(f"  {group}: " + ", ".join(f"{name} {fit.params[name]:+.3f} (se {fit.bse[name]:.3f})"
                                          for name in fit.params.index))
        print("    part of the mean gap explained: " + ", ".join(
            f"{name} {100 * fit.params[name] * part[name].mean():+.3f}" for name in fit.params.index[1:]))


if __name__ == "__main__":
    main()
