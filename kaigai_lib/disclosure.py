"""Disclosure control (秘匿処理) for results leaving a secure environment.

Official microdata (企業活動基本調査, 海外事業活動基本調査, 工業統計調査) may
leave a secure room only as aggregates that cannot reveal a single firm. The
rules here are the usual two, with parameters set in the run's config:

* **minimum count** — a cell built from fewer than ``min_firms`` distinct
  firms (default 3) is suppressed;
* **dominance** — a cell whose ``dominance_n`` largest contributors (default
  2) hold more than ``dominance_share`` (default 0.85) of its total is
  suppressed: one firm could subtract its own value and learn another's.

:func:`protect` applies them to a table whose rows are cells, given each
cell's contributors, blanks the values of failing cells, and adds the columns
``n_firms``, ``dominance_share``, ``suppressed`` and ``suppression_reason``.
:func:`write_manifest` records the rules and every protected file; and
:func:`check_folder` (``kaigai check-disclosure DIR``) re-checks a results
folder from those columns alone — a tampered value, a dropped flag, or a
microdata column makes it fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MANIFEST = "disclosure.json"
# Columns that identify a unit of the microdata: never allowed in an output.
IDENTIFIER_COLUMNS = ("firm_id", "establishment_id", "kigyo_bango", "jigyosho_bango")
PROTECTION_COLUMNS = ("n_firms", "dominance_share", "suppressed", "suppression_reason")


@dataclass(frozen=True)
class DisclosureRules:
    """Thresholds of the minimum-count and dominance rules."""

    min_firms: int = 3
    dominance_n: int = 2
    dominance_share: float = 0.85

    def __post_init__(self) -> None:
        if not (isinstance(self.min_firms, int) and self.min_firms >= 1):
            raise ValueError(f"disclosure.min_firms={self.min_firms!r}: a whole number ≥ 1.")
        if not (isinstance(self.dominance_n, int) and self.dominance_n >= 1):
            raise ValueError(f"disclosure.dominance_n={self.dominance_n!r}: a whole number ≥ 1.")
        if not (0 < self.dominance_share <= 1):
            raise ValueError(f"disclosure.dominance_share={self.dominance_share!r}: a share in (0, 1].")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> DisclosureRules:
        values = dict(values or {})
        unknown = sorted(set(values) - {"min_firms", "dominance_n", "dominance_share"})
        if unknown:
            raise ValueError(f"unknown disclosure setting(s) {unknown}: use min_firms, dominance_n, "
                             "dominance_share.")
        return cls(**values)


@dataclass(frozen=True)
class CellCheck:
    n_firms: int
    dominance_share: float
    passes: bool
    reason: str


def check_cell(firm_ids: Sequence[Any] | np.ndarray, magnitudes: Sequence[float] | np.ndarray | None,
               rules: DisclosureRules) -> CellCheck:
    """Apply both rules to one cell.

    ``firm_ids``: the firm behind each contribution (a firm may contribute
    several rows; contributions are summed per firm). ``magnitudes``: each
    contribution's size (e.g. sales, |growth|); ``None`` applies the count
    rule only.
    """
    ids = pd.Series(np.asarray(firm_ids))
    n_firms = int(ids.nunique())
    share = 0.0
    if magnitudes is not None and n_firms > 0:
        per_firm = pd.Series(np.abs(np.asarray(magnitudes, dtype=float))).groupby(ids.to_numpy()).sum()
        total = per_firm.sum()
        if total > 0:
            share = float(per_firm.nlargest(rules.dominance_n).sum() / total)
    if n_firms < rules.min_firms:
        return CellCheck(n_firms, share, False, f"fewer than {rules.min_firms} firms")
    if share > rules.dominance_share:
        return CellCheck(n_firms, share, False,
                         f"{rules.dominance_n} largest firms hold more than {rules.dominance_share:.0%}")
    return CellCheck(n_firms, share, True, "")


def protect(table: pd.DataFrame, cells: Mapping[Any, tuple[Sequence[Any], Sequence[float] | None]],
            value_columns: Iterable[str], rules: DisclosureRules) -> pd.DataFrame:
    """Apply the rules to every row of ``table``.

    ``cells`` maps each row's index label to ``(firm_ids, magnitudes)`` of
    the microdata behind it. Rows without an entry are suppressed (unknown
    contributors never pass). Values in ``value_columns`` of failing rows
    are blanked.
    """
    checks = [check_cell(*cells[label], rules) if label in cells
              else CellCheck(0, np.nan, False, "contributors unknown") for label in table.index]
    return apply_checks(table, checks, value_columns)


def apply_checks(table: pd.DataFrame, checks: Sequence[CellCheck], value_columns: Iterable[str]) -> pd.DataFrame:
    """Add the protection columns from one :class:`CellCheck` per row and blank the failing rows' values."""
    out = table.copy()
    out["n_firms"] = [c.n_firms for c in checks]
    out["dominance_share"] = [round(float(c.dominance_share), 6) for c in checks]
    out["suppressed"] = [not c.passes for c in checks]
    out["suppression_reason"] = [c.reason for c in checks]
    columns = list(value_columns)
    out[columns] = out[columns].astype(float)
    out.loc[out["suppressed"], columns] = np.nan
    return out


def write_manifest(folder: str | Path, rules: DisclosureRules, files: Mapping[str, Sequence[str]],
                   figures: Mapping[str, Sequence[str]] | None = None) -> Path:
    """Record the rules, each protected CSV with its value columns, and each figure with its source tables."""
    path = Path(folder) / MANIFEST
    path.write_text(json.dumps({"rules": asdict(rules), "tables": {k: list(v) for k, v in files.items()},
                                "figures": {k: list(v) for k, v in (figures or {}).items()}},
                               indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def check_folder(folder: str | Path) -> list[str]:
    """Re-check a results folder; return every problem found (empty: it passes).

    Checks: the manifest exists and names every CSV in the folder; no CSV has
    a microdata identifier column; every protected table has the protection
    columns; every row marked as passing meets the rules recorded in the
    manifest; every suppressed row has its values blank; every figure listed
    comes from protected tables.
    """
    folder = Path(folder)
    problems: list[str] = []
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        return [f"{manifest_path}: no disclosure manifest; the folder was not written by kaigai replicate."]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        rules = DisclosureRules(**manifest["rules"])
        tables: dict[str, list[str]] = manifest["tables"]
    except (ValueError, KeyError, TypeError) as error:
        return [f"{manifest_path}: unreadable manifest ({error})."]
    csvs = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv"))
    for name in csvs:
        if name not in tables:
            problems.append(f"{name}: not in the manifest, so it was not disclosure-checked.")
    for name, value_columns in tables.items():
        path = folder / name
        if not path.exists():
            problems.append(f"{name}: listed in the manifest but missing.")
            continue
        table = pd.read_csv(path)
        identifiers = [c for c in table.columns if c.lower() in IDENTIFIER_COLUMNS]
        if identifiers:
            problems.append(f"{name}: has microdata identifier column(s) {identifiers}.")
        absent = [c for c in (*PROTECTION_COLUMNS, *value_columns) if c not in table.columns]
        if absent:
            problems.append(f"{name}: lacks column(s) {absent}.")
            continue
        suppressed = table["suppressed"].astype(str).str.lower().isin(["true", "1"])
        shown = ~suppressed
        small = shown & (table["n_firms"] < rules.min_firms)
        dominated = shown & (table["dominance_share"] > rules.dominance_share)
        leaked = suppressed & table[value_columns].notna().any(axis=1)
        for mask, what in ((small, f"fewer than {rules.min_firms} firms but shown"),
                           (dominated, f"dominance share above {rules.dominance_share} but shown"),
                           (leaked, "suppressed but values still present")):
            if mask.any():
                rows = ", ".join(str(i + 2) for i in np.nonzero(mask.to_numpy())[0][:5])  # CSV line numbers
                problems.append(f"{name}: {int(mask.sum())} row(s) {what} (lines {rows}).")
    for figure, sources in manifest.get("figures", {}).items():
        if not (folder / figure).exists():
            problems.append(f"{figure}: listed figure missing.")
        for source in sources:
            if source not in tables:
                problems.append(f"{figure}: drawn from {source}, which is not a protected table.")
    return problems
