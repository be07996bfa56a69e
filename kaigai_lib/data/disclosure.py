"""Disclosure control (秘匿処理) for results leaving a secure environment.

Official microdata (企業活動基本調査, 海外事業活動基本調査, 工業統計調査) may
leave a secure room only as aggregates that cannot reveal a single firm. The
rules, with parameters set in the ``[disclosure]`` section of the run's config
(defaults as ACRO's where it has one):

* **minimum count** — every *group* a published number is computed from
  (the starters and the controls of a DiD estimate, the centre firms and the
  receiving firms of a spillover coefficient, the firms around a percentile)
  has at least ``min_firms`` distinct firms (default 3);
* **n-k dominance** — the ``dominance_n`` largest firms of a group (default 2)
  hold at most ``dominance_share`` (default 0.85) of its total;
* **p % rule** — what the other firms contribute besides the two largest is
  at least ``p_percent`` % (default 10) of the largest: otherwise the second
  largest could estimate the largest's value to within p %;
* **coefficients** — a regression coefficient needs at least
  ``min_firms_coefficient`` distinct firms identifying it (default 10) and
  ``min_residual_df`` residual degrees of freedom (default 10), in every group;
* **differencing** — two published cells of one statistic whose groups are
  nested (a group and its subgroup, a total and a subtotal) may not differ by
  fewer than ``min_firms`` firms: the smaller cell is suppressed as well
  (secondary suppression, :func:`suppress_differences`).

:func:`protect` and :func:`apply_checks` blank the values of failing cells and
add the columns :data:`PROTECTION_COLUMNS`. :func:`write_manifest` writes the
output checker's report ``results.json`` (every file with its status, rule,
counts and sha256) and the manifest ``disclosure.json`` (every file, its
sha256, every table's declared columns). :func:`check_results`
(``kaigai check-disclosure DIR``) re-checks a folder **from the rules it is
given** — the secure room's, never the rules written in the folder — and
from its own knowledge of every file ``kaigai replicate`` writes
(:data:`OUTPUT_TABLES`, :data:`OTHER_FILES`, PNG/SVG figures), never from what
the folder's manifest declares.

Limits (what a folder alone cannot show): the differencing check runs on the
microdata when the tables are written; the checker cannot recompute it from
the folder. Two *runs* that differ by one firm (e.g. a capital threshold
moved so one firm leaves the centres) are not comparable from one folder:
the config has no key that selects firms by list, and ``results.json``
records every setting that shapes the sample so the output checker can
compare a new release with earlier ones.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kaigai_lib.data.free_text import (
    MAX_COLUMN_LIST,
    NEUTRAL_COLUMN,
    NEUTRAL_NAME,
    logged_extra_covariates,
    read_log,
    render_report,
)
from kaigai_lib.data.outputs import STAGING_MARKER, sha256_of
from kaigai_lib.data.schema import SCHEMAS, missing_ids
from kaigai_lib.data.starts import EXPORT_GROUPS, FDI_GROUPS

MANIFEST = "disclosure.json"
RESULTS = "results.json"
OUTPUT_MARKER = ".kaigai-output.json"  # written by kaigai_lib.data.outputs after the manifest; strictly checked here
# Columns that identify a unit of the microdata: never allowed in an output (compared after normalising, see
# looks_like_identifier_name, which also catches other spellings).
IDENTIFIER_COLUMNS = ("firm_id", "establishment_id", "kigyo_bango", "jigyosho_bango")
PROTECTION_COLUMNS = ("n_firms", "dominance_share", "p_ratio", "residual_df", "rule", "groups", "suppressed",
                      "suppression_reason")
RULE_KINDS = ("cell", "coefficient")


@dataclass(frozen=True)
class TableSchema:
    """The columns one output table may have besides :data:`PROTECTION_COLUMNS`: the checker's own knowledge,
    never the folder's manifest (a forger can declare any column there)."""

    labels: tuple[str, ...]
    values: tuple[str, ...]  # blanked in suppressed rows
    counts: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()  # e.g. the known truth of a synthetic world (public)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.labels, *self.values, *self.counts, *self.extras, *PROTECTION_COLUMNS)


EFFECT_COLUMNS = ["analysis", "group", "outcome", "horizon", "estimate", "std_error", "p_value", "ci_low",
                  "ci_high", "n_treated", "n_control"]
# every table `kaigai replicate` writes (Run.write refuses a table outside its schema, so the two cannot drift)
OUTPUT_TABLES: dict[str, TableSchema] = {
    "effects.csv": TableSchema(tuple(EFFECT_COLUMNS[:4]), tuple(EFFECT_COLUMNS[4:9]), tuple(EFFECT_COLUMNS[9:]),
                               ("truth",)),
    "production.csv": TableSchema(("industry", "input"), ("coef", "std_error", "z", "ci_low", "ci_high"),
                                  ("n_obs",), ("truth",)),
    "distributions.csv": TableSchema(("variable", "group"), ("mean", "p10", "p25", "p50", "p75", "p90")),
    "spillover.csv": TableSchema(("regressor",), ("estimate", "std_error", "t", "p_value", "ci_low", "ci_high",
                                                  "bias", "bias_in_se"), (), ("truth",)),
    "spillover_decomposition.csv": TableSchema(("term",), ("mean_change", "coefficient", "contribution",
                                                           "true_contribution")),
}

# --------------------------------------------------------------------------- labels in the outputs
#
# Every label a table carries (an analysis, a group, an outcome, an industry) is a free-text channel out of the
# secure room: a firm's name written as a label leaves with the table. Each label column's labels are either
# kaigai's own (a fixed vocabulary below: anything else is an edited file and fails) or come from the config or
# the data (``LabelRule.source``). Those are decided per value:
#
# * restricted at config validation **and** re-checked here — the ``[treatment] name`` (NEUTRAL_NAME: lowercase
#   letters and '_', no digits, which carry ids, years and amounts such as F000123 or 2403.1) and the
#   ``[treatment] outcomes`` (NEUTRAL_COLUMN: a lowercase column name without an id-like token). A config key is
#   typed by the analyst for this run, so a rule costs nothing; a firm's name can still be spelt in letters,
#   so every such label is also listed for the output checker to read (``label_reviews``);
# * flagged, not restricted — the firm file's **industry** labels (production.csv): real files hold JSIC codes
#   ("09", "E091") or names ("食料品製造業") in many forms, and no pattern tells an industry's name from a firm's;
#   each industry's coefficients rest on ≥ 20 firms (the LP minimum) and on the disclosure rules, and the labels
#   are listed for the output checker. Only an id-like token (F000123, a 13-digit 法人番号) fails outright;
# * fixed — the [treatment] groups (kaigai's size classes, checked at config validation) and every other label.

# an identifier-like token inside a label: letters then five or more digits (F000123), or five or more digits
# (a 法人番号, a firm number); JSIC codes ("09", "E0911") have at most four
ID_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,4}[-_]?[0-9]{5,}|[0-9]{5,})(?![0-9])")
NEUTRAL_NAME_RULE = "lowercase letters and '_', starting with a letter, at most 24 characters, no digits"
NEUTRAL_COLUMN_RULE = ("a column name of lowercase letters, digits and '_', starting with a letter, at most 40 "
                       "characters, with at most four digits in all (an id or an amount has more)")


@dataclass(frozen=True)
class LabelRule:
    """The labels one column of an output table may hold: kaigai's own (``known``), and — where the config or
    the data can supply others — where they come from and the rule they follow (None: any, but reviewed)."""

    known: frozenset[str]
    source: str | None = None  # None: kaigai writes every label of this column itself
    pattern: re.Pattern[str] | None = None
    rule: str = ""

    def problem(self, label: str) -> str | None:
        """Why ``label`` may not leave (None: it is kaigai's own, or a label from ``source`` within its rule)."""
        if label in self.known:
            return None
        if self.source is None:
            return "kaigai never writes it there (an edited file?)"
        token = ID_TOKEN.search(label)
        if self.pattern is not None and not self.pattern.fullmatch(label):
            held = f"; it holds an identifier-like token ({token[0]})" if token else ""
            return f"it comes from {self.source}, whose rule is: {self.rule}{held}"
        if token:
            return f"it comes from {self.source} and holds an identifier-like token ({token[0]})"
        return None


# the white paper's DiD outcomes (whitepaper.samples: the firm file's amounts, and TFP and pay per employee
# computed by kaigai replicate)
DID_OUTCOMES = ("sales", "employees", "capital_stock", "tfp", "compensation_per_employee")
# the spillover model's regressors and Figure II-2-4-4's terms (estimators.spatial.TERM_LABELS' keys; a test
# keeps the two equal)
SPILLOVER_TERMS = ("overseas_production_ratio", "foreign_demand_di", "shipments", "domestic_shipments",
                   "non_exporter_shipments", "lagged_shipments")
_FIRM_AMOUNTS = frozenset(c.name for c in SCHEMAS["firms"].columns if c.kind in ("int", "float")
                          and c.unit not in ("id",))
OUTPUT_LABELS: dict[str, dict[str, LabelRule]] = {
    "effects.csv": {
        "analysis": LabelRule(frozenset({"export", "fdi"}), "the config's [treatment] name", NEUTRAL_NAME,
                              NEUTRAL_NAME_RULE),
        "group": LabelRule(frozenset({*EXPORT_GROUPS, *FDI_GROUPS, "all"})),
        "outcome": LabelRule(frozenset({*DID_OUTCOMES, *_FIRM_AMOUNTS}),
                             "the config's [treatment] outcomes (column names of the firm file)", NEUTRAL_COLUMN,
                             NEUTRAL_COLUMN_RULE),
    },
    "production.csv": {
        "industry": LabelRule(frozenset(), "the firm file's industry column"),
        "input": LabelRule(frozenset({"log_employees", "log_capital_stock"})),
    },
    "distributions.csv": {
        "variable": LabelRule(frozenset({"tfp_relative", "compensation_per_employee"})),
        "group": LabelRule(frozenset({"Foreign-owned", "Japanese, with FDI", "Japanese, without FDI"})),
    },
    "spillover.csv": {"regressor": LabelRule(frozenset(SPILLOVER_TERMS))},
    "spillover_decomposition.csv": {"term": LabelRule(frozenset({*SPILLOVER_TERMS, "year_effects", "other",
                                                                  "total"}))},
}
# label columns that hold whole numbers (event years relative to the start)
WHOLE_LABELS = {"effects.csv": {"horizon": (-15, 15)}}


def label_problems(name: str, table: pd.DataFrame) -> list[str]:
    """Labels of an output table that may not leave: outside kaigai's vocabulary, or from the config or the data
    but breaking their rule (:data:`OUTPUT_LABELS`), or event years that are not whole numbers in range."""
    problems = []
    for column, rule in OUTPUT_LABELS.get(name, {}).items():
        if column not in table.columns:
            continue
        bad = {}
        for label in pd.unique(table[column].astype(str)):
            why = rule.problem(label)
            if why is not None:
                bad.setdefault(why, []).append(label)
        for why, labels in bad.items():
            problems.append(f"{name}: column '{column}' holds {len(labels)} label(s) that may not leave "
                            f"({', '.join(map(repr, labels[:3]))}): {why}. Run kaigai replicate again with "
                            "neutral labels.")
    for column, (low, high) in WHOLE_LABELS.get(name, {}).items():
        if column in table.columns:
            number = pd.to_numeric(table[column].astype(str).str.strip(), errors="coerce")
            odd = ~(number.notna() & (number == number.round()) & number.between(low, high))
            if odd.any():
                problems.append(f"{name}: column '{column}' must hold whole numbers {low}…{high} (lines "
                                f"{_lines(odd)}).")
    return problems


def label_reviews(name: str, table: pd.DataFrame) -> list[str]:
    """The labels of an output table that came from the config or the data (not kaigai's own), for the output
    checker to read: a rule can keep digits and ids out of a label, not a firm's name spelt in letters."""
    reviews = []
    for column, rule in OUTPUT_LABELS.get(name, {}).items():
        if rule.source is None or column not in table.columns:
            continue
        labels = [label for label in pd.unique(table[column].astype(str)) if label not in rule.known]
        if labels:
            shown = ", ".join(map(repr, labels[:20])) + (f" and {len(labels) - 20} more" if len(labels) > 20 else "")
            reviews.append(f"{name}: '{column}' labels from {rule.source}: {shown} — check that none names a "
                           "firm, a person or a place")
    return reviews


# the free-text files `kaigai replicate` writes, with what they hold (for the output checker to read)
OTHER_FILES = {"report.html": "the figures and the protected effects table on one page",
               "run.log": "stage times, peak memory and aggregate counts (no microdata values)"}
FIGURE_SUFFIXES = (".png", ".svg")


def _whole(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_) \
        and math.isfinite(float(value))


@dataclass(frozen=True)
class DisclosureRules:
    """Thresholds of the count, dominance, p % and coefficient rules.

    Examples
    --------
    The default rules, and stricter ones:

    >>> from kaigai_lib import DisclosureRules
    >>> print(DisclosureRules().describe())
    every group ≥ 3 distinct firms; 2 largest ≤ 85% of the total; p % rule at 10 %; coefficients ≥ 10 identifying
    firms and ≥ 10 residual degrees of freedom; nested cells differ by ≥ 3 firms
    >>> DisclosureRules(min_firms=5).min_firms
    5
    """

    min_firms: int = 3
    dominance_n: int = 2
    dominance_share: float = 0.85
    p_percent: float = 10.0
    min_firms_coefficient: int = 10
    min_residual_df: int = 10

    def __post_init__(self) -> None:
        for name in ("min_firms", "dominance_n", "min_firms_coefficient"):
            value = getattr(self, name)
            if not (_whole(value) and value >= 1):
                raise ValueError(f"disclosure.{name}={value!r}: a whole number ≥ 1.")
        if not (_whole(self.min_residual_df) and self.min_residual_df >= 0):
            raise ValueError(f"disclosure.min_residual_df={self.min_residual_df!r}: a whole number ≥ 0.")
        if not (_real(self.dominance_share) and 0 < self.dominance_share <= 1):
            raise ValueError(f"disclosure.dominance_share={self.dominance_share!r}: a share in (0, 1].")
        if not (_real(self.p_percent) and 0 <= self.p_percent < 100):
            raise ValueError(f"disclosure.p_percent={self.p_percent!r}: a percentage in [0, 100) (0 turns the "
                             "p % rule off).")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> DisclosureRules:
        values = dict(values or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown disclosure setting(s) {unknown}: use {', '.join(known)}.")
        return cls(**values)

    def describe(self) -> str:
        return (f"every group ≥ {self.min_firms} distinct firms; {self.dominance_n} largest ≤ "
                f"{self.dominance_share:.0%} of the total; p % rule at {self.p_percent:g} %; coefficients ≥ "
                f"{max(self.min_firms, self.min_firms_coefficient)} identifying firms and ≥ {self.min_residual_df} "
                f"residual degrees of freedom; nested cells differ by ≥ {self.min_firms} firms")


@dataclass(frozen=True)
class CellCheck:
    """The rules applied to one published cell; ``groups`` counts the firms of each group behind it.

    Examples
    --------
    What :func:`check_cell` returns:

    >>> from kaigai_lib import CellCheck, DisclosureRules, check_cell
    >>> check = check_cell(["a", "b"], None, DisclosureRules())
    >>> isinstance(check, CellCheck), check.passes, check.n_firms
    (True, False, 2)
    >>> print(check.reason)
    fewer than 3 firms
    """

    n_firms: int
    dominance_share: float
    passes: bool
    reason: str
    p_ratio: float = np.nan  # (total − two largest) / largest, the worst over the groups; NaN: not applied
    residual_df: float = np.nan
    rule: str = "cell"
    groups: dict[str, int] = field(default_factory=dict, compare=False)
    members: dict[str, frozenset] = field(default_factory=dict, compare=False, repr=False)  # for differencing


def check_cell(firm_ids: Sequence[Any] | np.ndarray, magnitudes: Sequence[float] | np.ndarray | None,
               rules: DisclosureRules, *, group: str = "firms") -> CellCheck:
    """Apply the count, dominance and p % rules to one group of contributions.

    ``firm_ids``: the firm behind each contribution (a firm may contribute
    several rows; contributions are summed per firm). ``magnitudes``: each
    contribution's size (e.g. sales, ``|growth|``); ``None`` applies the count
    rule only.

    Examples
    --------
    Four firms, one of which dominates the cell's total:

    >>> from kaigai_lib import DisclosureRules, check_cell
    >>> rules = DisclosureRules()
    >>> check = check_cell(["a", "b", "c", "d"], [900.0, 40.0, 30.0, 30.0], rules)
    >>> check.passes, check.n_firms, round(check.dominance_share, 2)
    (False, 4, 0.94)
    >>> print(check.reason)
    2 largest firms hold more than 85%; p % rule: the others hold less than 10 % of the largest
    >>> check_cell(["a", "b", "c", "d"], [300.0, 250.0, 250.0, 200.0], rules).passes
    True
    """
    ids = pd.Series(np.asarray(firm_ids, dtype=object))
    missing = np.flatnonzero(missing_ids(ids))
    if len(missing):
        # a contribution without its firm cannot be counted or summed with the firm's others: groupby would drop it
        raise ValueError(f"check_cell ({group}): {len(missing)} contribution(s) have no firm id (positions "
                         f"{missing[:5].tolist()}); every contribution needs its firm to apply the disclosure "
                         "rules: fill the ids in, or leave those rows out of the published cell too.")
    sizes = None if magnitudes is None else np.asarray(magnitudes, dtype=float)
    if sizes is not None and len(sizes) != len(ids):
        raise ValueError(f"check_cell ({group}): {len(ids)} firm ids but {len(sizes)} magnitudes; "
                         "give one magnitude per contribution.")
    if sizes is not None:
        unknown = np.flatnonzero(~np.isfinite(sizes))
        if len(unknown):
            # a missing size was summed as 0 and an infinite one made the shares NaN: either way the cell passed
            raise ValueError(f"check_cell ({group}): {len(unknown)} contribution(s) have a missing or infinite "
                             f"magnitude (positions {unknown[:5].tolist()}); the dominance and p % rules need every "
                             "firm's size: fill them in, or leave those rows out of the published cell too.")
    n_firms = int(ids.nunique())
    share, p_ratio = 0.0, np.nan
    if sizes is not None and n_firms > 0:
        per_firm = pd.Series(np.abs(sizes)).groupby(ids.to_numpy()).sum()
        per_firm = per_firm.sort_values(ascending=False)
        total = float(per_firm.sum())
        if total > 0:
            share = float(per_firm.iloc[:rules.dominance_n].sum() / total)
            p_ratio = float((total - per_firm.iloc[:2].sum()) / per_firm.iloc[0])
    reasons = []
    if n_firms < rules.min_firms:
        reasons.append(f"fewer than {rules.min_firms} firms")
    if share > rules.dominance_share:
        reasons.append(f"{rules.dominance_n} largest firms hold more than {rules.dominance_share:.0%}")
    if p_ratio < rules.p_percent / 100:
        reasons.append(f"p % rule: the others hold less than {rules.p_percent:g} % of the largest")
    return CellCheck(n_firms, share, not reasons, "; ".join(reasons), p_ratio, groups={group: n_firms},
                     members={group: frozenset(ids.dropna().tolist())})


def combine(checks: Mapping[str, CellCheck], rules: DisclosureRules, *, residual_df: float | None = None) -> CellCheck:
    """One cell computed from several groups: each group must pass on its own.

    With ``residual_df`` the cell is a regression coefficient: every group
    (pass the firms whose variation identifies it) needs
    ``min_firms_coefficient`` firms, and the fit ``min_residual_df`` residual
    degrees of freedom.
    """
    groups = {name: c.n_firms for name, c in checks.items()}
    reasons = [f"{name}: {c.reason}" for name, c in checks.items() if c.reason]
    coefficient = residual_df is not None
    if coefficient:
        need = max(rules.min_firms, rules.min_firms_coefficient)
        reasons += [f"{name}: fewer than {need} firms identify the coefficient" for name, n in groups.items()
                    if rules.min_firms <= n < need]
        if not (residual_df >= rules.min_residual_df):
            reasons.append(f"{residual_df:g} residual degrees of freedom (fewer than {rules.min_residual_df})")
    ratios = [c.p_ratio for c in checks.values() if not np.isnan(c.p_ratio)]
    members = {name: next(iter(c.members.values()), frozenset()) for name, c in checks.items()}
    return CellCheck(min(groups.values(), default=0), max((c.dominance_share for c in checks.values()), default=0.0),
                     not reasons, "; ".join(reasons), min(ratios) if ratios else np.nan,
                     float(residual_df) if coefficient else np.nan, "coefficient" if coefficient else "cell",
                     groups, members)


def suppress_differences(checks: Sequence[CellCheck], families: Sequence[Hashable], labels: Sequence[str],
                         rules: DisclosureRules) -> list[CellCheck]:
    """Secondary suppression: within each family (one statistic, e.g. an outcome × horizon), no two shown
    cells may have nested groups that differ by fewer than ``min_firms`` firms — their difference would
    describe those few firms. The smaller cell of such a pair is suppressed; repeated until none is left."""
    checks = list(checks)
    changed = True
    while changed:
        changed = False
        for i, j in ((i, j) for i in range(len(checks)) for j in range(len(checks)) if i != j):
            a, b = checks[i], checks[j]
            if families[i] != families[j] or not (a.passes and b.passes):
                continue
            for name in set(a.members) & set(b.members):
                bigger, smaller = a.members[name], b.members[name]
                if smaller < bigger and len(bigger - smaller) < rules.min_firms:
                    reason = (f"differencing: its {name} are those of '{labels[i]}' but "
                              f"{len(bigger - smaller)} firm(s)")
                    checks[j] = replace(b, passes=False, reason=reason, groups=b.groups, members=b.members)
                    changed = True
                    break
    return checks


def protect(table: pd.DataFrame, cells: Mapping[Any, tuple[Sequence[Any], Sequence[float] | None]],
            value_columns: Iterable[str], rules: DisclosureRules) -> pd.DataFrame:
    """Apply the rules to every row of ``table``.

    ``cells`` maps each row's index label to ``(firm_ids, magnitudes)`` of
    the microdata behind it. Rows without an entry are suppressed (unknown
    contributors never pass). Values in ``value_columns`` of failing rows
    are blanked.

    Examples
    --------
    A row whose contributors fail the rules is kept, with its values blanked:

    >>> import pandas as pd
    >>> from kaigai_lib import DisclosureRules, protect
    >>> table = pd.DataFrame({"mean_growth": [3.2, 1.5]}, index=["machinery", "chemicals"])
    >>> cells = {"machinery": (["f1", "f2", "f3", "f4"], [10.0, 12.0, 9.0, 11.0]),
    ...          "chemicals": (["f5", "f6"], [5.0, 7.0])}
    >>> protected = protect(table, cells, ["mean_growth"], DisclosureRules())
    >>> protected[["mean_growth", "n_firms", "suppressed"]]
               mean_growth  n_firms  suppressed
    machinery          3.2        4       False
    chemicals          NaN        2        True
    """
    checks = [check_cell(*cells[label], rules) if label in cells
              else CellCheck(0, np.nan, False, "contributors unknown") for label in table.index]
    return apply_checks(table, checks, value_columns)


def apply_checks(table: pd.DataFrame, checks: Sequence[CellCheck], value_columns: Iterable[str]) -> pd.DataFrame:
    """Add the protection columns from one :class:`CellCheck` per row and blank the failing rows' values."""
    out = table.drop(columns=[c for c in PROTECTION_COLUMNS if c in table], errors="ignore")
    out["n_firms"] = [c.n_firms for c in checks]
    out["dominance_share"] = [round(float(c.dominance_share), 6) for c in checks]
    out["p_ratio"] = [round(float(c.p_ratio), 6) for c in checks]
    out["residual_df"] = [c.residual_df for c in checks]
    out["rule"] = [c.rule for c in checks]
    out["groups"] = [";".join(f"{name}={n}" for name, n in c.groups.items()) for c in checks]
    out["suppressed"] = [not c.passes for c in checks]
    out["suppression_reason"] = [c.reason for c in checks]
    columns = list(value_columns)
    out[columns] = out[columns].astype(float)
    out.loc[out["suppressed"], columns] = np.nan
    return out


# --------------------------------------------------------------------------- manifest and results.json

def _count_columns(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c == "n_firms" or c.startswith("n_")]


_LIMITS = ("the differencing check ran on the microdata when the tables were written; a second run with other "
           "settings is not compared with this one — compare counts across releases.")


def write_manifest(folder: str | Path, rules: DisclosureRules, files: Mapping[str, Sequence[str]],
                   figures: Mapping[str, Sequence[str]] | None = None, others: Mapping[str, str] | None = None,
                   settings: Mapping[str, Any] | None = None) -> Path:
    """Write ``results.json`` (the output checker's report) and the manifest ``disclosure.json``.

    ``files``: each protected CSV with its value columns; ``figures``: each figure with its source tables;
    ``others``: any other file (report, log) with what it holds. ``settings``: the analysis settings that shaped
    the sample, recorded so an output checker can compare releases. Every file is listed with its sha256.
    """
    folder = Path(folder)
    _refuse_unknown_settings(settings)
    figures, others = dict(figures or {}), dict(others or {})
    entries: dict[str, dict[str, Any]] = {}
    results = []
    for name, values in files.items():
        header = pd.read_csv(folder / name, nrows=0).columns.tolist()
        entries[name] = {"kind": "table", "columns": header, "values": list(values),
                         "counts": _count_columns(header)}
    for name, sources in figures.items():
        entries[name] = {"kind": "figure", "sources": list(sources)}
    for name, what in others.items():
        entries[name] = {"kind": "other", "holds": what}
    for name, entry in entries.items():
        entry["sha256"] = sha256_of(folder / name)
        results.append(_result_of(folder, name, entry, rules))
    report = {"rules": asdict(rules), "rules_text": rules.describe(), "settings": dict(settings or {}),
              "files": results,
              "limits": _LIMITS}
    (folder / RESULTS).write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    entries[RESULTS] = {"kind": "results", "sha256": sha256_of(folder / RESULTS)}
    path = folder / MANIFEST
    path.write_text(json.dumps({"rules_when_written": asdict(rules), "files": entries}, indent=2,
                               ensure_ascii=False), encoding="utf-8")
    return path


def _result_of(folder: Path, name: str, entry: Mapping[str, Any], rules: DisclosureRules) -> dict[str, Any]:
    """One file's line in results.json: status, the rule applied and the counts behind it."""
    _require_regular(folder / name)
    result: dict[str, Any] = {"file": name, "sha256": entry["sha256"], "kind": entry["kind"]}
    if entry["kind"] == "table":
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        problems = _check_table(name, table, entry, rules)
        shown = table.loc[table["suppressed"] != "True"] if "suppressed" in table else table
        counts = pd.to_numeric(shown.get("n_firms", pd.Series(dtype=str)), errors="coerce")
        result.update(status="fail" if problems else "pass", rule=rules.describe(), problems=problems,
                      counts={"rows": len(table), "shown": len(shown), "suppressed": len(table) - len(shown),
                              "fewest_firms_in_a_shown_row": None if counts.empty else int(counts.min()),
                              "groups_per_row": table.get("groups", pd.Series(dtype=str)).tolist()})
    elif entry["kind"] == "figure":
        result.update(status="review", rule="drawn from the shown rows of protected tables only; a human looks",
                      sources=list(entry["sources"]))
    else:
        result.update(status="review", rule=f"free text for the output checker to read: {entry['holds']}")
    return result


# --------------------------------------------------------------------------- checking a folder

_ID_NAMES = {"firm", "firmid", "firmcode", "company", "companyid", "establishment", "establishmentid", "plant",
             "plantid", "centreid", "centerid", "kigyo", "kigyobango", "kigyobangou", "kigyoid", "jigyosho",
             "jigyoshobango", "jigyoshobangou", "jigyoshoid", "hojinbango", "houjinbangou", "corporatenumber",
             "id", "企業", "事業所", "会社", "法人", "企業id", "事業所id", "企業コード", "事業所コード"}
_ID_VALUE = re.compile(r"^[A-Za-z]{1,4}[-_]?\d{3,}$|^\d{5,}$")


def looks_like_identifier_name(column: str) -> bool:
    """``firm_id``, ``Firm ID``, ``ＦＩＲＭ＿ＩＤ``, ``企業番号``, ``事業所番号``, ``kigyo_bango``, any ``*_id``."""
    text = unicodedata.normalize("NFKC", str(column)).strip().lower()
    squashed = re.sub(r"[\s_\-.・:/]+", "", text)
    return (squashed in _ID_NAMES or "番号" in text or "bango" in squashed or "bangou" in squashed
            or re.search(r"(^|[\s_\-.])id$", text) is not None or squashed.endswith(("firmid", "companyid")))


def looks_like_identifier_values(values: pd.Series) -> bool:
    """Text like ``F000123`` / ``00012345`` in every filled cell, or whole numbers distinct on every row."""
    filled = values[values.astype(str).str.strip() != ""].astype(str).str.strip()
    if len(filled) < 3:
        return False
    if filled.str.match(_ID_VALUE).all():
        return True
    numbers = pd.to_numeric(filled, errors="coerce")
    return bool(numbers.notna().all() and (numbers == numbers.round()).all() and numbers.is_unique)


def _lines(mask: pd.Series) -> str:
    return ", ".join(str(i + 2) for i in np.nonzero(mask.to_numpy())[0][:5])  # CSV line numbers (header = 1)


def _check_table(name: str, table: pd.DataFrame, entry: Mapping[str, Any], rules: DisclosureRules) -> list[str]:
    """Every problem of one protected table read as text (blank = ""), against ``rules``."""
    problems = []
    identifiers = [c for c in table.columns if looks_like_identifier_name(c)]
    if identifiers:
        problems.append(f"{name}: has microdata identifier column(s) {identifiers}.")
    declared = list(entry.get("columns", table.columns))
    undeclared = [c for c in table.columns if c not in declared]
    if undeclared:
        problems.append(f"{name}: column(s) {undeclared} not declared in the manifest.")
    schema = OUTPUT_TABLES.get(name)
    if schema is None:  # the folder's manifest cannot make a table known: its declarations are the forger's
        return [*problems, f"{name}: not a table kaigai replicate writes ({', '.join(OUTPUT_TABLES)}); "
                           "its columns cannot be checked."]
    foreign = [c for c in table.columns if c not in schema.columns and c not in identifiers]
    if foreign:
        problems.append(f"{name}: column(s) {foreign} are not in the schema of {name} (kaigai writes only "
                        f"{', '.join(schema.columns)}).")
    values = [c for c in schema.values if c in table.columns]
    absent = [c for c in (*PROTECTION_COLUMNS, *values) if c not in table.columns]
    if absent:
        problems.append(f"{name}: lacks column(s) {absent}.")
        return problems
    problems += label_problems(name, table)
    labels = [c for c in table.columns if c not in (*PROTECTION_COLUMNS, *values, *_count_columns(table.columns))]
    for column in labels:
        if column not in identifiers and looks_like_identifier_values(table[column]):
            problems.append(f"{name}: column '{column}' holds values that look like identifiers.")
    for column in values:
        text = table[column].astype(str).str.strip()
        odd = (text != "") & pd.to_numeric(text, errors="coerce").isna() & ~text.str.lower().isin(["nan", "inf",
                                                                                                   "-inf"])
        if odd.any():
            problems.append(f"{name}: column '{column}' holds text where a number belongs (lines {_lines(odd)}).")
    flag = table["suppressed"].astype(str).str.strip()
    odd = ~flag.isin(["True", "False"])
    if odd.any():
        problems.append(f"{name}: 'suppressed' must be True or False (lines {_lines(odd)}); such rows count as shown.")
    shown = flag != "True"
    for column in ["n_firms", *[c for c in _count_columns(table.columns) if c != "n_firms"]]:
        number = pd.to_numeric(table[column], errors="coerce")
        bad = shown & (number.isna() | (number < 0) | (number != number.round()))
        if bad.any():
            problems.append(f"{name}: {int(bad.sum())} shown row(s) with a blank or non-numeric count in "
                            f"'{column}' (lines {_lines(bad)}).")
    n_firms = pd.to_numeric(table["n_firms"], errors="coerce")
    share = pd.to_numeric(table["dominance_share"], errors="coerce")
    p_ratio = pd.to_numeric(table["p_ratio"], errors="coerce")
    rdf = pd.to_numeric(table["residual_df"], errors="coerce")
    rule = table["rule"].astype(str).str.strip()
    coefficient = rule == "coefficient"
    need_coef = max(rules.min_firms, rules.min_firms_coefficient)
    group_counts = table["groups"].astype(str).map(_parse_groups)
    fewest_in_group = group_counts.map(lambda g: min(g.values()) if g else np.nan)
    malformed_groups = group_counts.map(lambda g: g is None or not g)
    checks = (
        (shown & ~rule.isin(RULE_KINDS), f"with a rule other than {' or '.join(RULE_KINDS)}"),
        (shown & (n_firms < rules.min_firms), f"fewer than {rules.min_firms} firms but shown"),
        (shown & malformed_groups, "without the firm count of each group ('groups' column) but shown"),
        (shown & (fewest_in_group < rules.min_firms), f"with a group of fewer than {rules.min_firms} firms but shown"),
        (shown & coefficient & ((n_firms < need_coef) | (fewest_in_group < need_coef)),
         f"a coefficient identified by fewer than {need_coef} firms but shown"),
        (shown & coefficient & ~(rdf >= rules.min_residual_df),
         f"a coefficient with fewer than {rules.min_residual_df} residual degrees of freedom (or none given) "
         "but shown"),
        (shown & ~(share <= rules.dominance_share), f"dominance share above {rules.dominance_share} (or blank) "
                                                    "but shown"),
        (shown & (p_ratio < rules.p_percent / 100), f"below the p % rule ({rules.p_percent:g} %) but shown"),
        (~shown & (table[values].astype(str).apply(lambda s: s.str.strip()) != "").any(axis=1),
         "suppressed but values still present"),
    )
    problems += _check_count_columns(name, table, rules)
    for mask, what in checks:
        if mask.any():
            problems.append(f"{name}: {int(mask.sum())} row(s) {what} (lines {_lines(mask)}).")
    return problems


def _parse_groups(text: str) -> dict[str, float] | None:
    """``"starters=25;controls=80"`` → counts; None if any part is malformed."""
    counts: dict[str, float] = {}
    for part in filter(None, text.split(";")):
        name, _, number = part.partition("=")
        value = pd.to_numeric(number, errors="coerce")
        if not name or pd.isna(value):
            return None
        counts[name] = float(value)
    return counts


@dataclass
class FolderCheck:
    """What :func:`check_results` found: ``problems`` (exit 1), ``cannot_check`` (exit 2), ``reviews``.

    Examples
    --------
    What :func:`check_results` returns:

    >>> import shutil, tempfile
    >>> from kaigai_lib import FolderCheck, check_results
    >>> folder = tempfile.mkdtemp()
    >>> check = check_results(folder)
    >>> isinstance(check, FolderCheck), check.files, check.reviews
    (True, 0, [])
    >>> print(check.cannot_check.replace(folder, "<folder>"))
    <folder>/disclosure.json: no disclosure manifest; the folder was not written by kaigai replicate.
    >>> shutil.rmtree(folder)
    """

    problems: list[str] = field(default_factory=list)
    cannot_check: str = ""
    reviews: list[str] = field(default_factory=list)
    files: int = 0


class _Unreadable(Exception):
    pass


def _entries(folder: Path) -> list[tuple[str, Path]]:
    """Every entry below ``folder`` — files, hidden files, sub-folders, links — as (relative path, path)."""
    found = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        for name in [*names, *dirs]:
            path = Path(root) / name
            found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def _load_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise _Unreadable(f"{path}: no disclosure manifest; the folder was not written by kaigai replicate.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in files.items()):
            raise TypeError("'files' is not a mapping of file names to entries")
        for name, entry in files.items():
            if name.startswith("/") or ".." in Path(name).parts or "\\" in name:
                raise ValueError(f"file name {name!r} points outside the folder")
            if not (isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])):
                raise ValueError(f"{name}: no sha256")
            if entry.get("kind") == "table" and not all(
                    isinstance(entry.get(key), list) and all(isinstance(c, str) for c in entry[key])
                    for key in ("columns", "values")):
                raise ValueError(f"{name}: a table entry needs lists 'columns' and 'values'")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise _Unreadable(f"{path}: unreadable manifest ({type(error).__name__}: {error}).") from error
    return files


_MARKER_KEYS = {"written_by", "command", "created", "files", "sha256"}


def _check_marker(folder: Path, listed: Iterable[str]) -> list[str]:
    """The ``.kaigai-output.json`` marker holds only the keys kaigai writes, each of its kind, and its hashes
    match."""
    path = folder / OUTPUT_MARKER
    if path.is_symlink() or not path.is_file():
        return [f"{OUTPUT_MARKER}: not a regular file."]
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [f"{OUTPUT_MARKER}: not readable JSON ({error})."]
    if not isinstance(marker, dict):
        return [f"{OUTPUT_MARKER}: not a JSON object."]
    problems = _check_marker_keys(marker)  # any key kaigai does not write is refused, whatever it holds
    if marker.get("written_by") != "kaigai":  # 'command' and 'created': _check_marker_keys (stricter)
        problems.append(f"{OUTPUT_MARKER}: 'written_by' must be kaigai.")
    files, hashes = marker.get("files"), marker.get("sha256")
    if not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
        return [*problems, f"{OUTPUT_MARKER}: 'files' must be a list of file names."]
    if not (isinstance(hashes, dict) and all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)
                                             for v in hashes.values())):
        return [*problems, f"{OUTPUT_MARKER}: 'sha256' must map file names to sha256 hex digests."]
    allowed = set(listed) | {MANIFEST}
    strange = sorted(set(files) - allowed)
    if strange or set(hashes) - set(files):
        problems.append(f"{OUTPUT_MARKER}: lists files that are not in the disclosure manifest "
                        f"({', '.join(strange or sorted(set(hashes) - set(files)))[:200]}).")
    for name, digest in hashes.items():
        target = folder / name
        if name in allowed and target.is_file() and not target.is_symlink() and sha256_of(target) != digest:
            problems.append(f"{OUTPUT_MARKER}: sha256 of {name} differs from the file.")
    return problems


def check_results(folder: str | Path, rules: DisclosureRules | None = None, *, staging: bool = False) -> FolderCheck:
    """Re-check a results folder against ``rules`` (the secure room's; default :class:`DisclosureRules`).

    The rules recorded in the folder are never used. Fails on: any entry not in the manifest (any name, case,
    extension, hidden files, sub-folders, links); a sha256 that differs; undeclared or identifier columns
    (any spelling, or values that look like ids); a blank or non-numeric count on a shown row; a shown row
    below any rule; values left in a suppressed row; a figure drawn from an unprotected source.
    The manifest's declarations are never trusted (a forger can rewrite it and its hashes): a table's columns
    must be in ``OUTPUT_TABLES``, a figure must be a PNG or SVG as matplotlib writes it (no text chunks or
    metadata of its own), only ``OTHER_FILES`` and ``results.json`` may be free text, and every line of
    ``results.json`` must be what the checker recomputes from the folder. A folder that still holds the staging
    marker of an unfinished run fails (``staging=True``: kaigai replicate checking its own staging folder).

    Examples
    --------
    A folder with no manifest cannot be checked:

    >>> import shutil, tempfile
    >>> from kaigai_lib import check_results
    >>> folder = tempfile.mkdtemp()
    >>> check = check_results(folder)
    >>> check.problems, bool(check.cannot_check)
    ([], True)
    >>> shutil.rmtree(folder)
    """
    folder = Path(folder)
    rules = rules or DisclosureRules()
    report = FolderCheck()
    try:
        files = _load_manifest(folder)
    except _Unreadable as error:
        report.cannot_check = str(error)
        return report
    report.files = len(files)
    report.problems += _unlisted_entries(folder, files, staging)
    report.problems += _check_json_keys(folder)
    for name, entry in files.items():
        path = folder / name
        if not _is_regular(path):
            report.problems.append(_missing_or_special(name, path))
            continue
        if sha256_of(path) != entry["sha256"]:
            report.problems.append(f"{name}: sha256 differs from the manifest: the file was changed after it was "
                                   "checked.")
        _check_entry(folder, name, entry, files, rules, report)
    return report


def _unlisted_entries(folder: Path, files: Mapping[str, Any], staging: bool) -> list[str]:
    """Entries of the folder the manifest does not list (links and sub-folders included), and the marker."""
    problems = []
    for relative, path in _entries(folder):
        if relative == MANIFEST or (staging and relative == STAGING_MARKER):
            continue
        if relative == STAGING_MARKER:
            problems.append(f"{relative}: the folder is an unfinished kaigai run (stopped before its results were "
                            "moved into place); its files were never complete: run kaigai replicate again.")
            continue
        if relative == OUTPUT_MARKER:
            problems += _check_marker(folder, files)
        elif path.is_symlink():
            problems.append(f"{relative}: a symbolic link; results hold plain files only.")
        elif path.is_dir():
            if not any(name.startswith(relative + "/") for name in files):
                problems.append(f"{relative}/: a folder not in the manifest.")
        elif relative not in files:
            problems.append(f"{relative}: not in the manifest, so it was not disclosure-checked.")
    return problems


def _check_entry(folder: Path, name: str, entry: Mapping[str, Any], files: Mapping[str, Any],
                 rules: DisclosureRules, report: FolderCheck) -> None:
    """One listed file, by the kind the manifest declares (never trusting the declaration)."""
    path = folder / name
    kind = entry.get("kind")
    if kind == "table":
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except Exception as error:  # any unreadable table is a problem of the folder, listed
            report.problems.append(f"{name}: not a readable CSV ({type(error).__name__}).")
            return
        report.problems += _check_table(name, table, entry, rules)
        report.reviews += label_reviews(name, table)
    elif kind == "figure":
        sources = entry.get("sources")
        if not isinstance(sources, list) or not sources:
            report.problems.append(f"{name}: a figure without its source tables.")
        for source in sources if isinstance(sources, list) else []:
            if not isinstance(source, str) or source not in OUTPUT_TABLES \
                    or files.get(source, {}).get("kind") != "table":
                report.problems.append(f"{name}: drawn from {source}, which is not a protected table.")
        report.problems += _check_figure(name, path)
        _check_figure_content(name, path, entry, report)
    elif kind == "results" and name == RESULTS:
        report.problems += _check_results_json(folder, files, rules)
        report.reviews.append(f"{name}: the output checker report (structure and counts re-checked)")
        report.reviews += _settings_reviews(folder)
    elif kind == "other" and name in OTHER_FILES:
        report.reviews.append(f"{name}: {OTHER_FILES[name]}")
        _check_free_text(folder, name, files, report)
    elif kind in ("other", "results"):
        report.problems.append(f"{name}: declared {kind!r}, but only kaigai replicate's own "
                               f"{', '.join([*OTHER_FILES, RESULTS])} may be; no other file can be checked.")
    else:
        report.problems.append(f"{name}: unknown kind {kind!r} in the manifest.")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")
# what matplotlib writes into a PNG's text chunks (Agg backend): the Software key only
_PNG_KNOWN_TEXT = re.compile(rb"Software\x00Matplotlib version[0-9a-z.+]{1,40}, https://matplotlib\.org/")
_SVG = "{http://www.w3.org/2000/svg}"
_DC, _CC = "{http://purl.org/dc/elements/1.1/}", "{http://creativecommons.org/ns#}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
# the <metadata> matplotlib's SVG backend writes: element -> the text it may hold
_SVG_METADATA = {f"{_RDF}RDF": r"", f"{_CC}Work": r"", f"{_DC}type": r"", f"{_DC}format": r"image/svg\+xml",
                 f"{_DC}date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}", f"{_DC}creator": r"",
                 f"{_CC}Agent": r"", f"{_DC}title": r"Matplotlib v[0-9a-z.+]{1,40}, https://matplotlib\.org/"}


def _check_figure(name: str, path: Path) -> list[str]:
    """A figure is a PNG or SVG as matplotlib writes it: right magic bytes, no text beyond matplotlib's own."""
    suffix = Path(name).suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        return [f"{name}: declared a figure, but figures are {' or '.join(FIGURE_SUFFIXES)} files only."]
    data = path.read_bytes()
    return _check_png(name, data) if suffix == ".png" else _check_svg(name, data)


def _check_png(name: str, data: bytes) -> list[str]:
    if not data.startswith(_PNG_SIGNATURE):
        return [f"{name}: not a PNG image (wrong magic bytes)."]
    position, problems, ended = len(_PNG_SIGNATURE), [], False
    while position + 8 <= len(data) and not ended:
        length = int.from_bytes(data[position:position + 4], "big")
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        if kind in _PNG_TEXT_CHUNKS and not (kind == b"tEXt" and _PNG_KNOWN_TEXT.fullmatch(body)):
            keyword = body.split(b"\x00", 1)[0].decode("latin-1")[:40]
            problems.append(f"{name}: PNG {kind.decode()} chunk '{keyword}' is not what matplotlib writes (text "
                            "in an image can carry data out).")
        ended = kind == b"IEND"
        position += 12 + length
    if not ended or position != len(data):
        problems.append(f"{name}: PNG chunks are malformed or data follows the IEND chunk.")
    return problems


def _check_svg(name: str, data: bytes) -> list[str]:
    import xml.etree.ElementTree as ElementTree

    if b"<!ENTITY" in data:  # matplotlib declares no entities; they could expand without bound
        return [f"{name}: SVG declares XML entities; matplotlib writes none."]
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        return [f"{name}: not an SVG image (not XML: {error})."]
    if root.tag != f"{_SVG}svg":
        return [f"{name}: not an SVG image (root element {root.tag[:60]!r})."]
    problems = []
    for metadata in root.iter(f"{_SVG}metadata"):
        for element in metadata.iter():
            if element is metadata:
                continue
            text = (element.text or "").strip()
            allowed = _SVG_METADATA.get(element.tag)
            if allowed is None or not re.fullmatch(allowed, text) or (element.tail or "").strip():
                problems.append(f"{name}: SVG <metadata> holds {element.tag.rsplit('}', 1)[-1][:40]} "
                                f"{text[:20]!r}, which matplotlib does not write.")
    for tag in ("text", "title", "desc"):
        if any(True for _ in root.iter(f"{_SVG}{tag}")):
            problems.append(f"{name}: SVG has <{tag}> elements; kaigai's figures draw text as paths.")
    return problems


# --------------------------------------------------------------------------- what a forger could hide (hostile)

# every figure kaigai replicate writes (each as .png and .svg) with the tables it is drawn from: Run.save_figure
# refuses any other, so the two cannot drift
OUTPUT_FIGURES: dict[str, tuple[str, ...]] = {
    "fig_II-2-4-1_effects": ("effects.csv",),
    "fig_II-2-4-2_3_distributions": ("distributions.csv",),
    "fig_II-2-4-4_spillover_decomposition": ("spillover.csv", "spillover_decomposition.csv"),
}
# the settings results.json records: replicate's [analysis] keys, and its [tfp] keys as tfp.KEY (write_manifest
# refuses any other, so the two cannot drift)
RESULT_SETTINGS = frozenset({
    "export_horizons", "fdi_horizons", "placebo_horizons", "first_export_start_year", "first_fdi_start_year",
    "radius_km", "global_firm_capital", "foreign_owned_ratio", "did_design", "did_controls", "spillover_control",
    "spillover_cluster", "tfp.poly_order", "did_extra_covariates"})
# the settings whose value is a list of the firm file's column names (replicate's did_extra_covariates): held to
# the neutral-column rule, at most MAX_COLUMN_LIST of them, and listed for the output checker to read
COLUMN_LIST_SETTINGS = frozenset({"did_extra_covariates"})
# the keys of disclosure.json and of each of its entries, by kind (what write_manifest writes)
_MANIFEST_KEYS = {"rules_when_written", "files"}
_ENTRY_KEYS = {"table": {"kind", "columns", "values", "counts", "sha256"}, "figure": {"kind", "sources", "sha256"},
               "other": {"kind", "holds", "sha256"}, "results": {"kind", "sha256"}}
# the count columns of the tables, each with the group of firms it counts rows of: on a shown row a count meets
# the rules and is at least its group's number of firms (a group of k firms has at least k rows)
COUNT_GROUPS: dict[str, dict[str, str]] = {"effects.csv": {"n_treated": "starters", "n_control": "controls"},
                                           "production.csv": {"n_obs": "firms"}}
# what matplotlib (Agg) writes into kaigai's PNG figures
_PNG_CHUNKS = (b"IHDR", b"pHYs", b"tEXt", b"IDAT", b"IEND")
_XLINK = "{http://www.w3.org/1999/xlink}href"
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?"
_ARTIST_ID = (r"(?:figure|axes|patch|line2d|text|xtick|ytick|matplotlib\.axis|legend|LineCollection|PathCollection"
              r"|PolyCollection|FillBetweenPolyCollection|PatchCollection)_[0-9]{1,6}")
_GLYPH_ID = (r"(?:IPAexGothic|IPAexMincho|DejaVuSans(?:-Bold|-Oblique|-BoldOblique)?|DejaVuSansMono|STIXGeneral)"
             r"-[0-9a-f]{1,5}")  # a glyph: the font's PostScript name and the glyph's index
_DEF_ID = r"[mp][0-9a-f]{10}"  # matplotlib's markers and clip paths (hashes)
_STYLE = (r"(?:(?:fill|fill-opacity|fill-rule|stroke|stroke-width|stroke-opacity|stroke-linecap|stroke-linejoin"
          r"|stroke-dasharray|stroke-dashoffset|stroke-miterlimit|opacity): [#0-9a-z.,% \-]{1,40}(?:; |;?$))+")
_TRANSFORM = rf"(?:(?:translate|rotate|scale|matrix)\((?:{_NUMBER}[ ,]?){{1,6}}\) ?)+"
# the elements and attributes matplotlib's SVG backend writes for kaigai's figures, each attribute's values
_SVG_ATTRIBUTES: dict[str, dict[str, str]] = {
    "svg": {"width": rf"{_NUMBER}pt", "height": rf"{_NUMBER}pt", "viewBox": rf"(?:{_NUMBER} ?){{4}}", "version": "1.1"},
    "metadata": {}, "defs": {}, "style": {"type": "text/css"},
    "g": {"id": _ARTIST_ID, "clip-path": rf"url\(#{_DEF_ID}\)", "transform": _TRANSFORM, "style": _STYLE},
    "path": {"id": rf"{_DEF_ID}|{_GLYPH_ID}", "d": r"[MLQCZz0-9.e\- \n]*", "clip-path": rf"url\(#{_DEF_ID}\)",
             "transform": _TRANSFORM, "style": _STYLE},
    "use": {_XLINK: rf"#(?:{_DEF_ID}|{_GLYPH_ID})", "x": _NUMBER, "y": _NUMBER, "transform": _TRANSFORM,
            "style": _STYLE},
    "clipPath": {"id": _DEF_ID},
    "rect": {"x": _NUMBER, "y": _NUMBER, "width": _NUMBER, "height": _NUMBER, "style": _STYLE},
}
_SVG_STYLE_TEXT = "*{stroke-linejoin: round; stroke-linecap: butt}"
_RDF_RESOURCE = {f"{_RDF}resource": "http://purl.org/dc/dcmitype/StillImage"}
FIGURE_REVIEW = ("a figure: a human must look at it before it leaves (pixels and shapes can draw a table; the "
                 "checker verified its file holds nothing but what matplotlib writes)")


def _check_figure_content(name: str, path: Path, entry: Mapping[str, Any], report: FolderCheck) -> None:
    """A figure kaigai replicate writes (its name and its source tables), holding only what matplotlib writes
    (PNG chunks; SVG elements, attributes and comments), listed for a human to look at."""
    stem, suffix = name[:-4], name[-4:]
    if stem not in OUTPUT_FIGURES or suffix not in FIGURE_SUFFIXES:
        report.problems.append(f"{name}: not a figure kaigai replicate writes "
                               f"({', '.join(f'{s}.png/.svg' for s in OUTPUT_FIGURES)}).")
        return
    if entry.get("sources") != list(OUTPUT_FIGURES[stem]):
        report.problems.append(f"{name}: drawn from {', '.join(OUTPUT_FIGURES[stem])}, but the manifest says "
                               f"{str(entry.get('sources'))[:80]}.")
    data = path.read_bytes()
    report.problems += _png_chunk_problems(name, data) if suffix == ".png" else _svg_problems(name, data)
    report.reviews.append(f"{name}: {FIGURE_REVIEW}")


def _png_chunk_problems(name: str, data: bytes) -> list[str]:
    kinds, position = [], len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        kinds.append(data[position + 4:position + 8])
        position += 12 + int.from_bytes(data[position:position + 4], "big")
    odd = sorted({kind.decode("latin-1") for kind in kinds if kind not in _PNG_CHUNKS})
    problems = [f"{name}: PNG chunk(s) {odd} are not what matplotlib writes (only "
                f"{', '.join(k.decode() for k in _PNG_CHUNKS)})."] if odd else []
    if kinds[:1] != [b"IHDR"] or kinds.count(b"tEXt") > 1 or kinds.count(b"pHYs") > 1:
        problems.append(f"{name}: PNG chunks are not in matplotlib's order (IHDR first, one pHYs, one tEXt).")
    return problems


def _svg_problems(name: str, data: bytes) -> list[str]:
    """Every element, attribute, text and comment of an SVG is one matplotlib writes for kaigai's figures; a
    comment names the text drawn in its group, so it must have one glyph per character, the same glyph for the
    same character throughout the file."""
    import html as html_text
    import xml.etree.ElementTree as ElementTree

    if b"<!ENTITY" in data or b"<![CDATA[" in data or data.count(b"<?") != 1:
        return [f"{name}: SVG holds XML entities, CDATA or processing instructions; matplotlib writes none."]
    try:
        root = ElementTree.fromstring(data, parser=ElementTree.XMLParser(
            target=ElementTree.TreeBuilder(insert_comments=True)))
    except ElementTree.ParseError as error:
        return [f"{name}: not an SVG image (not XML: {error})."]
    problems: list[str] = []
    parents = {child: parent for parent in root.iter() for child in parent}
    metadata = {element for m in root.iter(f"{_SVG}metadata") for element in m.iter()}
    comments: dict[Any, list[str]] = {}
    for element in root.iter():
        if element.tag is ElementTree.Comment:
            group = parents.get(element)
            if group is None or group.tag != f"{_SVG}g" or not re.fullmatch(r"text_[0-9]{1,6}", group.get("id", "")):
                problems.append(f"{name}: SVG comment {element.text.strip()[:40]!r} outside a text group; "
                                "matplotlib comments only the text it draws.")
            else:
                comments.setdefault(group, []).append(html_text.unescape(element.text.strip()))
            continue
        if (element.tail or "").strip():
            problems.append(f"{name}: SVG text {element.tail.strip()[:40]!r} between elements.")
        if element in metadata and element.tag != f"{_SVG}metadata":
            extra = {k: v for k, v in element.attrib.items() if _RDF_RESOURCE.get(k) != v}
            if extra:
                problems.append(f"{name}: SVG <metadata> attribute(s) {sorted(extra)[:3]} that matplotlib does not "
                                "write.")
            continue
        tag = element.tag.removeprefix(_SVG)
        allowed = _SVG_ATTRIBUTES.get(tag)
        if allowed is None:
            problems.append(f"{name}: SVG element <{tag[:40]}>, which matplotlib does not write for kaigai's figures.")
            continue
        text = (element.text or "").strip()
        if text and not (tag == "style" and text == _SVG_STYLE_TEXT):
            problems.append(f"{name}: SVG <{tag}> holds text {text[:40]!r}; matplotlib's holds none (or its own "
                            "style).")
        for attribute, value in element.attrib.items():
            pattern = allowed.get(attribute)
            if pattern is None or not re.fullmatch(pattern, value):
                problems.append(f"{name}: SVG <{tag}> attribute {attribute.rsplit('}', 1)[-1][:40]}="
                                f"{value[:40]!r} is not one matplotlib writes.")
    return problems + _svg_comment_problems(name, comments)


def _svg_comment_problems(name: str, comments: Mapping[Any, list[str]]) -> list[str]:
    problems, glyph_of, char_of = [], {}, {}
    for group, texts in comments.items():
        text = "".join(texts)
        glyphs = [use.get(_XLINK, "") for use in group.iter(f"{_SVG}use")]
        if len(glyphs) != len(text):
            problems.append(f"{name}: SVG comment {text[:40]!r} in {group.get('id')} is not the text drawn there "
                            f"({len(text)} characters, {len(glyphs)} glyphs).")
            continue
        for char, glyph in zip(text, glyphs, strict=True):
            if glyph_of.setdefault(char, glyph) != glyph or char_of.setdefault(glyph, char) != char:
                problems.append(f"{name}: SVG comment {text[:40]!r} in {group.get('id')} is not the text drawn "
                                f"there ({char!r} is drawn with another glyph elsewhere).")
                break
    return problems


def _check_marker_keys(marker: Mapping[str, Any]) -> list[str]:
    """The marker holds exactly the keys OutputFolder.commit writes for kaigai replicate, each of its kind."""
    extra = set(marker) - _MARKER_KEYS
    problems = [f"{OUTPUT_MARKER}: key(s) {_some_keys(extra)} are not ones kaigai writes (only "
                f"{', '.join(sorted(_MARKER_KEYS))}); remove them, or run kaigai replicate again."] if extra else []
    missing = sorted(_MARKER_KEYS - set(marker))
    if missing:
        problems.append(f"{OUTPUT_MARKER}: lacks key(s) {missing}.")
    if marker.get("command") != "replicate":
        problems.append(f"{OUTPUT_MARKER}: 'command' must be replicate (results of kaigai replicate only).")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", str(marker.get("created"))):
        problems.append(f"{OUTPUT_MARKER}: 'created' must be a timestamp to the second (YYYY-MM-DDTHH:MM:SS).")
    files = marker.get("files")
    if isinstance(files, list) and any(not isinstance(f, str) or len(f) > 255 for f in files):
        problems.append(f"{OUTPUT_MARKER}: 'files' must hold file names (text, at most 255 characters).")
    return problems


def _check_json_keys(folder: Path) -> list[str]:
    """disclosure.json holds only the keys write_manifest writes (top level and per entry, by kind), its rules
    are disclosure rules and its free text kaigai's; results.json's settings are the ones replicate records."""
    problems = []
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []  # reported by _load_manifest
    if set(manifest) - _MANIFEST_KEYS:
        problems.append(f"{MANIFEST}: key(s) {_some_keys(set(manifest) - _MANIFEST_KEYS)} are not ones kaigai writes "
                        f"(only {', '.join(sorted(_MANIFEST_KEYS))}).")
    try:
        DisclosureRules.from_mapping(manifest.get("rules_when_written"))
    except (ValueError, TypeError) as error:
        problems.append(f"{MANIFEST}: 'rules_when_written' are not disclosure rules ({str(error)[:120]}).")
    for name, entry in manifest.get("files", {}).items():
        allowed = _ENTRY_KEYS.get(entry["kind"], set()) if isinstance(entry.get("kind"), str) else set()
        if allowed and set(entry) - allowed:
            problems.append(f"{MANIFEST}: the entry of {name} has key(s) {_some_keys(set(entry) - allowed)}, which "
                            f"kaigai does not write for a {entry['kind']} (only {', '.join(sorted(allowed))}).")
        if entry.get("kind") == "other" and entry.get("holds") != OTHER_FILES.get(name):
            problems.append(f"{MANIFEST}: the entry of {name} says it holds {str(entry.get('holds'))[:60]!r}; "
                            "kaigai writes its own description.")
        if entry.get("kind") == "table" and name in OUTPUT_TABLES and _is_regular(folder / name):
            header = pd.read_csv(folder / name, nrows=0, dtype=str).columns.tolist()
            values = [c for c in OUTPUT_TABLES[name].values if c in header]
            if [entry.get("columns"), entry.get("values"), entry.get("counts")] != [header, values,
                                                                                     _count_columns(header)]:
                problems.append(f"{MANIFEST}: the entry of {name} declares columns, values or counts other than "
                                "the table's own.")
    try:
        _require_regular(folder / RESULTS)
        settings = json.loads((folder / RESULTS).read_text(encoding="utf-8")).get("settings")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return problems  # reported by the results.json check
    if isinstance(settings, dict) and set(settings) - RESULT_SETTINGS:
        problems.append(f"{RESULTS}: setting(s) {_some_keys(set(settings) - RESULT_SETTINGS)} are not ones kaigai "
                        f"replicate records (only {', '.join(sorted(RESULT_SETTINGS))}).")
    return problems


def _some_keys(keys: Iterable[Any]) -> str:
    """The first few keys, each cut short (a key can be as long as a row of microdata), and how many more."""
    names = sorted(str(key) for key in keys)
    return ", ".join(repr(name[:40]) for name in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _refuse_unknown_settings(settings: Mapping[str, Any] | None) -> None:
    unknown = sorted(set(settings or {}) - RESULT_SETTINGS)
    if unknown:
        raise ValueError(f"internal: settings {unknown} are not in disclosure.RESULT_SETTINGS; results.json not "
                         "written.")


def _is_regular(path: Path) -> bool:
    """A plain file (never a link, FIFO, device or folder): only those are opened."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _require_regular(path: Path) -> None:
    if not _is_regular(path):
        raise OSError(f"{path.name}: not a regular file; not opened.")


def _missing_or_special(name: str, path: Path) -> str:
    if path.is_symlink() or path.exists():
        return (f"{name}: listed in the manifest, but a link, FIFO, device or folder, not a plain file; it was "
                "not opened.")
    return f"{name}: listed in the manifest but missing."


def _check_count_columns(name: str, table: pd.DataFrame, rules: DisclosureRules) -> list[str]:
    """On shown rows, each count column meets the minimum count and is at least its group's firms
    (``groups``); a coefficient's count of observations exceeds its residual degrees of freedom."""
    problems = []
    shown = table["suppressed"].astype(str).str.strip() != "True"
    groups = table["groups"].astype(str).map(_parse_groups)
    residual_df = pd.to_numeric(table["residual_df"], errors="coerce")
    coefficient = table["rule"].astype(str).str.strip() == "coefficient"
    for column, group in COUNT_GROUPS.get(name, {}).items():
        if column not in table:
            continue
        count = pd.to_numeric(table[column], errors="coerce")
        firms = groups.map(lambda g, group=group: (g or {}).get(group, float("nan")))
        for mask, what in (
                (shown & (count < rules.min_firms), f"'{column}' below the minimum count of {rules.min_firms}"),
                (shown & (count < firms), f"'{column}' below the number of {group} in 'groups' (a group of firms "
                                          "has at least as many rows)"),
                (shown & coefficient & residual_df.notna() & (count <= residual_df),
                 f"'{column}' not above the residual degrees of freedom")):
            if mask.any():
                problems.append(f"{name}: {int(mask.sum())} shown row(s) with {what} (lines {_lines(mask)}).")
    return problems


def _check_free_text(folder: Path, name: str, files: Mapping[str, Any], report: FolderCheck) -> None:
    """run.log: every line one kaigai writes (notes listed for review); report.html: byte for byte the page
    kaigai renders from the folder's checked files (rules, run.log's stage times, figures, effects.csv)."""

    log = folder / "run.log"
    if not _is_regular(log):
        report.problems.append(f"{name}: cannot be checked without a plain run.log.")
        return
    text = log.read_text(encoding="utf-8", errors="replace")
    problems, notes, timings = read_log(text)
    if name == "run.log":
        report.problems += problems + _extra_covariate_log_problems(folder, text)
        report.reviews += notes
        return
    try:
        _require_regular(folder / RESULTS)
        rules = DisclosureRules.from_mapping(json.loads((folder / RESULTS).read_text(encoding="utf-8"))["rules"])
        _require_regular(folder / "effects.csv")
        page = render_report(rules.describe(), timings, [f for f in files if f.endswith(".png")],
                             folder / "effects.csv")
    except Exception as error:  # any file it is rendered from that cannot be read: the report cannot pass
        report.problems.append(f"{name}: cannot be rendered again from the folder ({type(error).__name__}).")
        return
    if (folder / name).read_bytes() != page.encode("utf-8"):
        report.problems.append(f"{name}: differs from the page kaigai renders from the folder's checked files "
                               "(hidden elements, comments or edited numbers); run kaigai replicate again.")


_RESULTS_KEYS = {"rules", "rules_text", "settings", "files", "limits"}


def _extra_covariate_log_problems(folder: Path, text: str) -> list[str]:
    """run.log's lines of extra covariates say what results.json's settings say: one line per DiD of the log
    (its analysis and design line), naming exactly the setting's columns, in order; none without the setting."""
    try:
        _require_regular(folder / RESULTS)  # a FIFO in its place is never opened
        settings = json.loads((folder / RESULTS).read_text(encoding="utf-8")).get("settings")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return []  # reported by the results.json check
    names = settings.get("did_extra_covariates", []) if isinstance(settings, dict) else []
    names = names if isinstance(names, list) else []
    logged, analyses = logged_extra_covariates(text)
    expected = [(analysis, names) for analysis in analyses] if names else []
    if logged != expected:
        return [f"run.log: its lines of extra covariates ({len(logged)}) do not say what results.json's "
                f"settings.did_extra_covariates says for the log's {len(analyses)} DiD(s) "
                "(the same columns, once per DiD); run kaigai replicate again."]
    return []


def neutral_columns(value: Any) -> bool:
    """Whether ``value`` is a list of at most :data:`MAX_COLUMN_LIST` column names that may leave the room
    (:data:`NEUTRAL_COLUMN`: lowercase, at most four digits, so no id or amount)."""
    return isinstance(value, list) and len(value) <= MAX_COLUMN_LIST and all(
        isinstance(name, str) and NEUTRAL_COLUMN.fullmatch(name) for name in value)


def _settings_reviews(folder: Path) -> list[str]:
    """The column names results.json's settings carry from the config, for the output checker to read (a rule
    keeps ids and figures out of a name, not a firm's name spelt in letters)."""
    try:
        _require_regular(folder / RESULTS)  # a FIFO in its place is never opened
        settings = json.loads((folder / RESULTS).read_text(encoding="utf-8")).get("settings")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return []  # reported by the results.json check
    if not isinstance(settings, dict):
        return []
    return [f"{RESULTS}: settings.{key} names columns of the firm file: {', '.join(map(str, settings[key]))} — "
            "check that none names a firm" for key in sorted(COLUMN_LIST_SETTINGS)
            if isinstance(settings.get(key), list) and settings[key]]


def _plain_setting(value: Any) -> bool:
    if isinstance(value, list):
        return len(value) <= 20 and all(_real(v) for v in value)
    return value is None or isinstance(value, bool) or _real(value) or (isinstance(value, str) and len(value) <= 40
                                                                         and "\n" not in value)


def _check_results_json(folder: Path, files: Mapping[str, Mapping[str, Any]], rules: DisclosureRules) -> list[str]:
    """results.json holds its known keys only, and every file's line is what the checker recomputes from the
    folder (so no number in it is free to carry data out); and the run's rules measured what the room's rules
    compare (a dominance share of fewer firms than the room's rule understates the room's share)."""
    try:
        report = json.loads((folder / RESULTS).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [f"{RESULTS}: not readable JSON ({error})."]
    if not isinstance(report, dict) or set(report) != _RESULTS_KEYS:
        keys = sorted(set(report) ^ _RESULTS_KEYS) if isinstance(report, dict) else "not an object"
        return [f"{RESULTS}: must hold exactly the keys {sorted(_RESULTS_KEYS)} (differs in {keys})."]
    try:
        recorded = DisclosureRules.from_mapping(report["rules"])
    except (ValueError, TypeError) as error:
        return [f"{RESULTS}: 'rules' are not disclosure rules ({error})."]
    problems = []
    if recorded.dominance_n < rules.dominance_n:
        problems.append(f"{RESULTS}: the run's dominance rule summed the {recorded.dominance_n} largest firm(s) and "
                        f"the room's sums the {rules.dominance_n} largest, so every dominance_share in the tables "
                        "understates the share the room's rule limits: run kaigai replicate again with the room's "
                        f"rules ([disclosure] dominance_n = {rules.dominance_n}).")
    if report["rules_text"] != recorded.describe() or report["limits"] != _LIMITS:
        problems.append(f"{RESULTS}: 'rules_text' or 'limits' is not the text kaigai writes.")
    settings = report["settings"]
    if not (isinstance(settings, dict) and all(re.fullmatch(r"[a-z_.]{1,40}", str(k))
                                               and (neutral_columns(v) if k in COLUMN_LIST_SETTINGS
                                                    else _plain_setting(v)) for k, v in settings.items())):
        problems.append(f"{RESULTS}: 'settings' must map setting names to plain values (a column list: at most "
                        f"{MAX_COLUMN_LIST} names, each {NEUTRAL_COLUMN_RULE}).")
    lines = report["files"]
    expected: dict[str, Any] = {}
    for name, entry in files.items():
        if name == RESULTS:
            continue
        try:  # the checker's own description of the free-text files, never the manifest's
            expected[name] = _result_of(folder, name, {**entry, "holds": OTHER_FILES.get(name, "")}, recorded)
        except Exception:  # an unreadable file is reported by its own check; its line cannot match
            expected[name] = None
    expected = json.loads(json.dumps(expected, ensure_ascii=False, default=str))
    if not (isinstance(lines, list) and all(isinstance(line, dict) for line in lines)):
        return [*problems, f"{RESULTS}: 'files' must be a list of objects."]
    listed = {str(line.get("file")): line for line in lines}
    if len(listed) != len(lines) or set(listed) != set(expected):
        problems.append(f"{RESULTS}: 'files' does not list the manifest's files exactly once each.")
    for name in sorted(set(listed) & set(expected)):
        line, recomputed = listed[name], expected[name] or {}
        if line != recomputed:
            keys = sorted(k for k in set(line) | set(recomputed) if line.get(k) != recomputed.get(k))
            problems.append(f"{RESULTS}: the line of {name} differs from what the checker recomputes from the "
                            f"folder (keys {keys[:6]}).")
    return problems


def check_folder(folder: str | Path, rules: DisclosureRules | None = None, *, staging: bool = False) -> list[str]:
    """Every problem :func:`check_results` finds (empty: the folder passes), with "cannot check" first."""
    report = check_results(folder, rules, staging=staging)
    return [report.cannot_check] if report.cannot_check else report.problems
