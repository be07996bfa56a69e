"""The white paper's whole pipeline on an analyst's files: ``kaigai replicate``.

Stages (each logged, with a progress bar):

1. **read and validate** the three inputs (``firms``, ``establishments``,
   ``foreign_demand``; CSV or Parquet) after mapping the analyst's column
   names through the config — every problem in every file is listed at once;
2. **TFP**: Levinsohn–Petrin by industry (:mod:`kaigai_lib.estimators.tfp`);
3. **exports** and 4. **FDI**: propensity matching and matched
   difference-in-differences (:func:`kaigai_lib.whitepaper.did_design.white_paper_did`);
5. **distributions**: TFP and compensation per employee of Japanese firms
   with/without FDI and foreign-owned firms (Figures II-2-4-2/3);
6. **spillovers**: 5 km catchments and the panel fixed-effects model
   (:mod:`kaigai_lib.estimators.spatial`, Figure II-2-4-4).

Every output table goes through disclosure control (:mod:`kaigai_lib.data.disclosure`);
figures are drawn from the protected tables only; no microdata row is written.
Results are written to a temporary folder next to ``--out`` and moved into
place at the end, so a failed run leaves ``--out`` untouched. Inputs written
by ``kaigai generate`` (a ``kaigai_world.json`` beside the firm file) get a
``truth`` column from the regenerated world.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
import time
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kaigai_lib.data.disclosure import (
    EFFECT_COLUMNS,
    ID_TOKEN,
    MAX_COLUMN_LIST,
    NEUTRAL_COLUMN,
    NEUTRAL_COLUMN_RULE,
    NEUTRAL_NAME,
    NEUTRAL_NAME_RULE,
    OTHER_FILES,
    OUTPUT_FIGURES,
    OUTPUT_TABLES,
    PROTECTION_COLUMNS,
    CellCheck,
    DisclosureRules,
    apply_checks,
    check_cell,
    check_folder,
    combine,
    suppress_differences,
    write_manifest,
)
from kaigai_lib.data.free_text import LOG_FORMAT, STAGE_NAMES, TREATMENT_STAGE, log_line, render_report
from kaigai_lib.data.outputs import parked_input_note
from kaigai_lib.data.schema import SCHEMAS, SchemaError, as_numbers, rows_text, validate
from kaigai_lib.data.starts import EXPORT_GROUPS
from kaigai_lib.data.text import (
    ENCODING_NAMES,
    JAPANESE_ENCODINGS,
    UTF16_BOMS,
    AmbiguousEncodingError,
    decode_text,
    first_difference,
)
from kaigai_lib.estimators.spatial import CLUSTERS as SPILLOVER_CLUSTERS
from kaigai_lib.estimators.spatial import CONTROLS as SPILLOVER_CONTROLS
from kaigai_lib.whitepaper.samples import (
    CLEAN_WINDOWS,
    MATCHING_DESIGNS,
    extra_covariates_problem,
    extra_scale_problem,
    missing_design_inputs,
)

TABLES = ("firms", "establishments", "foreign_demand")
ANALYSIS_DEFAULTS: dict[str, Any] = {
    "export_horizons": 5, "fdi_horizons": 10, "placebo_horizons": [-3, -2],
    "first_export_start_year": 1998, "first_fdi_start_year": 1996,
    "radius_km": 5.0, "global_firm_capital": 1000.0, "foreign_owned_ratio": 33.3,
    # or "robust": also match on growth t−2→t−1, TFP and the investment rate at t−2 (needs the investment
    # column; "robust_no_investment" without it) and log intermediate inputs at t−1 by industry: white_paper_did's
    # design
    "did_design": "white_paper",
    # or "clean": no control starts within the design's window; "adjusted": controls that start later have
    # their own estimated effect subtracted (white_paper_did's control_pool and later_starts); "adjusted_both":
    # also the other start's estimated effects (white_paper_did's other_start)
    "did_controls": "all",
    # the analyst's own columns of the firm file, read at t−1, added to the DiD's propensity score (white_paper_did's
    # extra_covariates); their names are written in run.log
    "did_extra_covariates": [],
    # the spillover model's area-shipments control and standard errors (fit_spillover's control and cluster)
    "spillover_control": "shipments",
    "spillover_cluster": "entity",
}
TFP_DEFAULTS: dict[str, Any] = {"poly_order": 3}
# [analysis] did_controls → white_paper_did's options
DID_CONTROLS = {"all": {"control_pool": "all", "later_starts": "keep"},
                "clean": {"control_pool": "clean", "later_starts": "keep"},
                "adjusted": {"control_pool": "all", "later_starts": "adjust"},
                "adjusted_both": {"control_pool": "all", "later_starts": "adjust", "other_start": True}}


class ReplicationError(ValueError):
    """A problem with the inputs or the config, reported without a traceback."""


@dataclass(frozen=True)
class Setting:
    """One ``[analysis]``/``[tfp]`` key of replicate.toml: its type, range and meaning (for the messages)."""

    kind: str  # "int", "number", "int list", "choice" or "column list"
    minimum: float
    maximum: float
    meaning: str
    choices: tuple[str, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None. A bool is never a number (TOML ``true`` is not 1)."""
        if self.kind == "choice":
            if value in self.choices:
                return None
            return f"must be one of {', '.join(map(repr, self.choices))} ({self.meaning})"
        if self.kind == "column list":
            return _column_list_problem(value, self.meaning)
        items = value if self.kind == "int list" else [value]
        if self.kind == "int list" and (not isinstance(value, list) or not value):
            return f"must be a list of whole numbers, e.g. [-3, -2] ({self.meaning})"
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int | float) \
                    or (self.kind != "number" and not isinstance(item, int)):
                what = "a number" if self.kind == "number" else "a whole number"
                return f"must be {what}, not {type(item).__name__} {item!r} ({self.meaning})"
            if not (math.isfinite(item) and self.minimum <= item <= self.maximum):
                return f"{item!r} is out of range: {self.minimum:g}–{self.maximum:g} ({self.meaning})"
        if len(set(items)) < len(items):
            return f"lists {sorted({i for i in items if items.count(i) > 1})} more than once ({self.meaning})"
        return None


def _column_list_problem(value: Any, meaning: str) -> str | None:
    """Why ``value`` is not a list of column names that may be written in run.log (it leaves the room with the
    results), or None; an empty list is the default."""
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return f"must be a list of column names of the firm file, e.g. [\"log_paid_in_capital\"] ({meaning})"
    if len(value) > MAX_COLUMN_LIST:
        return f"lists {len(value):,} columns; at most {MAX_COLUMN_LIST} ({meaning})"
    odd = [name for name in value if not NEUTRAL_COLUMN.fullmatch(name)]
    if odd:
        return (f"{_some(odd)} cannot be written in run.log, which leaves the room with the results: each name must "
                f"be {NEUTRAL_COLUMN_RULE}; rename the column in the firm file (e.g. log_paid_in_capital) and list "
                "that name")
    if len(set(value)) < len(value):
        return f"lists {sorted({n for n in value if value.count(n) > 1})} more than once; give each once"
    return None


def _some(names: list[str]) -> str:
    """The first few names of a list (each cut short), and how many more: a message never echoes a whole list."""
    shown = ", ".join(repr(name[:60]) for name in names[:5])
    return f"[{shown}{f' and {len(names) - 5:,} more' if len(names) > 5 else ''}]"


ANALYSIS_SETTINGS: dict[str, Setting] = {
    "export_horizons": Setting("int", 1, 15, "years after the start of exporting, the white paper's 5"),
    "fdi_horizons": Setting("int", 1, 15, "years after the start of FDI, the white paper's 10"),
    "placebo_horizons": Setting("int list", -15, -2, "placebo years before the start; −1 is the base year"),
    "first_export_start_year": Setting("int", 1900, 2100, "earliest export start year evaluated"),
    "first_fdi_start_year": Setting("int", 1900, 2100, "earliest FDI start year evaluated"),
    "radius_km": Setting("number", 0.01, 500, "catchment radius around a global firm's plant, in km"),
    "global_firm_capital": Setting("number", 0, 1e9, "paid-in capital of a global firm, million yen"),
    "foreign_owned_ratio": Setting("number", 0, 100, "foreign capital ratio above which a firm is foreign-owned, %"),
    "did_design": Setting("choice", 0, 0, "the matching design of the export/FDI DiD: the white paper's score, "
                          "'robust', which also matches on growth t−2→t−1, TFP and the investment rate at t−2 (the "
                          "firms table needs 'investment') and on log intermediate inputs at t−1 with industry "
                          "slopes (the LP proxy), 'robust_no_investment' (the same without investment) or "
                          "'robust_no_intermediates' (the same without the LP proxy)",
                          choices=tuple(MATCHING_DESIGNS)),
    "did_controls": Setting("choice", 0, 0, "the controls of the export/FDI DiD: 'all' non-starters (the white "
                            "paper's), 'clean' ones, which do not start within t+1…t+{export} (exports) or t+{fdi} "
                            "(FDI), or 'adjusted': all, with the estimated effect of a control's own later start "
                            "subtracted (standard errors after the start from a bootstrap of the adjustment "
                            "over the pairs, those sharing a firm drawn together), or 'adjusted_both': the same, "
                            "and every matched firm's change also cleared of the estimated effects of its start of "
                            "the other treatment (FDI for exports, exporting for FDI)".format(**CLEAN_WINDOWS),
                            choices=tuple(DID_CONTROLS)),
    "did_extra_covariates": Setting("column list", 0, 0, "numeric columns of the firm file, read at t−1 and added "
                                    "to the export and FDI DiD's propensity score, e.g. a reading of your own "
                                    "that predicts the start; firm-years without a value are left out of the "
                                    "matching, and run.log counts them"),
    "spillover_control": Setting("choice", 0, 0, "the spillover model's shipments control: the white paper's "
                                 "'shipments' (they include exports, so it is a bad control), 'domestic_shipments' "
                                 "(less exports), 'non_exporter_shipments', 'lagged_shipments' or 'none'",
                                 choices=SPILLOVER_CONTROLS),
    "spillover_cluster": Setting("choice", 0, 0, "the spillover model's standard errors: clustered by 'entity' "
                                 "(centre, the white paper's), 'component', 'firm', 'year', 'driscoll_kraay' or "
                                 "'none' (robust only); only 'year' and 'driscoll_kraay' allow for a common "
                                 "yearly shock", choices=SPILLOVER_CLUSTERS),
}
TFP_SETTINGS: dict[str, Setting] = {"poly_order": Setting("int", 2, 3, "order of the LP first-stage polynomial")}


@dataclass
class Config:
    columns: dict[str, dict[str, str]] = field(default_factory=lambda: {t: {} for t in TABLES})
    disclosure: DisclosureRules = field(default_factory=DisclosureRules)
    analysis: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(ANALYSIS_DEFAULTS))  # lists not shared
    tfp: dict[str, Any] = field(default_factory=lambda: dict(TFP_DEFAULTS))
    notes: list[str] = field(default_factory=list)  # e.g. "read as cp932": shown to the user and logged
    encodings: dict[str, str] = field(default_factory=dict)  # [encoding]: a table's CSV encoding, when not detected
    treatment: dict[str, Any] | None = None  # the [treatment] section: any binary treatment (parse_treatment)


HOW_TO_CONVERT = "save it as UTF-8 (in an editor: Save as… → Encoding UTF-8; or iconv -f CP932 -t UTF-8 {0} > new)"


def read_text_any(path: Path, what: str) -> tuple[str, str | None]:
    """The text of a small file in UTF-8 (with or without BOM) or, failing that, Japanese Windows' cp932
    (Shift-JIS); returns (text, a note if it was not UTF-8). Anything else is an error saying how to convert."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise ReplicationError(f"{what} {path} not found. {parked_input_note(path)}".rstrip()) from error
    except IsADirectoryError as error:
        raise ReplicationError(f"{what} {path} is a folder; give the file.") from error
    except OSError as error:
        raise ReplicationError(f"{what} {path} cannot be read: {error.strerror or error}.") from error
    if raw.startswith(UTF16_BOMS):
        raise ReplicationError(f"{what} {path} is UTF-16 (Excel's 'Unicode text'); "
                               + HOW_TO_CONVERT.format(path).replace("CP932", "UTF-16") + ".")
    try:
        text, encoding = decode_text(raw, utf16=False)
        return text, (None if encoding == "utf-8" else
                      f"{what} {path} is not UTF-8; read it as {ENCODING_NAMES[encoding]}. To be sure of the "
                      f"reading, {_how_to_convert(path, encoding)}.")
    except AmbiguousEncodingError as error:
        raise ReplicationError(f"{what} {path} {error}; {_how_to_convert(path, 'EUC-JP')} (or -f CP932, whichever "
                               "reads right).") from None
    except UnicodeDecodeError as error:
        raise ReplicationError(f"{what} {path} is neither UTF-8 nor Shift-JIS (cp932) (byte {error.start}), nor "
                               "EUC-JP; " + HOW_TO_CONVERT.format(path) + ".") from None


def _how_to_convert(path: Path, encoding: str) -> str:
    return HOW_TO_CONVERT.format(path).replace("CP932", encoding.upper().replace("_", "-"))


def read_config(path: str | Path | None) -> Config:
    """Read ``replicate.toml``; every unknown section or key, wrong type or value out of range is an error
    naming it (all of them at once), before any data is read."""
    config = Config()
    if path is None:
        return config
    path = Path(path)
    text, note = read_text_any(path, "config")
    if note:
        config.notes.append(note)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ReplicationError(f"config {path} is not valid TOML: {error}. Strings need quotes, e.g. "
                               'radius_km = 5.0 and jugyoin = "employees".') from error
    problems = []
    for section in sorted(set(raw) - {"columns", "disclosure", "analysis", "tfp", "treatment", "encoding"}):
        problems.append(f"unknown section [{section}] (use columns, disclosure, analysis, tfp, treatment, encoding)")
    config.treatment, treatment_problems = parse_treatment(raw.get("treatment"))
    problems += treatment_problems
    for section in ("columns", "disclosure", "analysis", "tfp", "encoding"):
        if section in raw and not isinstance(raw[section], dict):
            problems.append(f"{section} = {raw.pop(section)!r}: [{section}] must be a section (a table), e.g. "
                            f"[{section}] on its own line followed by key = value lines")
    problems += _read_columns(raw.get("columns", {}), config)
    problems += _read_encodings(raw.get("encoding", {}), config)
    for section, settings, target in (("analysis", ANALYSIS_SETTINGS, config.analysis),
                                      ("tfp", TFP_SETTINGS, config.tfp)):
        for key, value in raw.get(section, {}).items():
            if key not in settings:
                problems.append(f"[{section}] {key}: unknown setting (known: {', '.join(settings)})")
            elif (problem := settings[key].problem(value)) is not None:
                problems.append(f"[{section}] {key} = {_toml(value)}: {problem}")
            else:
                target[key] = value
    disclosure = raw.get("disclosure", {})
    typed = _disclosure_type_problems(disclosure)
    problems += typed
    if not typed:
        try:
            config.disclosure = DisclosureRules.from_mapping(disclosure)
        except (TypeError, ValueError) as error:
            problems.append(f"[disclosure]: {error}")
    if problems:
        raise ReplicationError(f"config {path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return config


TREATMENT_DEFAULTS: dict[str, Any] = {
    "name": "treatment", "column": None, "start_year_column": None, "outcomes": None, "groups": None,
    "horizons": 5, "placebo_horizons": [-3, -2], "sample": None, "first_start_year": None,
    "last_start_year": None, "covariates": None, "exact": ["year", "industry", "size"],
}


def parse_treatment(section: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The ``[treatment]`` section: a binary treatment evaluated like exports (matching + DiD), with checks."""
    if section is None:
        return None, []
    if not isinstance(section, dict):
        return None, ["[treatment] must be a table of settings"]
    problems = [f"[treatment] {key}: unknown setting (known: {', '.join(TREATMENT_DEFAULTS)})"
                for key in section if key not in TREATMENT_DEFAULTS]
    settings = {**TREATMENT_DEFAULTS, **{k: v for k, v in section.items() if k in TREATMENT_DEFAULTS}}
    if settings["column"] is None and settings["start_year_column"] is None:
        problems.append("[treatment]: give column (0/1, on from the take-up year) and/or start_year_column")
    for key in ("name", "column", "start_year_column", "sample", "covariates"):
        if settings[key] is not None and not (isinstance(settings[key], str) and settings[key].strip()):
            problems.append(f"[treatment] {key} = {settings[key]!r}: must be a non-empty string")
    for key, required in (("outcomes", True), ("groups", False), ("exact", False)):
        value = settings[key]
        if value is None and not required:
            continue
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            problems.append(f"[treatment] {key} = {value!r}: must be a non-empty list of column names or labels, "
                            f"e.g. {key} = [\"sales\"]")
        elif len(set(value)) < len(value):
            problems.append(f"[treatment] {key} = {_toml(value)}: lists "
                            f"{sorted({v for v in value if value.count(v) > 1})} more than once; give each once")
    problems += _label_problems(settings)
    for key, setting in TREATMENT_SETTINGS.items():
        if settings[key] is not None and (problem := setting.problem(settings[key])) is not None:
            problems.append(f"[treatment] {key} = {_toml(settings[key])}: {problem}")
    return settings, problems


def _label_problems(settings: dict[str, Any]) -> list[str]:
    """The [treatment] values that become labels of the outputs (effects.csv, report.html, run.log) must be
    neutral, so that no firm's name, id or figure leaves the room in a label (disclosure.OUTPUT_LABELS says why
    per value): the name and the outcome names follow a pattern without digits or ids (check-disclosure
    re-checks it and lists them for the output checker), the groups are kaigai's own size classes."""
    problems = []
    name = settings["name"]
    if isinstance(name, str) and not NEUTRAL_NAME.fullmatch(name):
        problems.append(f"[treatment] name = {_toml(name)}: a short neutral label for effects.csv — "
                        f"{NEUTRAL_NAME_RULE} (e.g. \"support\"); it leaves the room with the results, so it may "
                        "not name a firm or carry an id or a figure")
    outcomes = settings["outcomes"] if isinstance(settings["outcomes"], list) else []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, str) and (not NEUTRAL_COLUMN.fullmatch(outcome) or ID_TOKEN.search(outcome)):
            problems.append(f"[treatment] outcomes[{i}] = {_toml(outcome)}: the outcome's name is a label of "
                            f"effects.csv, so it must be {NEUTRAL_COLUMN_RULE}; rename the column in the firm "
                            "file (e.g. rd_spending) and list that name")
    groups = settings["groups"] if isinstance(settings["groups"], list) else []
    odd = [g for g in groups if isinstance(g, str) and g not in EXPORT_GROUPS]
    if odd:
        problems.append(f"[treatment] groups = {_toml(groups)}: {odd} are not size classes; the groups are kaigai's "
                        f"size classes at t − 1 from employees: {', '.join(map(repr, EXPORT_GROUPS))}")
    return problems


TREATMENT_SETTINGS: dict[str, Setting] = {
    "horizons": Setting("int", 1, 15, "the last year after the start"),
    "placebo_horizons": Setting("int list", -15, -2, "placebo years before the start; −1 is the base year"),
    "first_start_year": Setting("int", 1900, 2100, "earliest start year evaluated"),
    "last_start_year": Setting("int", 1900, 2100, "latest start year evaluated"),
}


def _toml(value: Any) -> str:
    """A config value as the user wrote it, cut short (a list can be thousands of items long)."""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str | bool) else repr(value)
    return text if len(text) <= 200 else f"{text[:200]}… ({len(text):,} characters)"


def _read_columns(columns: dict[str, Any], config: Config) -> list[str]:
    problems = []
    for table, mapping in columns.items():
        if table not in TABLES:
            problems.append(f"[columns.{table}]: unknown table (use {', '.join(TABLES)})")
            continue
        if not isinstance(mapping, dict):
            problems.append(f"[columns] {table} = {_toml(mapping)}: must be a section [columns.{table}] with "
                            'lines like your_name = "schema_name"')
            continue
        known = {c.name for c in SCHEMAS[table].columns}
        targets: dict[str, str] = {}
        for source, target in mapping.items():
            if not isinstance(target, str):
                problems.append(f"[columns.{table}] {source} = {_toml(target)}: the schema column name must be a "
                                f'quoted string, e.g. {source} = "employees"')
            elif target not in known:
                problems.append(f"[columns.{table}] {source} = {target!r}: {target!r} is not a column of the "
                                f"{table} schema")
            elif target in targets:
                problems.append(f"[columns.{table}] {targets[target]} and {source} both map onto {target!r}: keep "
                                "one")
            else:
                targets[target] = source
        config.columns[table] = {k: v for k, v in mapping.items() if isinstance(v, str)}
    return problems


ENCODINGS = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "cp932": "cp932", "shift_jis": "cp932",
             "euc_jp": "euc_jp"}


def _read_encodings(section: dict[str, Any], config: Config) -> list[str]:
    """[encoding] firms = "euc_jp": the encoding of a table's CSV, for a file whose bytes do not tell."""
    problems = []
    for table, name in section.items():
        key = str(name).lower().replace("-", "_").replace("utf_8", "utf-8")
        if table not in TABLES:
            problems.append(f"[encoding] {table}: unknown table (use {', '.join(TABLES)})")
        elif not isinstance(name, str) or key not in ENCODINGS:
            problems.append(f"[encoding] {table} = {_toml(name)}: must be one of \"utf-8\", \"cp932\" (Shift-JIS) "
                            "or \"euc_jp\"")
        else:
            config.encodings[table] = ENCODINGS[key]
    return problems


def _disclosure_type_problems(values: dict[str, Any]) -> list[str]:
    """Types of the [disclosure] keys, from DisclosureRules' own defaults (a bool is never a count or share)."""
    import dataclasses

    defaults = {f.name: f.default for f in dataclasses.fields(DisclosureRules)}
    problems = []
    for key, value in values.items():
        if key not in defaults:
            continue  # DisclosureRules.from_mapping names unknown keys
        default = defaults[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:  # no plain default to compare with: DisclosureRules checks it itself
            ok = True
        if not ok:
            want = {bool: "true or false", int: "a whole number", float: "a number"}.get(type(default), "text")
            problems.append(f"[disclosure] {key} = {_toml(value)}: must be {want} (default {default!r})")
    return problems


@dataclass(frozen=True)
class CsvScan:
    """What one pass of the csv module over a file found: its encoding, header and the line each record starts on."""

    encoding: str
    header: list[str]
    lines: list[int]


def _scan_csv(path: Path, table: str, encoding: str | None = None) -> CsvScan:
    """Read the CSV's raw rows once with the csv module, which pandas does not: its encoding, header and lines.

    UTF-8 (with or without BOM), else Japanese Windows' cp932 (Shift-JIS) or EUC-JP, each decoded strictly; a
    file valid in both Japanese encodings is refused unless the config's [encoding] names one (``encoding``), and
    anything else is an error saying how to convert. A field over the csv field limit (an unclosed quote, usually),
    a row with more or fewer fields than the header, or a repeated column name is refused with its line number,
    rather than read as something else (pandas fills a short row with blanks and renames a repeated column
    silently).
    """
    import gzip

    option = f"--{table.replace('_', '-')}"
    opener: Any = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        if handle.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            raise ReplicationError(f"{option}: {path} is UTF-16 (Excel's 'Unicode text'); save it as 'CSV UTF-8' "
                                   "or run iconv -f UTF-16 -t UTF-8.")
    scans = {}
    if encoding is not None:  # the config's [encoding]: that one only
        try:
            return _scan_with(opener, path, option, encoding)
        except UnicodeDecodeError:
            raise ReplicationError(f"{option}: {path} is not valid {ENCODING_NAMES[encoding]} text, as [encoding] "
                                   f"{table} in the config says; correct that line or delete it to let kaigai "
                                   "detect the encoding.") from None
    for candidate in ("utf-8-sig", *JAPANESE_ENCODINGS):
        try:
            scans[candidate] = _scan_with(opener, path, option, candidate)
        except UnicodeDecodeError:
            continue
        if candidate == "utf-8-sig":
            return scans[candidate]
    if len(scans) == 1:
        return next(iter(scans.values()))
    if scans:  # EUC-JP text is mostly valid (garbled) Shift-JIS too: the bytes cannot say which is meant
        with opener(path, "rb") as handle:
            ambiguity = first_difference(handle, scans)
        raise ReplicationError(f"{option}: {path} {ambiguity}. Say which in the config: [encoding] {table} = "
                               f"\"euc_jp\" (or \"cp932\"), or {_how_to_convert(path, 'EUC-JP')}.")
    raise ReplicationError(f"{option}: {path} is neither UTF-8 nor Shift-JIS (cp932) nor EUC-JP; "
                           + HOW_TO_CONVERT.format(path) + ".")


def _scan_with(opener: Any, path: Path, option: str, encoding: str) -> CsvScan:
    import csv

    with opener(path, "rt", encoding=encoding, newline="") as handle:
        header, lines = _scan_rows(csv.reader(handle), path, option)
    return CsvScan(encoding, header, lines)


def _scan_rows(reader: Any, path: Path, option: str) -> tuple[list[str], list[int]]:
    """The header and the line each data record starts on (the header is line 1; blank lines are skipped, as
    pandas skips them), or an error naming the line."""
    import csv

    line = 1  # where the record being read starts: a quoted field may span lines
    lines: list[int] = []
    try:
        header = next(reader, [])
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise ReplicationError(f"{option}: {path} has the column name(s) {repeated} more than once in its "
                                   "header (line 1); rename or drop the copies so each column is read once.")
        if len(header) == 1 and (separator := next((c for c in ";\t|" if c in header[0]), None)):
            raise ReplicationError(f"{option}: {path} is separated by {separator!r}, not commas (its header is one "
                                   f"column, {header[0][:60]!r}…); save it as comma-separated CSV.")
        line = reader.line_num + 1
        for row in reader:
            if row and len(row) != len(header):
                raise ReplicationError(
                    f"{option}: {path} line {line} has {len(row)} field(s) but the header has {len(header)}; a "
                    f"comma inside a value needs quotes (\"1,5\"), a quote (\") must be closed, and a short row "
                    "is not filled in: fix that line.")
            if "\x00" in "".join(row):
                raise ReplicationError(f"{option}: {path} line {line} holds a NUL byte (a binary or damaged file); "
                                       "export the table again as CSV.")
            if row:
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error as error:
        hint = ("; a field this long usually means a quote (\") opened there is never closed" if "field larger"
                in str(error) else "")
        raise ReplicationError(f"{option}: {path} line {line}: {error}{hint} — fix that line.") from None
    return header, lines


def read_table(path: str | Path, table: str, notes: list[str] | None = None,
               columns: dict[str, str] | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file; a missing, empty, unreadable or ragged file is a clear error.

    A CSV in Shift-JIS (cp932) or EUC-JP is read as such and a note appended to ``notes``; ``encoding`` (the
    config's [encoding]) names it when the bytes cannot tell. The schema's text columns
    (industry; ``columns`` maps the file's names onto the schema's, as the config's [columns.<table>]) are read
    as text exactly as written: JSIC code "09" stays "09", and a column of codes with a few text ones is not read
    as numbers in one chunk and text in the next (9 and "9"). A Parquet column of whole-number codes becomes text
    (9 → "9"), with a note. A CSV's rows are indexed by the file line they start on (index name "line"), so
    that the validation's messages name lines.
    """
    path = Path(path)
    option = f"--{table.replace('_', '-')}"
    if not path.exists():
        raise ReplicationError(f"{option}: {path} does not exist. {parked_input_note(path)}".rstrip())
    if path.is_dir():
        raise ReplicationError(f"{option}: {path} is a folder; give the {table} file inside it.")
    if path.stat().st_size == 0:
        raise ReplicationError(f"{option}: {path} is empty.")
    suffix = ("".join(path.suffixes[-2:]) if path.suffix.lower() == ".gz" else path.suffix).lower()
    file_names = {target: source for source, target in (columns or {}).items()}
    text_columns = [file_names.get(c.name, c.name) for c in SCHEMAS[table].columns if c.kind == "str"]
    try:
        if suffix in (".parquet", ".pq"):
            data = pd.read_parquet(path)
            if any(name is not None for name in data.index.names):  # written with firm_id and year as its index
                if notes is not None:
                    notes.append(f"{option}: {path} keeps {[n for n in data.index.names if n is not None]} in its "
                                 "index; read as columns.")
                data = data.reset_index()
            data = _codes_as_text(data, text_columns, option, path, notes)
        elif suffix in (".csv", ".csv.gz"):
            scan = _scan_csv(path, table, encoding)
            if scan.encoding != "utf-8-sig" and notes is not None:
                notes.append(f"{option}: {path} is not UTF-8; read it as {ENCODING_NAMES[scan.encoding]}.")
            with warnings.catch_warnings():  # mixed types in a column are reported by validate_inputs, by name
                warnings.simplefilter("ignore", pd.errors.DtypeWarning)
                data = pd.read_csv(path, encoding=scan.encoding, compression="gzip" if suffix.endswith(".gz") else None,
                                   dtype={name: str for name in text_columns if name in scan.header})
            if len(scan.lines) == len(data):
                data.index = pd.Index(scan.lines, name="line")
        else:
            excel = " In Excel: Save as → 'CSV UTF-8 (comma delimited)'." if suffix in (".xlsx", ".xls") else ""
            raise ReplicationError(f"{option}: {path} is neither CSV (.csv, .csv.gz) nor "
                                   f"Parquet (.parquet); convert it to one of them.{excel}")
    except ReplicationError:
        raise
    except Exception as error:  # pyarrow and the CSV parser raise many kinds
        raise ReplicationError(f"{option}: cannot read {path} as {suffix[1:]}: "
                               f"{type(error).__name__}: {error}") from error
    if data.empty:
        raise ReplicationError(f"{option}: {path} has no rows.")
    return data


def _codes_as_text(data: pd.DataFrame, text_columns: list[str], option: str, path: Path,
                   notes: list[str] | None) -> pd.DataFrame:
    """Whole-number codes in a text column (JSIC 9, 10, … saved as numbers) as the text they spell, with a note."""
    for name in text_columns:
        if name not in data.columns or pd.api.types.is_bool_dtype(data[name]) \
                or not pd.api.types.is_numeric_dtype(data[name]):
            continue
        values = data[name]
        present = values.dropna()
        if not (present % 1 == 0).all():
            continue  # not codes: validate names the column and its dtype
        data = data.assign(**{name: present.astype("int64").astype(str).reindex(values.index)})
        if notes is not None:
            notes.append(f"{option}: {path}: column '{name}' holds numbers; read as text codes (9 → '9').")
    return data


# Largest believable value per unit: beyond it the column is in the wrong unit (yen, not million yen) or
# corrupt (1e300 overflows every sum and log).
CEILINGS = {"million yen": 1e10, "persons": 1e7, "count": 1e6}
YEAR_RANGE = (1900, 2100)


def _value_problems(data: pd.DataFrame, table: str) -> list[str]:
    """What the schema cannot see: infinite or absurd magnitudes, years that are dates, endless text."""
    problems = []
    for column in SCHEMAS[table].columns:
        if column.name not in data.columns:
            continue
        series = data[column.name]
        where = f"column '{column.name}' ({column.unit})"
        if column.kind == "str":
            lengths = series.astype(str).str.len()
            long = lengths > 1000
            if long.any():
                problems.append(f"{where} has text of {int(lengths.max()):,} characters at {_rows(long)}; a value "
                                "that long is usually an unclosed quote — fix those lines.")
            continue
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            if column.kind == "year":
                text = series.dropna()
                if not pd.api.types.is_datetime64_any_dtype(text):  # "2015" is a year; "2015-04-01" is not
                    text = text[pd.to_numeric(text, errors="coerce").isna()]
                dates = pd.to_datetime(text, errors="coerce", format="mixed")
                if len(text) and dates.notna().mean() > 0.5:
                    problems.append(f"{where} holds dates (e.g. {text.iloc[0]!r}); give the fiscal "
                                    f"year as a number, e.g. df['{column.name}'] = dates.dt.year.")
            continue
        values = series.astype(float)
        infinite = np.isinf(values)
        if infinite.any():
            problems.append(f"{where} has infinite values at {_rows(infinite)}; fix them in the source.")
        if column.kind == "year":
            low, high = YEAR_RANGE
            odd = values.notna() & ((values < low) | (values > high))
            if odd.any():
                serial = odd & values.between(20000, 80000)
                hint = (" — these look like Excel serial dates (36526 = 2000-01-01): convert them with "
                        "=YEAR(cell) in Excel before saving" if serial.any() else "")
                problems.append(f"{where} must be a year in {low}–{high}; {int(odd.sum())} value(s) are not (e.g. "
                                f"{values[odd].iloc[0]:g}) at {_rows(odd)}{hint}.")
            continue
        ceiling = next((limit for unit, limit in CEILINGS.items() if unit in column.unit), None)
        if ceiling is not None:
            absurd = values.notna() & ~infinite & (values.abs() > ceiling)
            if absurd.any():
                problems.append(f"{where} has {int(absurd.sum())} value(s) above {ceiling:g} (e.g. "
                                f"{values[absurd].iloc[0]:g}) at {_rows(absurd)}: no firm is that large — check "
                                "the unit (yen vs million yen) or the source.")
    return problems


def _rows(mask: pd.Series) -> str:
    return rows_text(mask.index[mask.to_numpy()])


def _mapping_problems(data: pd.DataFrame, table: str, mapping: dict[str, str]) -> list[str]:
    """A [columns] line must rename a column the file has, onto a name the file does not already use."""
    problems = []
    renamed_away = set(mapping)
    for source, target in mapping.items():
        key = f"[columns.{table}] {source} = {target!r}"
        if source not in data.columns:
            problems.append(f"{key}: the file has no column {source!r} (it has {list(data.columns)[:12]}); fix the "
                            "name on the left")
        elif target != source and target in data.columns and target not in renamed_away:
            problems.append(f"{key}: the file already has a column {target!r}, so two columns would be called "
                            f"{target!r}; drop one of them from the file, or delete this line")
    return problems


def validate_inputs(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, pd.DataFrame]:
    """Map column names and validate all three tables; raise one error listing every problem."""
    problems: list[str] = []
    checked = {}
    for name, data in tables.items():
        mapping = config.columns.get(name) or {}
        mapping_problems = _mapping_problems(data, name, mapping)
        if mapping_problems:
            problems += [f"{name}: {p}" for p in mapping_problems]
            continue
        renamed = data.rename(columns=mapping) if mapping else data
        value_problems = _value_problems(renamed, name)
        try:
            checked[name] = validate(data, name, rename=mapping or None)
        except SchemaError as error:
            problems += [f"{name}: {p}" for p in error.problems]
        problems += [f"{name}: {p}" for p in value_problems]
        if value_problems:
            checked.pop(name, None)
    if "firms" in checked:
        firms = checked["firms"]
        problems += _data_label_problems(firms, config)
        if firms["industry"].nunique() < 2:
            problems.append(f"firms: only one industry ({firms['industry'].iloc[0]!r}); the analyses compare "
                            "and control for industries — check the industry column and its mapping.")
        for status in ("exporter", "fdi"):
            started = firms.sort_values(["firm_id", "year"]).groupby("firm_id")[status].apply(
                lambda s: bool((s.astype(int).diff() == 1).any()))
            if not started.any():
                problems.append(f"firms: no firm switches '{status}' from 0 to 1, so there are no starters to "
                                "evaluate.")
        problems += _settings_problems(config, firms)
    if problems:
        raise ReplicationError(f"the inputs have {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    if "firms" in checked:
        checked["firms"] = read_extra_covariates(config, checked["firms"])
    # the rows keep their index: a CSV's file lines (index "line"), a Parquet file's rows from 0, so that an
    # estimator's message at a stage names the rows as the validation's messages do (_numbering)
    return checked


def _data_label_problems(firms: pd.DataFrame, config: Config) -> list[str]:
    """Labels from the firm file that become labels of the outputs: an industry label with an identifier-like
    token (F000123, a 法人番号) would leave the room in production.csv, and a firm file's own 'size' column would
    give the [treatment] groups their labels (disclosure.OUTPUT_LABELS: industry labels are otherwise free, and
    listed by check-disclosure for the output checker; the groups are kaigai's size classes)."""
    problems = []
    industry = firms["industry"].astype(str)
    odd = industry.map(lambda label: ID_TOKEN.search(label) is not None)
    if odd.any():
        problems.append(f"firms: column 'industry' holds {industry[odd].nunique()} label(s) with an identifier-like "
                        f"token (e.g. {industry[odd].iloc[0]!r}) at {_rows(odd)}; industry labels are printed in "
                        "production.csv and leave the room with it: use industry codes or names (JSIC codes have "
                        "at most four digits), never a firm's id or number.")
    if config.treatment is not None and "size" in firms.columns:
        sizes = firms["size"].astype(str).where(firms["size"].notna())
        odd = sizes.notna() & ~sizes.isin(EXPORT_GROUPS)
        if odd.any():
            problems.append(f"firms: column 'size' holds label(s) other than kaigai's size classes "
                            f"({', '.join(map(repr, EXPORT_GROUPS))}), e.g. {sizes[odd].iloc[0]!r} at {_rows(odd)}; "
                            "the [treatment] groups are reported under these labels in effects.csv. Drop or rename "
                            "the column: kaigai then computes the size classes from employees.")
    return problems


def _settings_problems(config: Config, firms: pd.DataFrame) -> list[str]:
    """The [analysis] years and horizons must fit the firm panel's years (checked before any stage runs)."""
    first, last = int(firms["year"].min()), int(firms["year"].max())
    settings = config.analysis
    problems = []
    for analysis in ("export", "fdi"):
        start_key, horizon_key = f"first_{analysis}_start_year", f"{analysis}_horizons"
        start, horizons = int(settings[start_key]), int(settings[horizon_key])
        if not first + 1 <= start <= last:
            problems.append(f"[analysis] {start_key} = {start}: outside the firm panel ({first}–{last}); a start "
                            f"year needs the year before it in the data, so use {first + 1}–{last}")
        elif start + horizons > last:
            problems.append(f"[analysis] {horizon_key} = {horizons}: with {start_key} = {start} the last horizon "
                            f"lies beyond the panel's last year {last}; use {horizon_key} ≤ {last - start}")
    design = str(settings["did_design"])
    for column, does, fallback, _ in missing_design_inputs(design, firms.columns):
        problems.append(f"[analysis] did_design = \"{design}\" {does}, but the firm file has no '{column}' column "
                        f"({SCHEMAS['firms'].column(column).survey_item}): map it in [columns.firms], or set "
                        f"did_design = \"{fallback}\"")
    problems += _extra_covariate_problems(settings, firms)
    if config.treatment is not None:
        problems += _treatment_fit_problems(config.treatment, firms, first, last)
    return problems


# the columns stage_tfp writes into the firm table before the DiD stages read it (an analyst's column of one of
# these names would be overwritten without a word): its logs, TFP and pay per employee
TFP_STAGE_LOGS = ("value_added", "employees", "capital_stock", "intermediate_inputs")
TFP_STAGE_COLUMNS = frozenset({*(f"log_{name}" for name in TFP_STAGE_LOGS), "tfp", "compensation_per_employee"})


def _extra_covariate_problems(settings: dict[str, Any], firms: pd.DataFrame) -> list[str]:
    """The [analysis] did_extra_covariates must be columns of the firm file holding numbers on a scale the logit
    can weigh, which the score may take: not a key, the status, a start year or a column it reads already (the
    library's own rule, for each analysis), nor a column the TFP stage writes."""
    names = list(settings["did_extra_covariates"])
    if not names:
        return []
    key = f"[analysis] did_extra_covariates = {_toml(names)}"
    refused: dict[str, list[str]] = {}  # why → the analyses that refuse, one name at a time
    usable = []
    for name in names:
        whys = []
        for analysis, label in (("export", "exports"), ("fdi", "FDI")):
            why = extra_covariates_problem([name], str(settings["did_design"]), analysis, tfp_col="tfp")
            if why is not None:
                refused.setdefault(why.removeprefix("extra_covariates: "), []).append(label)
                whys.append(why)
        if not whys:
            usable.append(name)
    problems = [f"{key}: {why} (for {' and '.join(labels)})" for why, labels in refused.items()]
    written = [name for name in usable if name in TFP_STAGE_COLUMNS]
    if written:
        problems.append(f"{key}: {written} is a column kaigai replicate computes itself (the TFP stage writes "
                        f"{', '.join(sorted(TFP_STAGE_COLUMNS))}) and would replace yours; rename the column in the "
                        "firm file")
    usable = [name for name in usable if name not in TFP_STAGE_COLUMNS]
    absent = [name for name in usable if name not in firms.columns]
    if absent:
        problems.append(f"{key}: {_some(absent)} not in the firm file; give columns of the firm file as they are "
                        "named after [columns.firms] (the schema's names for mapped columns, the file's own "
                        "otherwise)")
    for name in usable:
        if name in absent:
            continue
        try:
            values = _extra_covariate_values(firms, name, key)
        except ValueError as error:
            problems.append(str(error))
            continue
        present = values[~np.isnan(values)]
        if not len(present):
            problems.append(f"{key}: '{name}' is empty in every row of the firm file; fill it in or leave it out")
            continue
        problem = extra_scale_problem(name, present, "every row of the firm file")
        if problem is not None:
            problems.append(f"{key}: {problem}")
    return problems


def _extra_covariate_values(firms: pd.DataFrame, name: str, key: str) -> np.ndarray:
    """An extra covariate as floats (numbers stored as text are read, without the library's warning: replicate
    says it once, in a note); a ValueError names the column and rows otherwise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return as_numbers(firms[name], name, f"{key}: the firm file")


def read_extra_covariates(config: Config, firms: pd.DataFrame) -> pd.DataFrame:
    """The firm table with its did_extra_covariates as numbers (checked by :func:`_extra_covariate_problems`),
    noting each that was stored as text, so no stage warns about it."""
    names = list(config.analysis["did_extra_covariates"])
    key = f"[analysis] did_extra_covariates = {_toml(names)}"
    as_text = [name for name in names if not pd.api.types.is_numeric_dtype(firms[name])]
    for name in as_text:
        config.notes.append(f"firms: '{name}' (did_extra_covariates) holds numbers stored as text; read as numbers")
    return firms.assign(**{name: _extra_covariate_values(firms, name, key) for name in names}) if names else firms


def _treatment_fit_problems(settings: dict[str, Any], firms: pd.DataFrame, first: int, last: int) -> list[str]:
    """The [treatment] columns, years and horizons must fit the firm file (before any stage runs)."""
    problems = []
    for i, outcome in enumerate(settings["outcomes"] or []):
        if outcome in firms.columns and (firms[outcome].dtype == bool
                                         or not pd.api.types.is_numeric_dtype(firms[outcome])):
            problems.append(f"[treatment] outcomes[{i}] = {outcome!r}: not a numeric column of the firm file "
                            f"(dtype {firms[outcome].dtype}); outcomes are positive amounts such as sales")
    column = settings["start_year_column"]
    if column is not None and column in firms.columns:
        years = pd.to_numeric(firms[column], errors="coerce")
        outside = firms.index[firms[column].notna() & ~years.between(first, last)]
        if len(outside):
            examples = ", ".join(map(repr, firms.loc[outside[:3], column].tolist()))
            problems.append(f"[treatment] start_year_column = {column!r}: {len(outside):,} row(s) (e.g. rows "
                            f"{', '.join(map(str, outside[:5]))}: {examples}) are not years of the firm panel "
                            f"({first}–{last}); give the column of take-up years (blank where never treated)")
    start, end = settings["first_start_year"], settings["last_start_year"]
    for key, year in (("first_start_year", start), ("last_start_year", end)):
        if year is not None and not first + 1 <= year <= last:
            problems.append(f"[treatment] {key} = {year}: outside the firm panel ({first}–{last}); a start year "
                            f"needs the year before it in the data, so use {first + 1}–{last}")
    if start is not None and end is not None and start > end:
        problems.append(f"[treatment] first_start_year = {start} is after last_start_year = {end}")
    earliest = start if start is not None and first + 1 <= start <= last else first + 1
    if earliest + settings["horizons"] > last:
        problems.append(f"[treatment] horizons = {settings['horizons']}: from the first start year {earliest} the "
                        f"last horizon lies beyond the panel's last year {last}; use horizons ≤ {last - earliest}")
    return problems


# --------------------------------------------------------------------------- disclosure helpers

def _pair_check(treated: tuple[np.ndarray, np.ndarray], control: tuple[np.ndarray, np.ndarray],
                rules: DisclosureRules) -> CellCheck:
    """A difference of two groups' means: the starters and the controls must each pass on their own."""
    return combine({"starters": check_cell(*treated, rules), "controls": check_cell(*control, rules)}, rules)


def percentile_window(values: np.ndarray, firm_ids: np.ndarray, q: float, k: int) -> np.ndarray:
    """Rows of the ``k`` distinct firms nearest in rank to the ``q``-th percentile, one row per firm.

    The published percentile is the mean of these rows: walking outwards from the percentile's rank, each
    firm enters once (with its observation nearest the percentile), so a firm with many firm-years around
    the percentile weighs 1/k like every other, and no single firm's value is shown. Empty if the group has
    fewer than ``k`` firms.
    """
    order = np.argsort(values, kind="stable")
    centre = q / 100 * (len(order) - 1)
    nearest = order[np.argsort(np.abs(np.arange(len(order)) - centre), kind="stable")]
    _, first = np.unique(firm_ids[nearest], return_index=True)  # each firm's nearest row
    if len(first) < k:
        return np.array([], dtype=int)
    return nearest[np.sort(first)[:k]]


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

    others: dict[str, str] = field(default_factory=dict)  # report, log -> what they hold (for the checker)
    notes: list[str] = field(default_factory=list)  # shown on the terminal at the end (e.g. cells not estimated)
    did_results: dict[str, Any] = field(default_factory=dict)  # both DiDs, when each needs the other's effects

    def write(self, name: str, table: pd.DataFrame, value_columns: list[str]) -> pd.DataFrame:
        """Write a protected table; it must carry the protection columns (:func:`apply_checks`)."""
        missing = [c for c in PROTECTION_COLUMNS if c not in table]
        if missing:
            raise ReplicationError(f"internal: {name} lacks the disclosure columns {missing}; not written.")
        schema = OUTPUT_TABLES.get(name)  # the checker knows each table's columns; a new one must be added there
        unknown = [c for c in table.columns if schema is None or c not in schema.columns]
        if schema is None or unknown or list(value_columns) != [c for c in schema.values if c in table]:
            raise ReplicationError(f"internal: {name} does not match disclosure.OUTPUT_TABLES (columns {unknown}, "
                                   f"values {value_columns}); not written.")
        table.to_csv(self.out / name, index=False)
        self.tables[name] = value_columns
        return table

    def save_figure(self, figure: Any, stem: str, sources: list[str]) -> None:
        import matplotlib.pyplot as plt

        if OUTPUT_FIGURES.get(stem) != tuple(sources):  # the checker knows every figure and its sources
            raise ReplicationError(f"internal: figure {stem} from {sources} is not in disclosure.OUTPUT_FIGURES.")
        for suffix in ("png", "svg"):
            figure.savefig(self.out / f"{stem}.{suffix}", dpi=120, bbox_inches="tight")
            self.figures[f"{stem}.{suffix}"] = sources
        plt.close(figure)


def stage_tfp(run: Run) -> None:
    from kaigai_lib.estimators import tfp

    firms = tfp.log_columns(run.inputs["firms"], list(TFP_STAGE_LOGS))
    result = tfp.levinsohn_petrin(firms, "log_value_added", "log_employees", "log_capital_stock",
                                  "log_intermediate_inputs", "firm_id", "year", by="industry",
                                  poly_order=int(run.config.tfp["poly_order"]), progress=False)
    firms["tfp"] = result.tfp(firms)
    firms["compensation_per_employee"] = firms["compensation"] / firms["employees"]
    run.firms = firms
    # production.csv keeps its columns: industry, input, coef, std_error, z, ci_low, ci_high, n_obs, n_firms
    table = result.tidy().rename(columns={"term": "input", "estimate": "coef"})
    table = table.assign(z=table["coef"] / table["std_error"])[
        ["industry", "input", "coef", "std_error", "z", "ci_low", "ci_high", "n_obs", "n_firms"]]
    rules, order = run.config.disclosure, int(run.config.tfp["poly_order"])
    # first stage: the labour coefficient and a constant + polynomial in (k, m) of order p: (p+1)(p+2)/2 terms
    n_parameters = 1 + (order + 1) * (order + 2) // 2
    checks = []
    for industry, n_obs in zip(table["industry"], table["n_obs"], strict=True):
        rows = firms.loc[firms["industry"] == industry]
        firms_check = check_cell(rows["firm_id"].to_numpy(), rows["value_added"].to_numpy(), rules)
        checks.append(combine({"firms": firms_check}, rules, residual_df=float(n_obs) - n_parameters))
    if run.world is not None:
        truth = run.world.truth.production.set_index("industry")
        names = {"log_employees": "beta_labour", "log_capital_stock": "beta_capital"}
        table["truth"] = [truth.loc[i, names[x]] if i in truth.index else np.nan
                          for i, x in zip(table["industry"], table["input"], strict=True)]
    values = ["coef", "std_error", "z", "ci_low", "ci_high"]
    run.write("production.csv", apply_checks(table, checks, values), values)
    log_line(run.log, "tfp", table["industry"].nunique())


def stage_did(run: Run, analysis: str) -> pd.DataFrame:
    """Matched DiD for one analysis; returns its protected rows of effects.csv."""
    from kaigai_lib.whitepaper.did_design import white_paper_did, white_paper_did_both
    from kaigai_lib.whitepaper.samples import ANALYSES

    settings = run.config.analysis

    def own_options(name: str) -> dict[str, Any]:
        return {"horizons": range(1, int(settings[f"{name}_horizons"]) + 1),
                "first_start_year": int(settings[f"first_{name}_start_year"])}

    options = {"pre_horizons": list(settings["placebo_horizons"]), "tfp_col": "tfp", "world": run.world,
               "design": str(settings["did_design"]), **DID_CONTROLS[str(settings["did_controls"])],
               "extra_covariates": tuple(settings["did_extra_covariates"])}
    if options.pop("other_start", False):
        # each analysis needs the other's estimated effects: both are estimated once, at the first DiD stage
        if analysis not in run.did_results:
            run.did_results = white_paper_did_both(run.firms, by_analysis={a: own_options(a) for a in ANALYSES},
                                                   **options)
        wp = run.did_results[analysis]
    else:
        wp = white_paper_did(run.firms, analysis, **own_options(analysis), **options)
    table = wp.result.table.copy()
    table.insert(0, "analysis", analysis)
    checks = _did_checks(table, wp.changes.table.assign(_group=wp.changes.table["group"]), wp.changes.unit,
                         "change_pct" if wp.scale == "percent" else "change_log", run.config.disclosure,
                         _fixed_effects(wp.result))
    _log_skipped(run, analysis, wp.result)
    # a group and its subgroup (e.g. "all" beside size classes) of one outcome × horizon may not differ by
    # fewer than min_firms starters or controls
    checks = suppress_differences(checks, list(zip(table["outcome"], table["horizon"], strict=True)),
                                  table["group"].astype(str).tolist(), run.config.disclosure)
    if wp.truth is not None:
        # the realised ATT of the matched starters in each cell, on the estimate's scale
        truth = wp.truth.rename(columns={"true_pct" if wp.scale == "percent" else "true_log": "truth"})
        keys = ["outcome", "group", "horizon"]
        table = table.merge(truth[[*keys, "truth"]], on=keys, how="left")
        table.loc[table["horizon"] < 0, "truth"] = table.loc[table["horizon"] < 0, "truth"].fillna(0.0)
    table = apply_checks(table, checks, ["estimate", "std_error", "p_value", "ci_low", "ci_high"])
    log_line(run.log, "did", analysis, wp.design, settings["did_controls"], int(wp.match.counts["matched_treated"]),
             len(table), int(table["suppressed"].sum()))
    _log_extra_covariates(run, analysis, wp.sample)
    return table


def _log_extra_covariates(run: Run, analysis: str, sample: Any) -> None:
    """The analyst's columns in the score, in run.log, with the firm-years at risk left out for lack of a value
    (counted on the terminal too: no row is dropped without a word)."""
    from kaigai_lib.whitepaper.samples import _extra_reason

    extra = list(sample.settings.get("extra_covariates", ()))
    if not extra:
        return
    left_out = {name: int(sample.excluded.loc[_extra_reason(name), "all"]) for name in extra}
    log_line(run.log, "did_extra", analysis, ", ".join(extra), sum(left_out.values()))
    lost = {name: n for name, n in left_out.items() if n}
    if lost:
        run.notes.append(f"{analysis}: {sum(lost.values()):,} firm-year(s) at risk left out of the matching for lack "
                         "of an extra covariate at t−1 (" + ", ".join(f"{name}: {n:,}" for name, n in lost.items())
                         + "); run.log counts them.")


def _did_checks(table: pd.DataFrame, changes: pd.DataFrame, unit: str, column: str,
                rules: DisclosureRules, fixed: list[str]) -> list[CellCheck]:
    """One check per DiD cell (outcome × group × horizon): its starters and its controls must each pass.

    A cell's groups are the rows its regression used (``regression_rows``): a row alone in its level of a fixed
    effect is dropped by the regression, so counting it would let a cell of two starters pass a rule of three."""
    from kaigai_lib.estimators.did import regression_rows

    checks = []
    for row in table.itertuples():
        cell = changes.loc[(changes["outcome"] == row.outcome) & (changes["horizon"] == row.horizon)
                           & (changes["_group"].astype(str) == str(row.group)) & changes[column].notna()]
        cell = regression_rows(cell, fixed)
        treated, control = cell.loc[cell["treated"] == 1], cell.loc[cell["treated"] == 0]
        checks.append(_pair_check((treated[unit].to_numpy(), treated[column].to_numpy()),
                                  (control[unit].to_numpy(), control[column].to_numpy()), rules))
    return checks


def _fixed_effects(result: Any) -> list[str]:
    """The fixed effects of a DidResult's regressions, as columns of its changes table."""
    return [*result.controls, *(["pair"] if result.pair_effects else [])]


def _log_skipped(run: Run, analysis: str, result: Any) -> None:
    """The cells matched_did could not estimate (blank in effects.csv, not suppressed): each with its reason
    in run.log, and a count on the terminal."""
    for cell in result.skipped.itertuples():
        log_line(run.log, "skipped", analysis, cell.outcome, cell.group, cell.horizon, cell.reason)
    if len(result.skipped):
        run.notes.append(f"{analysis}: {len(result.skipped)} cell(s) could not be estimated and are blank in "
                         "effects.csv (not suppressed); run.log names each and says why.")


def stage_treatment(run: Run) -> pd.DataFrame:
    """Matched DiD for the config's [treatment] (log points); returns its protected rows of effects.csv."""
    from kaigai_lib.estimators.did import TIDY_COLUMNS as DID_TABLE_COLUMNS
    from kaigai_lib.estimators.programme import DEFAULT_COVARIATES, treatment_did

    settings = run.config.treatment
    firms = run.firms
    named = {key: settings[key] for key in ("column", "start_year_column") if settings[key] is not None}
    named.update({f"outcomes[{i}]": o for i, o in enumerate(settings["outcomes"])})
    absent = [f"{key} = {name!r}" for key, name in named.items() if name not in firms.columns]
    if absent:
        raise ReplicationError(f"[treatment]: column(s) not in the firm file: {', '.join(absent)}. Add them to the "
                               "firm file, or map your names with [columns.firms].")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        design = treatment_did(firms, settings["column"], start_year=settings["start_year_column"],
                               outcomes=settings["outcomes"],
                               covariates=settings["covariates"] or DEFAULT_COVARIATES,
                               exact=settings["exact"], groups=settings["groups"],
                               horizons=range(1, int(settings["horizons"]) + 1),
                               pre_horizons=settings["placebo_horizons"], sample=settings["sample"],
                               first_start_year=settings["first_start_year"],
                               last_start_year=settings["last_start_year"], truth=_treatment_truth(run, settings))
    for caught_warning in caught:
        if issubclass(caught_warning.category, UserWarning):  # the design's counts: a note, not a traceback-like line
            log_line(run.log, "note", f"{settings['name']}: {caught_warning.message}")
            run.notes.append(f"{settings['name']}: {caught_warning.message}")
        else:
            warnings.warn(caught_warning.message, caught_warning.category, stacklevel=2)
    # effects.csv keeps the DiD table's columns and order (no n_obs, no bias)
    table = design.tidy()
    table = table[[c for c in [*DID_TABLE_COLUMNS, "truth"] if c in table.columns]]
    table.insert(0, "analysis", settings["name"])
    checks = _did_checks(table, design.changes.table.assign(_group=design.changes.table["size"]), design.changes.unit,
                         "change_log", run.config.disclosure, _fixed_effects(design.result))
    _log_skipped(run, settings["name"], design.result)
    checks = suppress_differences(checks, list(zip(table["outcome"], table["horizon"], strict=True)),
                                  table["group"].astype(str).tolist(), run.config.disclosure)
    table = apply_checks(table, checks, ["estimate", "std_error", "p_value", "ci_low", "ci_high"])
    log_line(run.log, "treatment", settings["name"], int(design.match.counts["matched_treated"]),
             int(design.match.counts["treated"]), len(table), int(table["suppressed"].sum()))
    return table


def _treatment_truth(run: Run, settings: dict[str, Any]) -> pd.DataFrame | None:
    """The support programme's true effects, when the inputs are a generated world's and the treatment is it."""
    if run.world is None or not ({settings["column"], settings["start_year_column"]}
                                 & {"supported", "support_start_year"}):
        return None
    return run.world.truth.support


def stage_distributions(run: Run) -> None:
    from kaigai_lib.teaching import figures

    firms = run.firms.loc[run.firms["manufacturing"].astype(bool)].copy()
    firms["tfp_relative"] = firms["tfp"] - firms.groupby(["industry", "year"])["tfp"].transform("mean")
    groups = figures.ownership_groups(firms, threshold=float(run.config.analysis["foreign_owned_ratio"]))
    firms["ownership"] = np.asarray(groups, dtype=object)
    rules = run.config.disclosure
    rows, checks = [], []
    for variable in ("tfp_relative", "compensation_per_employee"):
        for group, part in firms.groupby("ownership"):
            values, ids = part[variable].to_numpy(float), part["firm_id"].to_numpy()
            groups = {"firms": check_cell(ids, np.abs(values), rules)}
            # each percentile: the mean over 2·min_firms distinct firms around it, one row each
            # (percentile_window); each window is a group of its own for the count rule
            stats = {"mean": float(values.mean())}
            for q in (10, 25, 50, 75, 90):
                window = percentile_window(values, ids, q, 2 * rules.min_firms)
                stats[f"p{q}"] = float(values[window].mean()) if len(window) else np.nan
                if len(window):
                    groups[f"p{q} window"] = check_cell(ids[window], None, rules)
            rows.append({"variable": variable, "group": group, **stats})
            checks.append(combine(groups, rules))
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
    """The spillover model and its decomposition; each checked on its centre firms and receiving firms."""
    from kaigai_lib.estimators import spatial

    settings, rules = run.config.analysis, run.config.disclosure
    establishments = run.inputs["establishments"]
    catchments = spatial.build_catchments(establishments, run.inputs["firms"],
                                          radius_km=float(settings["radius_km"]),
                                          min_capital=float(settings["global_firm_capital"]))
    control, cluster = str(settings["spillover_control"]), str(settings["spillover_cluster"])
    result = spatial.fit_spillover(catchments, run.inputs["foreign_demand"], control=control, cluster=cluster,
                                   truth=run.world.truth.spillover if run.world is not None else None)
    areas = catchments.areas[["centre_id", "firm_id", "year", spatial.OPR]]
    receivers = catchments.members.merge(establishments[["establishment_id", "year", "firm_id", "exports"]],
                                         on=["establishment_id", "year"], how="left")
    # the firms behind the shipments control: a regressor too, so its contributors pass the same rules
    control_rows = None if control == "none" else catchments.control_contributions(control)
    # centre firms: only those whose ratio moves within a centre identify its coefficient (centre effects
    # absorb the rest); each weighs its squared within-centre variation
    within = areas[spatial.OPR] - areas.groupby("centre_id")[spatial.OPR].transform("mean")
    moving = within.abs() > 1e-12
    centre_firms = check_cell(areas.loc[moving, "firm_id"].to_numpy(), (within[moving] ** 2).to_numpy(), rules)
    residual_df = float(result.fitted.df_resid)
    model = combine({"centre firms": centre_firms, **_area_groups(receivers, control_rows, rules)}, rules,
                    residual_df=residual_df)
    table = result._summary_table().reset_index()  # spillover.csv's columns: the printed table's
    values = [col for col in table.columns if table[col].dtype.kind == "f" and col != "truth"]
    protected = apply_checks(table, [model] * len(table), values)
    run.write("spillover.csv", protected, values)

    decomposition = result.decomposition().reset_index()
    start, end = decomposition.attrs.get("start"), decomposition.attrs.get("end")
    shown_terms = dict(zip(protected["regressor"], ~protected["suppressed"], strict=True))
    # the areas observed in both years: the mean changes rest on their centre firms and receiving firms
    both = set(areas.loc[areas["year"] == start, "centre_id"]) & set(areas.loc[areas["year"] == end, "centre_id"])
    ends = areas.loc[areas["centre_id"].isin(both) & areas["year"].isin([start, end])]
    change = ends.pivot_table(index=["centre_id", "firm_id"], columns="year", values=spatial.OPR).reset_index()
    change_size = (change.get(end, 0.0) - change.get(start, 0.0)).abs().to_numpy()
    groups = {"centre firms": check_cell(change["firm_id"].to_numpy(), change_size, rules),
              **_area_groups(receivers, control_rows, rules, centres=both, years=[start, end])}
    checks = []
    for term, coefficient in zip(decomposition["term"], decomposition["coefficient"], strict=True):
        check = combine(groups, rules, residual_df=residual_df if pd.notna(coefficient) else None)
        if term in shown_terms and not shown_terms[term]:
            check = replace(check, passes=False,
                            reason=f"its coefficient is suppressed in spillover.csv; {check.reason}")
        checks.append(check)
    if not all(c.passes for c in checks[:-1]):
        # "other" is the total minus every contribution: beside the total it would give a hidden term back
        for i, term in enumerate(decomposition["term"]):
            if term == "other" and checks[i].passes:
                checks[i] = replace(checks[i], passes=False,
                                    reason="differencing: with a term suppressed, the rest would reveal it")
    dvalues = [col for col in decomposition.columns if decomposition[col].dtype.kind == "f"]
    shown = run.write("spillover_decomposition.csv", apply_checks(decomposition, checks, dvalues), dvalues)
    if not shown["suppressed"].any():
        # drawn from the protected table, never from the estimates in memory
        figure_table = shown.set_index("term")
        figure_table.attrs.update(decomposition.attrs)
        run.save_figure(spatial.plot_decomposition(figure_table), "fig_II-2-4-4_spillover_decomposition",
                        ["spillover.csv", "spillover_decomposition.csv"])
    log_line(run.log, "spillovers", len(catchments.centres), catchments.overlap_share, control, cluster)
    return protected


def _area_groups(receivers: pd.DataFrame, control_rows: pd.DataFrame | None, rules: DisclosureRules, *,
                 centres: set | None = None, years: list | None = None) -> dict[str, CellCheck]:
    """The receiving firms (by their exports) and the firms behind the shipments control (by what each adds
    to it), in the given centres and years (all when None)."""
    def within(rows: pd.DataFrame) -> pd.DataFrame:
        return rows if centres is None else rows.loc[rows["centre_id"].isin(centres) & rows["year"].isin(years)]

    shown = within(receivers)
    groups = {"receiving firms": check_cell(shown["firm_id"].to_numpy(), shown["exports"].to_numpy(), rules)}
    if control_rows is not None:
        shown = within(control_rows.loc[control_rows["amount"] != 0])
        groups["control firms"] = check_cell(shown["firm_id"].to_numpy(), shown["amount"].to_numpy(), rules)
    return groups


# --------------------------------------------------------------------------- the command

def _peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kilobytes on Linux


WORLD_FILE = "kaigai_world.json"


def _world_for(firms_path: Path, firms: pd.DataFrame) -> Any:
    """The generated world behind the inputs, if they came from ``kaigai generate`` (a kaigai_world.json
    beside the firm file); a malformed file, or data that are not that world's, is an error naming it."""
    marker = firms_path.parent / WORLD_FILE
    if not marker.exists():
        return None
    from kaigai_lib.world.synthetic import PRESETS, generate

    fix = (f"it is written by 'kaigai generate'; if these are your own data, delete or rename {marker}, "
           "otherwise regenerate the world")
    text, _ = read_text_any(marker, "world file")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReplicationError(f"{marker} is not valid JSON ({error}): {fix}.") from None
    if not isinstance(meta, dict):
        raise ReplicationError(f"{marker} must hold a JSON object with preset and seed: {fix}.")
    preset, seed = meta.get("preset"), meta.get("seed")
    if preset not in PRESETS:
        raise ReplicationError(f"{marker}: preset {preset!r} is not one of {sorted(PRESETS)}: {fix}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ReplicationError(f"{marker}: seed {seed!r} is not a whole number ≥ 0: {fix}.")
    world = generate(preset=preset, seed=seed)
    keys = ["firm_id", "year"]
    same = len(world.firms) == len(firms) and world.firms[keys].sort_values(keys).reset_index(drop=True).equals(
        firms[keys].astype(world.firms[keys].dtypes.to_dict()).sort_values(keys).reset_index(drop=True))
    if not same:
        raise ReplicationError(f"{marker} says preset {preset}, seed {seed}, but {firms_path} is not that world's "
                               f"firm panel ({len(firms):,} rows vs {len(world.firms):,}, or other firms and years), "
                               f"so its truth would be wrong: {fix}.")
    return world


def _report(run: Run) -> None:
    """report.html from the written effects.csv (free_text.render_report: check-disclosure renders it again
    from the folder and compares)."""
    page = render_report(run.config.disclosure.describe(), run.timings, run.figures, run.out / "effects.csv")
    (run.out / "report.html").write_text(page, encoding="utf-8")


def replicate(firms: str | Path, establishments: str | Path, foreign_demand: str | Path, out: str | Path,
              config: str | Path | None = None, *, force: bool = False, progress: bool = True,
              echo: Callable[[str], None] = print) -> Run:
    """Run the whole pipeline; write the outputs into ``out`` only if everything succeeds.

    Before any stage runs: ``--out`` is checked (:func:`kaigai_lib.data.outputs.check_output_path`), the config
    read and every key checked, and the three inputs read and validated; one error lists every problem.
    The results are written into a staging folder and moved onto ``out`` at the end (``OutputFolder``).
    Returns the :class:`Run` (stage times and peak memory, the tables and figures written).
    """
    from tqdm.auto import tqdm

    from kaigai_lib.data.outputs import OutputFolder

    paths = {"firms": Path(firms), "establishments": Path(establishments), "foreign_demand": Path(foreign_demand)}
    inputs_read = [*paths.values(), *([Path(config)] if config is not None else [])]
    folder = OutputFolder(out, command="replicate", inputs=inputs_read, force=force)  # refuses a bad --out now
    settings = read_config(config)
    for note in settings.notes:
        echo(f"kaigai replicate: note: {note}")
    with folder:  # holds the lock on --out from here; any error or signal removes the staging folder
        notes: list[str] = []
        inputs = {name: read_table(path, name, notes, settings.columns.get(name), settings.encodings.get(name))
                  for name, path in paths.items()}
        for note in notes:
            echo(f"kaigai replicate: note: {note}")
        inputs = validate_inputs(inputs, settings)
        world = _world_for(paths["firms"], inputs["firms"])
        staging = folder.path
        log = logging.getLogger(f"kaigai.replicate.{staging.name}")
        log.setLevel(logging.INFO)
        log.propagate = False  # the run's log goes to run.log; the terminal shows the progress bar
        handler = logging.FileHandler(staging / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
        try:
            # run.log leaves the room: a note names its file by the option, never by the path typed (a folder
            # can be named after a firm, e.g. /secure/Toyota_Motor_F000123/firms.csv)
            named = {f"--{name.replace('_', '-')}": path for name, path in paths.items()}
            if config is not None:
                named["--config"] = Path(config)
            for note in [*settings.notes, *notes]:
                log_line(log, "note", _without_paths(note, named))
            run = Run(inputs=inputs, config=settings, out=staging, log=log, world=world)
            if run.world is not None:
                log_line(log, "world")
            _run_stages(run, tqdm, progress)
        finally:
            log.removeHandler(handler)
            handler.close()
        folder.commit()
    total = sum(run.timings.values())
    for note in run.notes:
        echo(f"kaigai replicate: note: {note}")
    echo(f"kaigai replicate: wrote {len(run.tables)} tables and {len(run.figures)} figure files to {out}/ "
         f"in {total:.0f} s ({', '.join(f'{k}: {v:.0f} s' for k, v in run.timings.items())}).")
    run.out = folder.out
    return run


def _without_paths(note: str, paths: dict[str, Path]) -> str:
    """``note`` with each input's path (as typed, and absolute) replaced by the option that named it."""
    spellings = [(str(spelling), option) for option, path in paths.items()
                 for spelling in {path, path.absolute(), path.resolve()}]
    for spelling, option in sorted(spellings, key=lambda pair: -len(pair[0])):  # the longest first
        note = note.replace(spelling, f"the {option} file")
    return note


def _run_stages(run: Run, tqdm: Any, progress: bool) -> None:
    """The five stages, then effects.csv, the figure, the report and the disclosure manifest (checked)."""
    stages = list(STAGE_NAMES)  # run.log's templates know them (free_text.RUN_LOG)
    if run.config.treatment is not None:
        stages.insert(3, TREATMENT_STAGE.format(run.config.treatment["name"]))
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
            elif stage.startswith("treatment"):
                effects_parts.append(stage_treatment(run))
            elif stage.startswith("TFP and"):
                stage_distributions(run)
            else:
                stage_spatial(run)
        except ReplicationError:
            raise
        except (ValueError, KeyError) as error:
            raise ReplicationError(f"stage '{stage}': {error}{_numbering(run.inputs, str(error))}") from error
        run.timings[stage] = time.perf_counter() - started
        run.peak_memory_gb[stage] = _peak_rss_gb()
        log_line(run.log, "stage", stage, run.timings[stage], run.peak_memory_gb[stage])
    effects = _effects_table(effects_parts)
    run.write("effects.csv", effects, ["estimate", "std_error", "p_value", "ci_low", "ci_high"])
    _growth_figure(run, effects)
    _report(run)
    problems = publish_disclosure(run)
    if problems:
        raise ReplicationError("disclosure check failed on the results:\n  - " + "\n  - ".join(problems))


def _numbering(inputs: dict[str, pd.DataFrame], message: str) -> str:
    """What the row numbers in a stage's error mean: the estimators name the rows by their index, which is the
    file line of a CSV (as in the validation's messages) and the row from 0 of a Parquet file."""
    if not re.search(r"\b(rows?|index|lines?)\b", message):
        return ""
    lines = {name: data.index.name == "line" for name, data in inputs.items()}
    if all(lines.values()):
        return " (row and index numbers are the input files' lines; the header is line 1)"
    return " (row and index numbers are " + "; ".join(
        f"--{name.replace('_', '-')}: {'the file lines (header = line 1)' if line else 'rows counted from 0'}"
        for name, line in lines.items()) + ")"


def _effects_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    effects = pd.concat(parts, ignore_index=True)
    return effects[[*EFFECT_COLUMNS, *(["truth"] if "truth" in effects else []), *PROTECTION_COLUMNS]]


def publish_disclosure(run: Run) -> list[str]:
    """Write results.json and the manifest for every file in ``run.out``; re-check the folder with the run's rules.

    The run's log is closed first, so that the sha256 recorded for it stays true.
    """
    for handler in list(run.log.handlers):
        if isinstance(handler, logging.FileHandler) \
                and Path(handler.baseFilename).resolve().parent == Path(run.out).resolve():
            run.log.removeHandler(handler)
            handler.close()
    settings = {**run.config.analysis, **{f"tfp.{k}": v for k, v in run.config.tfp.items()}}
    write_manifest(run.out, run.config.disclosure, run.tables, run.figures,
                   {name: what for name, what in OTHER_FILES.items() if (run.out / name).exists()}, settings)
    return check_folder(run.out, run.config.disclosure, staging=True)  # the run's own staging folder


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
