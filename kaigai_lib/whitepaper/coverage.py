"""Coverage of the white paper DiD's 95 % intervals: many synthetic worlds, the whole design, estimates vs truth.

Slow (one world and one :func:`~kaigai_lib.whitepaper.did_design.white_paper_did` per seed): the tests run a
few tiny worlds, ``benchmarks/did_coverage.py`` the full study.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kaigai_lib.whitepaper.did_design import white_paper_did, white_paper_did_both
from kaigai_lib.whitepaper.samples import MATCHING_DESIGNS
from kaigai_lib.world.synthetic import generate


def coverage_replication(seed: int, *, preset: str = "tiny", horizon: int = 5,
                         analyses: Sequence[str] = ("export", "fdi"), scale: str = "percent",
                         designs: Sequence[str] = ("white_paper",), cluster: str | Sequence[str] | None = None,
                         world_params: dict[str, Any] | None = None) -> pd.DataFrame:
    """One replication of the coverage study: a fresh world, the white paper's whole DiD, estimates vs truth.

    The whole pipeline runs — Levinsohn–Petrin TFP, matching, event-time
    changes, regressions — at one ``horizon``; the truth is the realised
    ATT of the starters in each cell (:func:`~kaigai_lib.whitepaper.did_design.true_effects`). Returns one
    row per design × analysis × group × outcome with ``seed``, ``design``
    (each of ``designs``: "white_paper", "robust", "robust_no_investment", "robust_no_intermediates", or
    one with "+clean" for clean controls, e.g. "robust+clean": :func:`design_options`), the estimate, its
    interval, the truth and ``covered``; a cell with too few firms for a
    regression has NaN estimates and ``covered`` NaN (counted apart, never as a miss).
    """
    params = {"n_establishments": 100, **(world_params or {})}
    world = generate(preset=preset, seed=int(seed), **params)
    frames = []
    for design in designs:
        options = {"horizons": [horizon], "pre_horizons": [], "scale": scale, "cluster": cluster,
                   **design_options(design)}
        if options.pop("other_start"):
            results = white_paper_did_both(world, analyses=analyses, **options)
        else:
            results = {analysis: white_paper_did(world, analysis, **options) for analysis in analyses}
        frames += [results[analysis].compare(horizon).assign(design=design) for analysis in analyses]
    out = pd.concat(frames, ignore_index=True).assign(seed=int(seed))
    out["covered"] = out["covered"].where(out["estimate"].notna())
    return out


def design_options(label: str) -> dict[str, Any]:
    """Options of ``white_paper_did`` for a design label: "robust", "robust+clean" (clean controls),
    "robust+adjust" (controls' own later effects subtracted) or "robust+adjust+other" (also the other start's
    effects subtracted, :func:`~kaigai_lib.whitepaper.did_design.white_paper_did_both`; ``other_start`` True)."""
    design, *extras = label.split("+")
    options: dict[str, Any] = {"design": design, "control_pool": "all", "later_starts": "keep",
                               "other_start": False}
    for extra in extras:
        if extra == "clean":
            options["control_pool"] = "clean"
        elif extra == "adjust":
            options["later_starts"] = "adjust"
        elif extra == "other" and "adjust" in extras:
            options["other_start"] = True
        else:
            design = ""
    if design not in MATCHING_DESIGNS:
        raise ValueError(f"design {label!r}: use a matching design {list(MATCHING_DESIGNS)}, optionally with "
                         "'+clean' (clean controls) or '+adjust' (later starts adjusted) and then '+other' (the "
                         "other start's effects subtracted too), e.g. 'robust+clean' or 'robust+adjust+other'.")
    return options


def coverage_study(seeds: Iterable[int], *, n_jobs: int = 1, **options: Any) -> pd.DataFrame:
    """``coverage_replication`` for every seed (in parallel with ``n_jobs`` > 1, via joblib).

    Each seed draws a fresh world and runs the white paper's whole DiD on it
    (Levinsohn–Petrin TFP, matching, event-time changes, regressions), so a
    seed takes about a second on the tiny preset.

    Parameters
    ----------
    seeds : iterable of int
        One world per seed.
    n_jobs : int, default 1
        Worlds run in parallel (joblib processes); 1 runs them in turn.
    **options : Any
        Options of ``coverage_replication``: ``preset`` ("tiny"),
        ``horizon`` (5), ``analyses`` (export and FDI), ``scale``
        ("percent"), ``designs`` (("white_paper",); e.g. "robust+clean"),
        ``cluster`` and ``world_params``.

    Returns
    -------
    pandas.DataFrame
        One row per seed × design × analysis × group × outcome: the
        estimate with its ``std_error`` and 95 % interval, the ``truth``
        (the realised ATT of the cell's starters), ``bias``, ``covered``
        (NaN where a cell had too few firms for a regression), ``analysis``,
        ``design`` and ``seed``.

    See Also
    --------
    coverage_summary : Coverage and z-scores from these cells.

    Examples
    --------
    >>> from kaigai_lib import coverage_study
    >>> cells = coverage_study([0, 1], analyses=["fdi"])
    >>> cells.groupby("seed").size()
    seed
    0    10
    1    10
    dtype: int64
    >>> cells[["seed", "outcome", "group", "estimate", "truth", "covered"]].head(2).round(2)
       seed        outcome              group  estimate  truth  covered
    0     0  capital_stock      manufacturing     10.01   9.80     True
    1     0  capital_stock  non-manufacturing      4.72   2.16     True
    """
    seeds = list(seeds)
    if n_jobs == 1:
        frames = [coverage_replication(s, **options) for s in seeds]
    else:
        from joblib import Parallel, delayed

        frames = Parallel(n_jobs=n_jobs)(delayed(coverage_replication)(s, **options) for s in seeds)
    return pd.concat(frames, ignore_index=True)


def coverage_summary(cells: pd.DataFrame, by: str | Sequence[str] = "outcome") -> pd.DataFrame:
    """Share of 95 % intervals containing the truth, with its binomial standard error and the mean z-score.

    ``z`` = (estimate − truth) / std_error: a mean far from 0 is bias, a
    standard deviation above 1 means the standard errors are too small.
    Cells without an estimate are counted in ``n_missing``.

    Parameters
    ----------
    cells : pandas.DataFrame
        Cells with ``estimate``, ``std_error``, ``truth`` and ``covered``, as
        :func:`coverage_study` returns them.
    by : str or sequence of str, default "outcome"
        The column(s) to summarise by.

    Returns
    -------
    pandas.DataFrame
        One row per value of ``by``: ``intervals`` (cells with an estimate),
        ``coverage``, ``binomial_se``, ``mean_z``, ``sd_z`` and ``n_missing``.

    See Also
    --------
    coverage_study : The cells.

    Examples
    --------
    >>> import pandas as pd
    >>> from kaigai_lib import coverage_summary
    >>> cells = pd.DataFrame({"outcome": ["sales", "sales", "sales", "tfp"],
    ...                       "estimate": [1.2, 0.4, None, 2.0], "std_error": [0.5, 0.5, None, 1.0],
    ...                       "truth": [1.0, 1.5, 1.0, 0.5], "covered": [True, False, None, True]})
    >>> coverage_summary(cells).round(2)
             intervals  coverage  binomial_se  mean_z  sd_z  n_missing
    outcome
    sales            2       0.5         0.35    -0.9  1.84          1
    tfp              1       1.0         0.00     1.5   NaN          0
    """
    data = cells.assign(z=(cells["estimate"] - cells["truth"]) / cells["std_error"])
    grouped = data.groupby(by, observed=True)
    out = grouped.agg(intervals=("covered", "count"), coverage=("covered", "mean"), mean_z=("z", "mean"),
                      sd_z=("z", "std"), n_missing=("estimate", lambda s: int(s.isna().sum())))
    out["coverage"] = out["coverage"].astype(float)
    out["binomial_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["intervals"])
    return out[["intervals", "coverage", "binomial_se", "mean_z", "sd_z", "n_missing"]]
