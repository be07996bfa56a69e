"""Why the matched DiD overstates the capital-stock effect: the starters' own untreated capital grows faster.

Run: ``.venv/bin/python benchmarks/did_capital_bias.py [--preset national] [--seed 20261213]
[--analysis fdi] [--design robust] [--param investment_productivity_response=0]``.

On one world, at t+5, :func:`kaigai_lib.did.bias_decomposition` clears every matched unit's change
t−1 → t+5 of its OWN true effect (``world.latent``, starters and controls alike): the starter − control mean
of what is left (``selection``, percent; ``selection_log``, log points ×100) is the design's selection bias,
and estimate − truth = selection − controls_pull exactly, so the truth (the benchmark's target) drops out.
Then, for capital, the pair gap in the untreated log change is regressed on the pair gaps in TRUE log
productivity ω at t−1 (``tfp_true`` minus the effects), log capital at t−1, capital growth t−2 → t−1 and a
proxy of the unobserved capital target (log paid-in capital): selection into starting is on ω, matching is on
the noisy LP TFP, and investment responds to ω (``investment_productivity_response``).

Measured (the robust design before it matched on the investment rate, now ``--design robust_no_investment``;
national, t+5; capital's ``selection`` in pp, z): over seeds 20261213–17 the mean z is
FDI manufacturing +1.23, non-manufacturing +0.86; exports (seeds 14–17) 50-99 +0.86, 100-299 +1.57, 300+ +1.76 —
positive, so the bias is the design's, not the truth's. With ``--param investment_productivity_response=0``
(same seed, only that channel shut) it vanishes: FDI seed 20261217 manufacturing +0.756 (z 2.54) → +0.001
(z 0.01), non-manufacturing +0.867 (2.24) → +0.068 (0.37); exports seed 20261216 100-299 +0.848 (2.74) → +0.120
(0.82), 300+ +0.442 (1.02) → +0.108 (0.50). TFP's gap (FDI, true effect 0) is the mirror image: at t−1 the
starters' LP TFP understates their true ω by 0.53 / 0.59 pp more than their controls' (se 0.17; seed 20261213),
and that measurement error does not persist.

With the investment rate at t−2 in the score (``--design robust``), capital's selection on the same worlds:
exports seed 20261216 100-299 +0.848 (z 2.74) → +0.406 (1.35), 300+ +0.442 (1.02) → +0.061 (0.14); FDI seed
20261217 manufacturing +0.756 (2.54) → +0.637 (2.08), non-manufacturing +0.867 (2.24) → +0.923 (2.36): the rate
halves the exporters' capital gap but not FDI starters'. It balances the capital dynamics (distance from the
target), not true productivity: the matched starters' edge in ω at t−1 stays at 0.4–0.9 pp at national scale.
That was the robust design now called ``robust_no_intermediates``. The robust design now also matches on log
intermediate inputs at t−1 with industry-specific slopes on them and on log capital (the LP proxy inverted:
in the world, log intermediates are an exact increasing function of ω given k, by industry). Over seeds
20261214–17 (national, t+5; scratch script: matched pairs' gap in ``tfp_true`` at t−1, per-seed SE about
0.11 pp for exports, 0.23 pp for FDI) the mean ω edge falls from +0.40 to +0.05 pp (exports) and from +0.80 to
−0.01 pp (FDI); the mean selection z over the four seeds, per group (capital, employees, sales, TFP): exports
50-99 +0.90, +0.53, +0.10, +0.03; 100-299 +0.50, −0.46, +0.09, −0.02; 300+ +0.75, +0.88, +0.12, −0.21; FDI
manufacturing +0.64, +0.03, +0.15, −0.15; non-manufacturing +0.33, +0.02, +0.05, +0.03 (a mean of four
N(0, 1) draws has SD 0.5). Sales and TFP are clean; capital keeps a small positive selection (+0.12 to
+0.52 pp). What was called the proxy's "overcorrection" in FDI manufacturing is not selection (there +0.19 pp
for capital, +0.15 for sales): it is ``controls_pull``, the controls' own later FDI starts (+0.88 pp capital,
+0.70 employees, +1.04 sales), which the starters' productivity edge used to offset.

``other_start`` (the part of ``selection`` that is the other start's effects: FDI started after t by export
starters more often than by their controls, both hazards rising with the unobserved firm effect), exports, seeds
20262001–04 (``--analysis export --seed …``), capital stock: 100-299 +0.128, +0.117, +0.190, +0.143 pp (its
estimate's SE about 0.30: half a standard error), 300+ +0.02 to +0.24, 50-99 +0.04 to +0.11; employees and sales
in 100-299 +0.09 to +0.21. With later starts kept, ``controls_pull`` (+0.11 to +0.13 pp for capital in 100-299)
roughly offsets it; ``later_starts="adjust"`` removes the pull and leaves it.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from kaigai_lib.whitepaper import did_design as did
from kaigai_lib.world.synthetic import generate

REGRESSORS = ("omega_base", "capital_base", "capital_pre_growth", "target_proxy")


def _at(latent: pd.DataFrame, column: str, ids: np.ndarray, years: np.ndarray) -> np.ndarray:
    return latent[column].reindex(pd.MultiIndex.from_arrays([ids, years])).fillna(0.0).to_numpy()


def _capital_pairs(wp: did.WhitePaperDid, world, analysis: str) -> pd.DataFrame:
    """Per capital pair at t+5: starter − control gaps of the untreated log change and of the candidate causes."""
    latent = world.latent.set_index(["firm_id", "year"])
    firm = wp.changes.unit
    rows = wp.changes.table.query("outcome == 'capital_stock' and horizon == 5")
    ids, cohort = rows[firm].to_numpy(), rows["cohort"].to_numpy()
    effects = {a: f"capital_stock_{a}_effect" for a in ("export", "fdi")}
    own = sum(_at(latent, c, ids, cohort + 5) - _at(latent, c, ids, cohort - 1) for c in effects.values())
    tfp_effect = sum(_at(latent, f"tfp_{a}_effect", ids, cohort - 1) for a in ("export", "fdi"))
    capital = _at(latent, "capital_stock_observed", ids, cohort - 1)
    paid_in = world.firms.groupby("firm_id")["paid_in_capital"].first()
    rows = rows.assign(untreated=rows["change_log"] - own,
                       omega_base=_at(latent, "tfp_true", ids, cohort - 1) - tfp_effect, capital_base=capital,
                       capital_pre_growth=capital - _at(latent, "capital_stock_observed", ids, cohort - 2),
                       target_proxy=np.log(rows[firm].map(paid_in).to_numpy() - 29.9))
    columns = ["untreated", *REGRESSORS]
    wide = rows.groupby(["group", "pair", "treated"])[columns].mean().unstack("treated")
    return pd.DataFrame({c: wide[(c, 1)] - wide[(c, 0)] for c in columns}).dropna().reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="national")
    parser.add_argument("--seed", type=int, default=20261213)
    parser.add_argument("--analysis", default="fdi")
    parser.add_argument("--design", default="robust")
    parser.add_argument("--param", action="append", default=[], help="world parameter override, name=value")
    args = parser.parse_args()
    overrides = {name: float(value) for name, value in (item.split("=", 1) for item in args.param)}
    world = generate(preset=args.preset, seed=args.seed, n_establishments=100, **overrides)
    wp = did.white_paper_did(world, args.analysis, horizons=[5], pre_horizons=[], design=args.design,
                             outcomes=["sales", "employees", "capital_stock", "tfp"])
    pd.set_option("display.width", 200)
    print(f"{args.analysis}, {args.design} design, '{args.preset}' world seed {args.seed} {overrides or ''}, t+5")
    table = did.bias_decomposition(wp.changes, world, args.analysis).drop(columns="horizon")
    print("\nestimate − truth = selection − controls_pull (percentage points)")
    print(table.set_index(["group", "outcome"]).round(3).to_string())
    print("\ncapital: pair gap in the untreated log change (×100) regressed on the pair gaps in true ω (t−1), log "
          "capital (t−1), capital growth t−2→t−1, log paid-in capital (target proxy)")
    for group, part in _capital_pairs(wp, world, args.analysis).groupby("group"):
        fit = smf.ols(f"untreated ~ {' + '.join(REGRESSORS)}", part).fit()
        shares = {name: 100 * fit.params[name] * part[name].mean() for name in REGRESSORS}
        print(f"  {group}: mean gap {100 * part['untreated'].mean():+.3f}; explained by "
              + ", ".join(f"{name} {value:+.3f}" for name, value in shares.items())
              + f"; unexplained {100 * fit.params['Intercept']:+.3f} (se {100 * fit.bse['Intercept']:.3f}); "
              f"slope on ω {fit.params['omega_base']:+.3f} (se {fit.bse['omega_base']:.3f}), "
              f"mean ω gap {100 * part['omega_base'].mean():+.3f}")


if __name__ == "__main__":
    main()
