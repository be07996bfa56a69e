"""The two free-text files ``kaigai replicate`` writes — ``run.log`` and ``report.html`` — from one source each,
so that the output checker (:func:`kaigai_lib.data.disclosure.check_results`) can hold them to exactly what
kaigai writes:

* every line of ``run.log`` is one of :data:`RUN_LOG` with its slots filled by values of the slot's kind
  (counts, numbers, kaigai's own setting keys and stage names): :func:`log_line` writes a line and refuses a
  value outside its slot, :func:`read_log` parses a log the same way and names every line that is not kaigai's.
  Notes (about how an input file was read) are free text: they are listed for the output checker to read;
* ``report.html`` is :func:`render_report` of the folder's own checked files (the rules, the stage times of
  ``run.log``, the figures, ``effects.csv``): the checker renders it again and compares it byte for byte, so a
  hidden element, a comment or an edited number cannot pass.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kaigai_lib.data.starts import EXPORT_GROUPS, FDI_GROUPS

# the stages of kaigai replicate, in order (the [treatment] stage, when configured, comes fourth)
STAGE_NAMES = ("TFP (Levinsohn–Petrin)", "exports: matching + DiD", "FDI: matching + DiD",
               "TFP and wage distributions", "spatial spillovers")
TREATMENT_STAGE = "treatment '{}': matching + DiD"
# a [treatment] name and outcome as replicate's config validation allows them (the disclosure check's rules)
NEUTRAL_NAME = re.compile(r"[a-z][a-z_]{0,23}")
# a column name with at most four digits in all (a year, a JSIC code): more could carry an id or an amount, however
# split (n1234_5678); the look-ahead stays inside the name, so the pattern can sit inside a longer line
NEUTRAL_COLUMN = re.compile(r"(?![a-z_]*(?:[0-9][a-z_]*){5})[a-z][a-z0-9_]{0,39}(?![a-z0-9_])")
_TREATMENT_NAME = NEUTRAL_NAME.pattern

# the most column names a setting of the config may list (replicate's did_extra_covariates)
MAX_COLUMN_LIST = 50
# what each kind of slot may hold (a printf conversion, the pattern a value must fit)
SLOTS: dict[str, tuple[str, str]] = {
    "count": ("%d", r"[0-9]{1,12}"),
    "seconds": ("%.1f", r"[0-9]{1,9}\.[0-9]"),
    "gigabytes": ("%.2f", r"[0-9]{1,6}\.[0-9]{2}"),
    "share": ("%.3f", r"[0-9]\.[0-9]{3}"),
    "key": ("%s", r"[a-z][a-z_]{0,39}"),  # kaigai's own setting values: white_paper, shipments, entity, …
    "analysis": ("%s", r"export|fdi"),
    "name": ("%s", _TREATMENT_NAME),
    "stage": ("%s", "|".join([*map(re.escape, STAGE_NAMES),
                              re.escape(TREATMENT_STAGE).replace(r"\{\}", _TREATMENT_NAME)])),
    "note": ("%s", r"[^\n\r]{1,400}"),  # free text: listed for the output checker to read
    "column": ("%s", NEUTRAL_COLUMN.pattern),  # an outcome: a schema column or a [treatment] outcome
    # the config's did_extra_covariates: column names of the firm file (listed for the output checker to read)
    "columns": ("%s", rf"{NEUTRAL_COLUMN.pattern}(?:, {NEUTRAL_COLUMN.pattern}){{0,{MAX_COLUMN_LIST - 1}}}"),
    "group": ("%s", "|".join(map(re.escape, [*EXPORT_GROUPS, *FDI_GROUPS]))),
    "horizon": ("%d", r"-?[0-9]{1,2}"),
}
# every line kaigai replicate writes into run.log: its template and the kinds of its slots ({} in order)
RUN_LOG: dict[str, tuple[str, tuple[str, ...]]] = {
    "note": ("note: {}", ("note",)),
    "world": ("inputs written by kaigai generate: truth attached", ()),
    "tfp": ("TFP: LP by industry for {} industries", ("count",)),
    "did": ("{}: {} matching design, {} controls; {} matched starters; {} cells, {} suppressed",
            ("analysis", "key", "key", "count", "count", "count")),
    "did_extra": ("{}: extra covariates at t−1 in the score: {}; {} firm-years at risk left out without them",
                  ("analysis", "columns", "count")),
    "treatment": ("{}: {} starters matched of {}; {} cells, {} suppressed (log points)",
                  ("name", "count", "count", "count", "count")),
    "spillovers": ("spillovers: {} centres, overlap share {}; control {}, standard errors {}",
                   ("count", "share", "key", "key")),
    "stage": ("stage {} done in {} s (peak memory so far {} GB)", ("stage", "seconds", "gigabytes")),
    # a cell matched_did could not fit: analysis (export, fdi or the [treatment] name), outcome, group, horizon
    # and its reason (free text from the estimator: listed for the output checker like a note)
    "skipped": ("{}: not estimated (blank in effects.csv): {} × {} × h={}: {}",
                ("key", "column", "group", "horizon", "note")),
}
LOG_FORMAT = "%(asctime)s %(message)s"
_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} "


def _pattern(key: str) -> re.Pattern[str]:
    template, slots = RUN_LOG[key]
    parts = re.escape(template).split(r"\{\}")
    body = parts[0] + "".join(f"({SLOTS[slot][1]})" + part for slot, part in zip(slots, parts[1:], strict=True))
    return re.compile(_TIMESTAMP + body)


_PATTERNS = {key: _pattern(key) for key in RUN_LOG}


def log_line(log: logging.Logger, key: str, *values: Any) -> None:
    """Write one line of run.log from its template; a value that does not fit its slot is an internal error
    (the output checker would refuse the line), never written."""
    template, slots = RUN_LOG[key]
    texts = [SLOTS[slot][0] % value for slot, value in zip(slots, values, strict=True)]
    for slot, text in zip(slots, texts, strict=True):
        if not re.fullmatch(SLOTS[slot][1], text):
            raise ValueError(f"internal: run.log line '{key}': {text[:60]!r} is not a {slot}; not written.")
    log.info(template.format(*texts))  # no arguments: logging leaves a % in the text as it is


def read_log(text: str) -> tuple[list[str], list[str], dict[str, float]]:
    """``run.log`` against :data:`RUN_LOG`: (problems naming each line that is not kaigai's, the notes to read,
    the stage times in seconds)."""
    foreign, notes, timings = [], [], {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        key, match = next(((k, m) for k, p in _PATTERNS.items() if (m := p.fullmatch(line))), (None, None))
        if match is None:
            foreign.append((number, line))
        elif "note" in RUN_LOG[key][1]:  # its free text is for the output checker to read
            notes.append(f"run.log: line {number}: {match[RUN_LOG[key][1].index('note') + 1][:200]}")
        elif "columns" in RUN_LOG[key][1]:  # column names from the config: read them too
            notes.append(f"run.log: line {number}: column names of the firm file: "
                         f"{match[RUN_LOG[key][1].index('columns') + 1]}")
        elif key == "stage":
            timings[match[1]] = float(match[2])
    problems = [f"run.log: line {number} is not a line kaigai writes ({line[:80]!r})." for number, line in foreign[:5]]
    if len(foreign) > 5:
        problems.append(f"run.log: {len(foreign) - 5} more line(s) are not lines kaigai writes (lines "
                        f"{foreign[5][0]}–{foreign[-1][0]}).")
    return problems, notes, timings


def logged_extra_covariates(text: str) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """From a run.log's text: each line of extra covariates as (analysis, its column names), and the analyses of
    its DiD lines, in the log's order (the output checker compares them with results.json's settings)."""
    extra, analyses = [], []
    for line in text.split("\n"):
        if (match := _PATTERNS["did_extra"].fullmatch(line)) is not None:
            extra.append((match[1], match[2].split(", ")))
        elif (match := _PATTERNS["did"].fullmatch(line)) is not None:
            analyses.append(match[1])
    return extra, analyses


def render_report(rules_text: str, timings: Mapping[str, float], figures: Iterable[str], effects_csv: Path) -> str:
    """report.html from the run's rules, stage times, PNG figures and the written ``effects.csv`` (read back, so
    the output checker renders the same page from the folder)."""
    times = pd.Series({stage: float(f"{seconds:.1f}") for stage, seconds in timings.items()}, name="seconds",
                      dtype=float)
    parts = ["<html><head><meta charset='utf-8'><title>kaigai replication report</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
             "</head><body>", "<h1>kaigai replication report</h1>",
             f"<p>Disclosure rules: {html.escape(rules_text)}. Suppressed cells are "
             "blank; results.json lists every file with its status, rule and counts.</p>",
             "<h2>Stage times</h2>", times.to_frame().to_html()]
    for figure in sorted(f for f in figures if f.endswith(".png")):
        parts.append(f"<h2>{html.escape(figure[:-4])}</h2><img src='{html.escape(figure)}' style='max-width:100%'>")
    effects = pd.read_csv(effects_csv)
    shown = effects.query("horizon == 5") if "horizon" in effects else effects
    parts += ["<h2>Effects at horizon 5 (effects.csv has every horizon)</h2>", shown.to_html(index=False),
              "</body></html>"]
    return "\n".join(parts)
