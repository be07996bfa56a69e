"""Where the FDI DiD's bias comes from: controls that start FDI themselves within the horizon.

Run: ``.venv/bin/python benchmarks/did_later_starters.py [--preset national] [--seed 20261213]
[--analysis fdi] [--design robust]``.

On one world, at t+5, per group × outcome: the estimate and its z = (estimate − truth) / SE for
* ``all pairs``: the library's design (later-starting controls keep their own effect);
* ``oracle``: the same pairs, each control's change cleared of its own TRUE effect (``world.latent``) —
  what the DiD would give if later starters carried no effect; the gap to ``all pairs`` is their pull;
* ``drop pairs``: the pairs whose control starts within t+1…t+5 left out (selects on the future);
* ``clean``: re-matched with clean controls (``control_pool="clean"``);
* ``adjust``: ``later_starts="adjust"`` (the controls' own effects estimated and subtracted).
Each is compared with the realised ATT of its own starters (``did.true_effects``).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from kaigai_lib.whitepaper import did_design as did
from kaigai_lib.world.synthetic import generate


def _row(name: str, changes: did.EventChanges, wp: did.WhitePaperDid) -> pd.DataFrame:
    result = did.matched_did(changes, group="group", controls=wp.controls, horizons=[5]).table
    truth = did.true_effects(changes, wp.world, wp.analysis)[["outcome", "group", "horizon", "true_pct"]]
    table = result.merge(truth, on=["outcome", "group", "horizon"])
    return table.assign(variant=name, z=(table["estimate"] - table["true_pct"]) / table["std_error"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="national")
    parser.add_argument("--seed", type=int, default=20261213)
    parser.add_argument("--analysis", default="fdi")
    parser.add_argument("--design", default="robust")
    args = parser.parse_args()
    world = generate(preset=args.preset, seed=args.seed, n_establishments=100)
    options = {"horizons": [5], "pre_horizons": [], "design": args.design}
    wp = did.white_paper_did(world, args.analysis, **options)
    table, firm = wp.changes.table, wp.changes.unit
    starts = world.firms.groupby("firm_id")[f"{args.analysis}_start_year"].min()
    controls = table.loc[table["treated"] == 0]
    own = controls[firm].map(starts)
    later = set(controls.loc[own.gt(controls["cohort"]) & own.le(controls["cohort"] + 5), "pair"])
    # the oracle: each control's change without its own true effect (t − 1 → t + h)
    latent = world.latent.set_index(["firm_id", "year"])
    parts = []
    for outcome, part in table.groupby("outcome", sort=False):
        effect = latent[f"{outcome}_{args.analysis}_effect"]
        ids = part[firm].to_numpy()
        at_h = effect.reindex(pd.MultiIndex.from_arrays([ids, part["cohort"] + part["horizon"]])).to_numpy()
        at_base = effect.reindex(pd.MultiIndex.from_arrays([ids, part["cohort"] - 1])).to_numpy()
        own_effect = np.where(part["treated"].to_numpy() == 0, at_h - at_base, 0.0)
        change = part["change_log"].to_numpy() - own_effect
        parts.append(part.assign(change_log=change, change_pct=100 * np.expm1(change)))
    oracle = did.EventChanges(table=pd.concat(parts), missing=wp.changes.missing, unit=firm,
                              horizons=wp.changes.horizons, base_missing=wp.changes.base_missing)
    dropped = did.EventChanges(table=table.loc[~table["pair"].isin(later)], missing=wp.changes.missing, unit=firm,
                               horizons=wp.changes.horizons, base_missing=wp.changes.base_missing)
    clean = did.white_paper_did(world, args.analysis, control_pool="clean", **options)
    adjust = did.white_paper_did(world, args.analysis, later_starts="adjust", **options)
    rows = pd.concat([_row("all pairs", wp.changes, wp), _row("oracle", oracle, wp), _row("drop pairs", dropped, wp),
                      _row("clean", clean.changes, clean), _row("adjust", adjust.changes, adjust)])
    pd.set_option("display.width", 200)
    print(f"{args.analysis}, {args.design} design, '{args.preset}' world seed {args.seed}, t+5, percent scale")
    print(wp.later_starters(5).round(3).to_string())
    for column in ("estimate", "z"):
        print(f"\n{column} (truth: the realised ATT of each variant's starters)")
        wide = rows.pivot_table(index=["group", "outcome"], columns="variant", values=column, sort=False)
        if column == "estimate":
            wide["truth (all pairs)"] = rows.loc[rows["variant"] == "all pairs"].set_index(
                ["group", "outcome"])["true_pct"]
        print(wide.round(3).to_string())


if __name__ == "__main__":
    main()
