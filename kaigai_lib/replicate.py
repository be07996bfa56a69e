"""The white paper's whole pipeline on an analyst's files: ``kaigai replicate``.

Stages (each logged, with a progress bar):

1. **read and validate** the three inputs (``firms``, ``establishments``,
   ``foreign_demand``; CSV or Parquet) after mapping the analyst's column
   names through the config — every problem in every file is listed at once;
2. **TFP**: Levinsohn–Petrin by industry (:mod:`kaigai_lib.tfp`);
3. **exports** and 4. **FDI**: propensity matching and matched
   difference-in-differences (:func:`kaigai_lib.did.white_paper_did`);
5. **distributions**: TFP and compensation per employee of Japanese firms
   with/without FDI and foreign-owned firms (Figures II-2-4-2/3);
6. **spillovers**: 5 km catchments and the panel fixed-effects model
   (:mod:`kaigai_lib.spatial`, Figure II-2-4-4).

Every output table goes through disclosure control (:mod:`kaigai_lib.disclosure`);
figures are drawn from the protected tables only; no microdata row is written.
Results are written to a temporary folder next to ``--out`` and moved into
place at the end, so a failed run leaves ``--out`` untouched. Inputs written
by ``kaigai generate`` (a ``kaigai_world.json`` beside the firm file) get a
``truth`` column from the regenerated world.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kaigai_lib.disclosure import (
    CellCheck,
    DisclosureRules,
    apply_checks,
    check_cell,
    check_folder,
    write_manifest,
)
from kaigai_lib.schema import SCHEMAS, SchemaError, validate

TABLES = ("firms", "establishments", "foreign_demand")
EFFECT_COLUMNS = ["analysis", "group", "outcome", "horizon", "estimate", "std_error", "p_value", "ci_low",
                  "ci_high", "n_treated", "n_control"]
ANALYSIS_DEFAULTS: dict[str, Any] = {
    "export_horizons": 5, "fdi_horizons": 10, "placebo_horizons": [-3, -2],
    "first_export_start_year": 1998, "first_fdi_start_year": 1996,
    "radius_km": 5.0, "global_firm_capital": 1000.0, "foreign_owned_ratio": 33.3,
    "did_design": "white_paper",  # or "robust": also match on growth t−2→t−1 and TFP at t−2 (did.white_paper_did)
}
TFP_DEFAULTS: dict[str, Any] = {"poly_order": 3}


class ReplicationError(ValueError):
    """A problem with the inputs or the config, reported without a traceback."""


@dataclass
class Config:
    columns: dict[str, dict[str, str]] = field(default_factory=lambda: {t: {} for t in TABLES})
    disclosure: DisclosureRules = field(default_factory=DisclosureRules)
    analysis: dict[str, Any] = field(default_factory=lambda: dict(ANALYSIS_DEFAULTS))
    tfp: dict[str, Any] = field(default_factory=lambda: dict(TFP_DEFAULTS))


def read_config(path: str | Path | None) -> Config:
    """Read ``replicate.toml``; every unknown section or key is an error naming it."""
    config = Config()
    if path is None:
        return config
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ReplicationError(f"config {path} not found.") from error
    except tomllib.TOMLDecodeError as error:
        raise ReplicationError(f"config {path} is not valid TOML: {error}") from error
    problems = []
    for section in sorted(set(raw) - {"columns", "disclosure", "analysis", "tfp"}):
        problems.append(f"unknown section [{section}] (use columns, disclosure, analysis, tfp)")
    for table, mapping in raw.get("columns", {}).items():
        if table not in TABLES:
            problems.append(f"[columns.{table}]: unknown table (use {', '.join(TABLES)})")
            continue
        known = {c.name for c in SCHEMAS[table].columns}
        for source, target in mapping.items():
            if target not in known:
                problems.append(f"[columns.{table}] {source} = {target!r}: {target!r} is not a column of the "
                                f"{table} schema")
        config.columns[table] = dict(mapping)
    for section, defaults, target in (("analysis", ANALYSIS_DEFAULTS, config.analysis),
                                      ("tfp", TFP_DEFAULTS, config.tfp)):
        for key, value in raw.get(section, {}).items():
            if key not in defaults:
                problems.append(f"[{section}] {key}: unknown setting (known: {', '.join(defaults)})")
            else:
                target[key] = value
    try:
        config.disclosure = DisclosureRules.from_mapping(raw.get("disclosure"))
    except (TypeError, ValueError) as error:
        problems.append(f"[disclosure]: {error}")
    if problems:
        raise ReplicationError(f"config {path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return config


def read_table(path: str | Path, table: str) -> pd.DataFrame:
    """Read a CSV or Parquet file; a missing, empty or unreadable file is a clear error."""
    path = Path(path)
    if not path.exists():
        raise ReplicationError(f"--{table.replace('_', '-')}: {path} does not exist.")
    if path.stat().st_size == 0:
        raise ReplicationError(f"--{table.replace('_', '-')}: {path} is empty.")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    try:
        if suffix in (".parquet", ".pq"):
            data = pd.read_parquet(path)
        elif suffix in (".csv", ".csv.gz"):
            data = pd.read_csv(path)
        else:
            raise ReplicationError(f"--{table.replace('_', '-')}: {path} is neither CSV (.csv, .csv.gz) nor "
                                   "Parquet (.parquet); convert it to one of them.")
    except ReplicationError:
        raise
    except Exception as error:  # pyarrow and the CSV parser raise many kinds
        raise ReplicationError(f"--{table.replace('_', '-')}: cannot read {path} as {suffix[1:]}: "
                               f"{type(error).__name__}: {error}") from error
    if data.empty:
        raise ReplicationError(f"--{table.replace('_', '-')}: {path} has no rows.")
    return data


def validate_inputs(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, pd.DataFrame]:
    """Map column names and validate all three tables; raise one error listing every problem."""
    problems: list[str] = []
    checked = {}
    for name, data in tables.items():
        try:
            checked[name] = validate(data, name, rename=config.columns.get(name) or None)
        except SchemaError as error:
            problems += [f"{name}: {p}" for p in error.problems]
    if "firms" in checked:
        firms = checked["firms"]
        if firms["industry"].nunique() < 2:
            problems.append(f"firms: only one industry ({firms['industry'].iloc[0]!r}); the analyses compare "
                            "and control for industries — check the industry column and its mapping.")
        for status in ("exporter", "fdi"):
            started = firms.sort_values(["firm_id", "year"]).groupby("firm_id")[status].apply(
                lambda s: bool((s.astype(int).diff() == 1).any()))
            if not started.any():
                problems.append(f"firms: no firm switches '{status}' from 0 to 1, so there are no starters to "
                                "evaluate.")
    if problems:
        raise ReplicationError(f"the inputs have {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return checked


# --------------------------------------------------------------------------- disclosure helpers

def _pair_check(treated: tuple[np.ndarray, np.ndarray], control: tuple[np.ndarray, np.ndarray],
                rules: DisclosureRules) -> CellCheck:
    """A difference of two groups' means: both groups must pass on their own."""
    a, b = check_cell(*treated, rules), check_cell(*control, rules)
    reason = "; ".join(f"{who}: {c.reason}" for who, c in (("starters", a), ("controls", b)) if not c.passes)
    return CellCheck(min(a.n_firms, b.n_firms), max(a.dominance_share, b.dominance_share), a.passes and b.passes,
                     reason)


# --------------------------------------------------------------------------- stages

@dataclass
class Run:
    inputs: dict[str, pd.DataFrame]
    config: Config
    out: Path
    log: logging.Logger
    world: Any = None
    tables: dict[str, list[str]] = field(default_factory=dict)  # protected CSV -> value columns
    figures: dict[str, list[str]] = field(default_factory=dict)  # figure -> source tables
    firms: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    peak_memory_gb: dict[str, float] = field(default_factory=dict)  # process peak RSS after each stage

    def write(self, name: str, table: pd.DataFrame, value_columns: list[str]) -> pd.DataFrame:
        table.to_csv(self.out / name, index=False)
        self.tables[name] = value_columns
        return table

    def save_figure(self, figure: Any, stem: str, sources: list[str]) -> None:
        import matplotlib.pyplot as plt

        for suffix in ("png", "svg"):
            figure.savefig(self.out / f"{stem}.{suffix}", dpi=120, bbox_inches="tight")
            self.figures[f"{stem}.{suffix}"] = sources
        plt.close(figure)


def stage_tfp(run: Run) -> None:
    from kaigai_lib import tfp

    firms = tfp.log_columns(run.inputs["firms"], ["value_added", "employees", "capital_stock",
                                                  "intermediate_inputs"])
    result = tfp.levinsohn_petrin(firms, "log_value_added", "log_employees", "log_capital_stock",
                                  "log_intermediate_inputs", "firm_id", "year", by="industry",
                                  poly_order=int(run.config.tfp["poly_order"]), progress=False)
    firms["tfp"] = result.tfp(firms)
    firms["compensation_per_employee"] = firms["compensation"] / firms["employees"]
    run.firms = firms
    table = result.summary()
    checks = []
    for industry in table["industry"]:
        rows = firms.loc[firms["industry"] == industry]
        checks.append(check_cell(rows["firm_id"].to_numpy(), rows["value_added"].to_numpy(),
                                 run.config.disclosure))
    if run.world is not None:
        truth = run.world.truth.production.set_index("industry")
        names = {"log_employees": "beta_labour", "log_capital_stock": "beta_capital"}
        table["truth"] = [truth.loc[i, names[x]] if i in truth.index else np.nan
                          for i, x in zip(table["industry"], table["input"], strict=True)]
    values = ["coef", "std_error", "z", "ci_low", "ci_high"]
    run.write("production.csv", apply_checks(table, checks, values), values)
    run.log.info("TFP: LP by industry for %d industries", table["industry"].nunique())


def stage_did(run: Run, analysis: str) -> pd.DataFrame:
    """Matched DiD for one analysis; returns its protected rows of effects.csv."""
    from kaigai_lib.did import white_paper_did

    settings = run.config.analysis
    horizons = range(1, int(settings[f"{analysis}_horizons"]) + 1)
    wp = white_paper_did(run.firms, analysis, horizons=horizons, pre_horizons=list(settings["placebo_horizons"]),
                         first_start_year=int(settings[f"first_{analysis}_start_year"]), tfp_col="tfp",
                         world=run.world, design=str(settings["did_design"]))
    table = wp.result.table.copy()
    table.insert(0, "analysis", analysis)
    changes = wp.changes.table
    column = "change_pct" if wp.scale == "percent" else "change_log"
    checks = []
    for row in table.itertuples():
        cell = changes.loc[(changes["outcome"] == row.outcome) & (changes["horizon"] == row.horizon)
                           & (changes["group"] == row.group)]
        treated, control = cell.loc[cell["treated"] == 1], cell.loc[cell["treated"] == 0]
        checks.append(_pair_check((treated[wp.changes.id].to_numpy(), treated[column].to_numpy()),
                                  (control[wp.changes.id].to_numpy(), control[column].to_numpy()),
                                  run.config.disclosure))
    if wp.truth is not None:
        # the realised ATT of the matched starters in each cell, on the estimate's scale
        truth = wp.truth.rename(columns={"true_pct" if wp.scale == "percent" else "true_log": "truth"})
        keys = ["outcome", "group", "horizon"]
        table = table.merge(truth[[*keys, "truth"]], on=keys, how="left")
        table.loc[table["horizon"] < 0, "truth"] = table.loc[table["horizon"] < 0, "truth"].fillna(0.0)
    table = apply_checks(table, checks, ["estimate", "std_error", "p_value", "ci_low", "ci_high"])
    run.log.info("%s: %d matched starters; %d cells, %d suppressed", analysis,
                 int(wp.match.counts["matched_treated"]), len(table), int(table["suppressed"].sum()))
    return table


def stage_distributions(run: Run) -> None:
    from kaigai_lib import figures

    firms = run.firms.loc[run.firms["manufacturing"].astype(bool)].copy()
    firms["tfp_relative"] = firms["tfp"] - firms.groupby(["industry", "year"])["tfp"].transform("mean")
    groups = figures.ownership_groups(firms, threshold=float(run.config.analysis["foreign_owned_ratio"]))
    firms["ownership"] = np.asarray(groups, dtype=object)
    rules = run.config.disclosure
    rows, checks = [], []
    for variable in ("tfp_relative", "compensation_per_employee"):
        for group, part in firms.groupby("ownership"):
            values = part[variable].to_numpy(float)
            c = check_cell(part["firm_id"].to_numpy(), np.abs(values), rules)
            # each percentile is the mean of the 2·min_firms observations nearest to it in rank,
            # so no single firm's value is ever shown
            k = 2 * rules.min_firms
            ordered = np.sort(values)
            stats = {"mean": float(values.mean())}
            for q in (10, 25, 50, 75, 90):
                centre = round(q / 100 * (len(ordered) - 1))
                lo = max(0, min(centre - k // 2, len(ordered) - k))
                stats[f"p{q}"] = float(ordered[lo:lo + k].mean()) if len(ordered) >= k else np.nan
            rows.append({"variable": variable, "group": group, **stats})
            checks.append(c)
    values = ["mean", "p10", "p25", "p50", "p75", "p90"]
    table = apply_checks(pd.DataFrame(rows), checks, values)
    run.write("distributions.csv", table, values)
    figure = _plot_distribution_table(table)
    run.save_figure(figure, "fig_II-2-4-2_3_distributions", ["distributions.csv"])


def _plot_distribution_table(table: pd.DataFrame) -> Any:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    titles = {"tfp_relative": "全要素生産性 (TFP, log, relative to industry-year mean)",
              "compensation_per_employee": "一人当たり雇用者報酬 (million yen)"}
    for ax, (variable, part) in zip(axes, table.groupby("variable", sort=False), strict=False):
        part = part.loc[~part["suppressed"]].reset_index(drop=True)
        for i, row in part.iterrows():
            ax.plot([row["p10"], row["p90"]], [i, i], color="grey")
            ax.plot([row["p25"], row["p75"]], [i, i], color="tab:blue", linewidth=6, solid_capstyle="butt")
            ax.plot(row["p50"], i, "o", color="white", markeredgecolor="black")
        ax.set_yticks(range(len(part)), part["group"])
        ax.set_title(titles.get(variable, variable), fontsize="small")
    fig.tight_layout()
    return fig


def stage_spatial(run: Run) -> pd.DataFrame:
    from kaigai_lib import spatial

    settings = run.config.analysis
    catchments = spatial.build_catchments(run.inputs["establishments"], run.inputs["firms"],
                                          radius_km=float(settings["radius_km"]),
                                          min_capital=float(settings["global_firm_capital"]))
    result = spatial.fit_spillover(catchments, run.inputs["foreign_demand"],
                                   truth=run.world.truth.spillover if run.world is not None else None)
    table = result.table().reset_index()
    # contributors: the firms owning the receiving establishments, weighted by their exports
    members = catchments.members.merge(
        run.inputs["establishments"][["establishment_id", "year", "firm_id", "exports"]],
        on=["establishment_id", "year"], how="left")
    c = check_cell(members["firm_id"].to_numpy(), members["exports"].to_numpy(), run.config.disclosure)
    values = [col for col in table.columns if table[col].dtype.kind == "f" and col != "truth"]
    protected = apply_checks(table, [c] * len(table), values)
    run.write("spillover.csv", protected, values)
    decomposition = result.decomposition().reset_index()
    dvalues = [col for col in decomposition.columns if decomposition[col].dtype.kind == "f"]
    run.write("spillover_decomposition.csv",
              apply_checks(decomposition, [c] * len(decomposition), dvalues), dvalues)
    if c.passes:
        run.save_figure(result.plot_decomposition(), "fig_II-2-4-4_spillover_decomposition",
                        ["spillover.csv", "spillover_decomposition.csv"])
    run.log.info("spillovers: %d centres, overlap share %.3f", len(catchments.centres), catchments.overlap_share)
    return protected


# --------------------------------------------------------------------------- the command

def _peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kilobytes on Linux


def _world_for(firms_path: Path) -> Any:
    """The generated world behind the inputs, if they came from ``kaigai generate``."""
    marker = firms_path.parent / "kaigai_world.json"
    if not marker.exists():
        return None
    from kaigai_lib.synthetic import generate

    meta = json.loads(marker.read_text(encoding="utf-8"))
    return generate(preset=meta["preset"], seed=int(meta["seed"]))


def _report(run: Run, effects: pd.DataFrame) -> None:
    parts = ["<html><head><meta charset='utf-8'><title>kaigai replication report</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
             "</head><body>", "<h1>kaigai replication report</h1>",
             f"<p>Disclosure rules: at least {run.config.disclosure.min_firms} firms per cell; the "
             f"{run.config.disclosure.dominance_n} largest firms may hold at most "
             f"{run.config.disclosure.dominance_share:.0%} of a cell. Suppressed cells are blank.</p>",
             "<h2>Stage times</h2>", pd.Series(run.timings, name="seconds").round(1).to_frame().to_html()]
    for figure in sorted(f for f in run.figures if f.endswith(".png")):
        parts.append(f"<h2>{figure[:-4]}</h2><img src='{figure}' style='max-width:100%'>")
    shown = effects.query("horizon == 5") if "horizon" in effects else effects
    parts += ["<h2>Effects at horizon 5 (effects.csv has every horizon)</h2>", shown.to_html(index=False),
              "</body></html>"]
    (run.out / "report.html").write_text("\n".join(parts), encoding="utf-8")


def replicate(firms: str | Path, establishments: str | Path, foreign_demand: str | Path, out: str | Path,
              config: str | Path | None = None, *, force: bool = False, progress: bool = True,
              echo: Callable[[str], None] = print) -> Run:
    """Run the whole pipeline; write the outputs into ``out`` only if everything succeeds.

    Returns the :class:`Run` (stage times and peak memory, the tables and figures written).
    """
    from tqdm.auto import tqdm

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise ReplicationError(f"--out {out} is not empty: choose another folder, or add --force to replace it.")
    settings = read_config(config)
    paths = {"firms": Path(firms), "establishments": Path(establishments), "foreign_demand": Path(foreign_demand)}
    inputs = {name: read_table(path, name) for name, path in paths.items()}
    inputs = validate_inputs(inputs, settings)
    parent = out.parent if out.parent.exists() else Path.cwd()
    staging = Path(tempfile.mkdtemp(prefix=".kaigai-replicate-", dir=parent))
    log = logging.getLogger(f"kaigai.replicate.{staging.name}")
    log.setLevel(logging.INFO)
    log.propagate = False  # the run's log goes to run.log; the terminal shows the progress bar
    handler = logging.FileHandler(staging / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    try:
        run = Run(inputs=inputs, config=settings, out=staging, log=log, world=_world_for(paths["firms"]))
        if run.world is not None:
            log.info("inputs written by kaigai generate: truth attached")
        stages = ["TFP (Levinsohn–Petrin)", "exports: matching + DiD", "FDI: matching + DiD",
                  "TFP and wage distributions", "spatial spillovers"]
        effects_parts = []
        bar = tqdm(stages, desc="kaigai replicate", disable=not progress, leave=False)
        for stage in bar:
            bar.set_postfix_str(stage)
            started = time.perf_counter()
            try:
                if stage.startswith("TFP ("):
                    stage_tfp(run)
                elif stage.startswith("exports"):
                    effects_parts.append(stage_did(run, "export"))
                elif stage.startswith("FDI"):
                    effects_parts.append(stage_did(run, "fdi"))
                elif stage.startswith("TFP and"):
                    stage_distributions(run)
                else:
                    stage_spatial(run)
            except ReplicationError:
                raise
            except (ValueError, KeyError) as error:
                raise ReplicationError(f"stage '{stage}': {error}") from error
            run.timings[stage] = time.perf_counter() - started
            run.peak_memory_gb[stage] = _peak_rss_gb()
            log.info("stage %s done in %.1f s (peak memory so far %.2f GB)", stage, run.timings[stage],
                     run.peak_memory_gb[stage])
        effects = pd.concat(effects_parts, ignore_index=True)
        order = [*EFFECT_COLUMNS, *(["truth"] if "truth" in effects else []),
                 "n_firms", "dominance_share", "suppressed", "suppression_reason"]
        effects = effects[order]
        run.write("effects.csv", effects, ["estimate", "std_error", "p_value", "ci_low", "ci_high"])
        _growth_figure(run, effects)
        _report(run, effects)
        write_manifest(staging, settings.disclosure, run.tables, run.figures)
        problems = check_folder(staging)
        if problems:
            raise ReplicationError("disclosure check failed on the results:\n  - " + "\n  - ".join(problems))
        log.removeHandler(handler)
        handler.close()
        staging.chmod(0o755)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        log.removeHandler(handler)
        handler.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    total = sum(run.timings.values())
    echo(f"kaigai replicate: wrote {len(run.tables)} tables and {len(run.figures)} figure files to {out}/ "
         f"in {total:.0f} s ({', '.join(f'{k}: {v:.0f} s' for k, v in run.timings.items())}).")
    run.out = out
    return run


def _growth_figure(run: Run, effects: pd.DataFrame) -> None:
    """Figure II-2-4-1 from the protected effects table: 5-year estimates by group, faded if p ≥ 0.05."""
    import matplotlib.pyplot as plt

    shown = effects.loc[(effects["horizon"] == 5) & ~effects["suppressed"]
                        & effects["outcome"].isin(["sales", "employees", "capital_stock", "tfp"])]
    if shown.empty:
        return
    panels = list(shown[["analysis", "group"]].drop_duplicates().itertuples(index=False, name=None))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), sharey=True, squeeze=False)
    for ax, (analysis, group) in zip(axes[0], panels, strict=True):
        part = shown.loc[(shown["analysis"] == analysis) & (shown["group"] == group)]
        alphas = np.where(part["p_value"] < 0.05, 1.0, 0.35)
        for i, (row, alpha) in enumerate(zip(part.itertuples(), alphas, strict=True)):
            ax.bar(i, row.estimate, color="tab:blue", alpha=alpha)
            ax.errorbar(i, row.estimate, yerr=[[row.estimate - row.ci_low], [row.ci_high - row.estimate]],
                        color="black", capsize=2)
        ax.set_xticks(range(len(part)), part["outcome"], rotation=45, ha="right", fontsize="small")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"{'輸出' if analysis == 'export' else '海外直接投資'} {group}", fontsize="small")
    axes[0][0].set_ylabel("5-year DiD estimate (faded: p >= 0.05)")
    fig.tight_layout()
    run.save_figure(fig, "fig_II-2-4-1_effects", ["effects.csv"])
