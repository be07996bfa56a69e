"""Widget exercises for the chapters.

* :class:`NumericExercise` — a question whose answer is a number known from
  the synthetic world's truth. ``check`` is a pure function (testable, and
  usable for grading); ``widget`` makes the answer box, which judges answers
  in the page itself (kaigai_lib.teaching.static_widgets: no kernel needed).
  Instructors build the answer from ``world.truth`` or the data, never by
  typing it in, so a change of world parameters changes the answer too.
* :func:`selection_explorer` — a slider over one world parameter (by default
  ``selection_strength``) that regenerates a small world and shows how far
  starters are ahead of non-starters before they start.
* :func:`selection_bias_explorer` — a ``selection_strength`` slider with the
  naive difference, the true ATT and the selection bias side by side.

Instructor-set exercises are data, not code: a YAML (or TOML) file gives the
world (preset, seed, fixed parameters, the ranges a trainee may move), the
quantity to estimate, the tolerance, the unit and hints; see
``book/instructors.md`` for the full field reference.

* :func:`load_exercise` reads and validates a file (:class:`ExerciseError`
  names the file and every bad field); shipped examples live in
  ``kaigai_lib/exercises/exercise_files/`` (:func:`exercise_files`).
* :func:`exercise_widget` renders one — in a notebook or on the static site:
  sliders, answer box, Check and Hint buttons and feedback against the truth
  of the trainee's world (precomputed for every slider position).
* :func:`quality_report` draws a sample of trainee worlds and reports the
  truth, the library estimator's mean and SD, a suggested tolerance and the
  slips that would pass (``kaigai exercises check``).
* :func:`make_datasets` writes each trainee's own data set and the answer
  key, all or nothing; :func:`grade` grades a class's answers (``kaigai
  exercises make`` and ``kaigai exercises grade`` on the command line).
  Assignments, courses and gradebooks build on these in :mod:`kaigai_lib.exercises.classroom`.
* Input files (exercises, rosters, answers, keys) are read by
  :func:`read_text` (UTF-8 or cp932), :func:`read_csv_rows` (every row must
  fit the header; refused with line numbers) and :func:`parse_number`
  (plain decimals only: no ``1_5``, full-width digits, decimal commas).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import difflib
import gzip
import hashlib
import html
import io
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure

from kaigai_lib.data.starts import ANALYSIS_COLUMNS
from kaigai_lib.data.text import AmbiguousEncodingError, decode_text
from kaigai_lib.estimators.plots import new_figure
from kaigai_lib.teaching.figures import starter_comparison
from kaigai_lib.teaching.static_widgets import (
    AnswerCheck,
    Control,
    StaticWidget,
    answer_key,
    hide_solutions,
    msg,
    number,
    png,
)
from kaigai_lib.whitepaper.selection import Decomposition, _check_world_args, decompose
from kaigai_lib.world import snapshot
from kaigai_lib.world.synthetic import (
    EXPORT_GROUPS,
    FDI_GROUPS,
    MAX_HORIZON,
    OUTCOMES,
    PRESETS,
    SUPPORT_OUTCOMES,
    World,
    WorldParams,
    generate,
    resolve_params,
)

CORRECT_COLOUR = "#1a7f37"
WRONG_COLOUR = "#b3261e"


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``verdict`` is "correct", "too high", "too low" or "not a number".

    Returned by :meth:`NumericExercise.check` and ``ExerciseWidget.check``.

    Parameters
    ----------
    correct : bool
        Whether the answer is within the tolerance.
    verdict : str
        "correct", "too high", "too low" or "not a number".
    message : str
        What the trainee reads.

    Examples
    --------
    >>> from kaigai_lib import NumericExercise
    >>> feedback = NumericExercise("How many?", answer=3.0, tolerance=0.5).check(2.0)
    >>> feedback.correct, feedback.verdict
    (False, 'too low')
    """

    correct: bool
    verdict: str
    message: str


def _with_unit(value: float, unit: str) -> str:
    if not unit:
        return f"{value:g}"
    return f"{value:g}{unit}" if unit.startswith("%") else f"{value:g} {unit}"


@dataclass
class NumericExercise:
    """A question with a numeric answer accepted within ``± tolerance`` (absolute, in ``unit``).

    Each wrong attempt in the widget reveals the next of ``hints``. Build the
    answer from ``world.truth`` or the data, never by typing it in, so that a
    change of world parameters changes the answer too;
    :meth:`ExerciseSpec.numeric_exercise` does so for an exercise file.

    Parameters
    ----------
    question : str
        The question.
    answer : float
        The right answer, in ``unit``.
    tolerance : float
        Answers within ``± tolerance`` are correct.
    unit : str, optional
        The answer's unit, e.g. "log points".
    hints : list of str, optional
        Shown one by one after wrong attempts.

    Raises
    ------
    ValueError
        If ``answer`` is not a finite number or ``tolerance`` is negative or not finite.

    See Also
    --------
    kaigai_lib.teaching.static_widgets.numeric_concept_check : A self-assessment question with a numeric answer.

    Examples
    --------
    >>> from kaigai_lib import NumericExercise, generate
    >>> world = generate("tiny", seed=0)
    >>> exercise = NumericExercise("The true 5-year effect of exporting on the log sales of 50-99 firms?",
    ...                            answer=world.truth.effect("export", "sales", "50-99", horizon=5),
    ...                            tolerance=0.02, unit="log points", hints=["Read it at t + 5."])
    >>> exercise.check(0.16).message
    'Correct: 0.16 log points is within ±0.02 log points of the true value, 0.15 log points.'
    >>> exercise.check(0.3).verdict, exercise.hint(1)
    ('too high', 'Read it at t + 5.')
    """

    question: str
    answer: float
    tolerance: float
    unit: str = ""
    hints: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not math.isfinite(self.answer):
            raise ValueError(f"answer={self.answer!r}: must be a finite number (compute it from the world's truth).")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"tolerance={self.tolerance!r}: must be a finite number ≥ 0.")

    def check(self, value: float | None) -> Feedback:
        """Judge ``value``: correct within the tolerance, otherwise say whether it is too high or too low.

        Parameters
        ----------
        value : float or None
            The answer; None or a non-finite number is "not a number".

        Returns
        -------
        Feedback
            ``correct``, ``verdict`` ("correct", "too high", "too low" or "not a number") and ``message``.
        """
        if value is None or not math.isfinite(value):
            return Feedback(False, "not a number", f"Enter a number{f' (in {self.unit})' if self.unit else ''}.")
        distance = value - self.answer
        tol = _with_unit(self.tolerance, self.unit)
        # isclose: an answer exactly at the tolerance's edge must not fail on floating-point noise
        if abs(distance) <= self.tolerance or math.isclose(abs(distance), self.tolerance):
            return Feedback(True, "correct", f"Correct: {_with_unit(value, self.unit)} is within ±{tol} of the "
                                             f"true value, {_with_unit(round(self.answer, 4), self.unit)}.")
        verdict = "too high" if distance > 0 else "too low"
        side = "above" if distance > 0 else "below"
        return Feedback(False, verdict, f"{verdict.capitalize()}: {_with_unit(value, self.unit)} is more than "
                                        f"{tol} {side} the true value.")

    def hint(self, wrong_attempts: int) -> str | None:
        """The hint to show after ``wrong_attempts`` wrong answers (the last one stays once all are shown).

        Parameters
        ----------
        wrong_attempts : int
            Wrong answers so far.

        Returns
        -------
        str or None
            The hint, or None before the first wrong answer or without hints.
        """
        if wrong_attempts <= 0 or not self.hints:
            return None
        return self.hints[min(wrong_attempts, len(self.hints)) - 1]

    def widget(self) -> AnswerCheck:
        """Question, answer box, Check and Hint buttons and feedback, judged in the page (no kernel).

        Returns
        -------
        AnswerCheck
            The widget; in the course edition (``KAIGAI_HIDE_SOLUTIONS=1``) it carries no answer key.
        """
        key = None if hide_solutions() else answer_key(self.answer, self.tolerance, self.unit)
        return AnswerCheck(self.question, key, self.unit, self.hints)


def selection_gaps(world: World) -> pd.DataFrame:
    """Starters' lead over non-starters at t−1 (log points, within year and industry), export and FDI side by side.

    ``attrs["n_starters"]`` holds the number of starters behind each column.
    """
    tables = {analysis: starter_comparison(world.firms, world.latent, analysis=analysis)
              for analysis in ANALYSIS_COLUMNS}
    gaps = pd.DataFrame({analysis: t["gap_within_year_industry"] for analysis, t in tables.items()})
    gaps.attrs["n_starters"] = {analysis: int(t["n_starters"].iloc[0]) for analysis, t in tables.items()}
    return gaps


def _grid(minimum: float, maximum: float, step: float) -> list[float]:
    count = math.floor((maximum - minimum) / step + 1e-9) + 1
    return [round(minimum + i * step, 10) for i in range(count)]


def _slider(name: str, values: list[float], start: float, fmt: str = "{:.2f}") -> Control:
    labels = [fmt.format(v) for v in values]
    at = min(range(len(values)), key=lambda i: abs(values[i] - start))
    return Control(name, name, labels, labels[at], mapping=dict(zip(labels, values, strict=True)))


class SelectionExplorer(StaticWidget):
    """A slider over one numeric world parameter; each position is a world (same seed).

    Each position shows the starters' lead over non-starters at ``t − 1``
    (``selection_gaps``). Keep ``preset="tiny"``: every position of the grid
    is generated once. Made by :func:`selection_explorer`, whose parameters
    it takes.

    Parameters
    ----------
    preset : str, default "tiny"
        The worlds' preset.
    seed : int, default 0
        The worlds' seed.
    parameter : str, default "selection_strength"
        A decimal field of :class:`~kaigai_lib.world.synthetic.WorldParams`.
    minimum : float, default 0.0
        The slider's lowest value.
    maximum : float, default 3.0
        The slider's highest value.
    step : float, default 0.25
        The slider's step.

    Examples
    --------
    >>> from kaigai_lib import selection_explorer
    >>> widget = selection_explorer(parameter="export_selection_tfp", minimum=0.0, maximum=1.2, step=0.6)
    >>> type(widget).__name__, widget.values
    ('SelectionExplorer', {'export_selection_tfp': '0.60'})
    """

    def __init__(self, preset: str = "tiny", seed: int = 0, parameter: str = "selection_strength",
                 minimum: float = 0.0, maximum: float = 3.0, step: float = 0.25) -> None:
        fields = {f.name: f for f in dataclasses.fields(WorldParams)}
        if parameter not in fields:
            raise ValueError(f"parameter={parameter!r} is not a world parameter; see "
                             "synthetic.describe_parameters().")
        default = getattr(WorldParams(), parameter)
        if not isinstance(default, float):
            raise ValueError(f"parameter={parameter!r} is not a decimal number (default {default!r}); pick one "
                             "that is.")
        if not minimum <= default <= maximum:
            raise ValueError(f"The default {parameter}={default} lies outside [{minimum}, {maximum}]: widen the "
                             "range.")
        self.preset, self.seed, self.parameter = preset, seed, parameter
        intro = (f"<p>Move <code>{parameter}</code> ({html.escape(fields[parameter].metadata['doc'])}) and see "
                 f"how far starters are ahead of non-starters of the same year and industry one year before "
                 f"they start (log points; preset <code>{preset}</code>, seed {seed}).</p>")
        super().__init__([_slider(parameter, _grid(minimum, maximum, step), default)], kind="explorer",
                         intro=intro)

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        value = setting[self.parameter]
        try:
            world = generate(preset=self.preset, seed=self.seed, **{self.parameter: value})
        except ValueError as error:  # an invalid value: say so in the widget rather than in a hidden log
            return {"html": f'<p style="color: {WRONG_COLOUR}">{html.escape(str(error))}</p>', "numbers": {}}, None
        gaps = selection_gaps(world)
        counts = ", ".join(msg("{n} {analysis} starters", n=f"{n:,}", analysis=msg(analysis))
                           for analysis, n in gaps.attrs["n_starters"].items())
        numbers = {f"{row}/{column}": float(gaps.loc[row, column]) for row in gaps.index for column in gaps.columns}
        shown = gaps.apply(lambda column: [number(f"{row}/{column.name}", v, "{:+.3f}")
                                           for row, v in column.items()])
        shown = shown.rename(index=msg, columns=msg)  # labels the page shows in its own language
        return {"html": f"<p>{self.parameter} = {value:.2f} ({counts})</p>" + shown.to_html(escape=False),
                "numbers": numbers}, None


def selection_explorer(preset: str = "tiny", seed: int = 0, parameter: str = "selection_strength",
                       minimum: float = 0.0, maximum: float = 3.0, step: float = 0.25) -> SelectionExplorer:
    """A slider over one numeric world parameter, showing how far starters are ahead before they start.

    Each slider position is a world (same preset and seed) and shows the
    starters' lead over non-starters of the same year and industry at
    ``t − 1`` (log points): TFP, employees and sales, for exports and FDI.
    Every position is generated when the widget is made, so keep the preset
    small.

    Parameters
    ----------
    preset : str, default "tiny"
        The worlds' preset.
    seed : int, default 0
        The worlds' seed.
    parameter : str, default "selection_strength"
        A decimal field of :class:`~kaigai_lib.world.synthetic.WorldParams`.
    minimum : float, default 0.0
        The slider's lowest value; the parameter's default must lie in the range.
    maximum : float, default 3.0
        The slider's highest value.
    step : float, default 0.25
        The slider's step.

    Returns
    -------
    SelectionExplorer
        The widget (an ``anywidget.AnyWidget``); ``current`` holds the
        numbers shown, ``set(<parameter>=…)`` moves the slider.

    Raises
    ------
    ValueError
        If ``parameter`` is not a decimal world parameter, or its default lies outside the range.

    See Also
    --------
    selection_bias_explorer : The naive difference, ATT and selection bias on a slider.

    Examples
    --------
    >>> from kaigai_lib import selection_explorer
    >>> widget = selection_explorer(minimum=0.0, maximum=2.0, step=1.0)
    >>> widget.setup["kind"], len(widget.views)
    ('explorer', 3)
    >>> round(widget.current["log TFP/export"], 3)
    0.14
    >>> widget.set(selection_strength=0.0)
    >>> round(widget.current["log TFP/export"], 3)
    -0.001
    """
    return SelectionExplorer(preset, seed, parameter, minimum, maximum, step)


# ==========================================================================
# Selection bias explorer (chapter "Why naive comparisons mislead")
# ==========================================================================


class SelectionBiasExplorer(StaticWidget):
    """A ``selection_strength`` slider; the naive difference, the true ATT and the selection bias update together.

    Each position is a world (same preset and seed) and runs
    :func:`kaigai_lib.whitepaper.selection.decompose` for both measures, growth from
    ``t − 1`` and the level at ``t + h``: a table and a bar chart. ``results``
    holds the two :class:`~kaigai_lib.whitepaper.selection.Decomposition` objects of the
    current position; :meth:`table` shows them. Made by :func:`selection_bias_explorer`.

    Parameters
    ----------
    preset : str, default "book"
        The worlds' preset.
    seed : int, default 0
        The worlds' seed.
    analysis : str, default "export"
        "export" or "fdi".
    outcome : str, default "sales"
        The outcome compared.
    group : str or None, default "50-99"
        The starters' group at ``t − 1`` (None: everyone).
    horizon : int, default 5
        Years after the start.
    minimum : float, default 0.0
        The slider's lowest value.
    maximum : float, default 2.0
        The slider's highest value.
    step : float, default 0.25
        The slider's step.
    value : float or None, optional
        The starting value (default: the world's, 1.0).

    Examples
    --------
    >>> from kaigai_lib import selection_bias_explorer
    >>> widget = selection_bias_explorer("tiny", minimum=0.0, maximum=1.0, step=1.0, value=0.0)
    >>> type(widget).__name__, sorted(widget.results)
    ('SelectionBiasExplorer', ['growth', 'level'])
    >>> round(widget.results["growth"].selection_bias, 3)
    0.01
    """

    MEASURES = ("growth", "level")

    def __init__(self, preset: str = "book", seed: int = 0, *, analysis: str = "export", outcome: str = "sales",
                 group: str | None = "50-99", horizon: int = 5, minimum: float = 0.0, maximum: float = 2.0,
                 step: float = 0.25, value: float | None = None) -> None:
        _check_world_args(analysis, outcome, group)
        default = WorldParams().selection_strength if value is None else float(value)
        if not minimum <= default <= maximum:
            raise ValueError(f"selection_strength={default} lies outside [{minimum}, {maximum}]: widen the range.")
        self.preset, self.seed = preset, seed
        self.analysis, self.outcome, self.group, self.horizon = analysis, outcome, group, horizon
        self._results: dict[float, dict[str, Decomposition]] = {}
        who = f"{analysis} starters" + (f" with {group} employees" if analysis == "export" and group else
                                        f" ({group})" if group else "")
        intro = (f"<p>Move <code>selection_strength</code> (0 = starts at random, 1 = the default world) and "
                 f"compare {html.escape(who)} with non-starters: the naive difference in {html.escape(outcome)}, "
                 f"the true effect on the starters (ATT) and the selection bias, naive = ATT + bias (preset "
                 f"<code>{preset}</code>, seed {seed}, pooled over all start years).</p>")
        super().__init__([_slider("selection_strength", _grid(minimum, maximum, step), default)],
                         kind="explorer", intro=intro)

    @property
    def results(self) -> dict[str, Decomposition]:
        """The current position's decompositions, by measure ("growth", "level")."""
        return self._results.get(self.setting["selection_strength"], {})

    def table(self, results: Mapping[str, Decomposition] | None = None) -> pd.DataFrame:
        """The naive difference, ATT and selection bias (rows) for each measure (columns), now or of ``results``.

        Parameters
        ----------
        results : mapping of str to Decomposition or None, optional
            Decompositions by measure; None (default) takes the current position's.

        Returns
        -------
        pandas.DataFrame
            Rows: the three terms, the naive difference's standard error and
            the counts; a column per measure (log points).
        """
        columns = {}
        for measure, d in (self.results if results is None else results).items():
            label = (f"growth t−1 → t+{self.horizon}" if measure == "growth" else f"level at t+{self.horizon}")
            columns[f"{label} (log points)"] = {"naive difference": d.naive, "ATT (true effect)": d.att,
                                                "selection bias": d.selection_bias,
                                                "naive: standard error": d.std_error,
                                                "starters": d.n_starters, "non-starters": d.n_non_starters}
        return pd.DataFrame(columns)

    def _figure(self, results: Mapping[str, Decomposition], strength: float) -> Figure:
        fig, axes = new_figure(figsize=(7.2, 3.0))
        ax = axes[0, 0]
        terms = ["naive difference", "ATT (true effect)", "selection bias"]
        # a picture cannot follow the page's language: its labels carry both, as the book's figures do
        shown = {"naive difference": "naive difference (単純比較)", "ATT (true effect)": "ATT (真の効果)",
                 "selection bias": "selection bias (セレクションバイアス)"}
        colours = ["C0", "C2", "C3"]
        x = np.arange(len(self.MEASURES))
        width = 0.26
        for k, (term, colour) in enumerate(zip(terms, colours, strict=True)):
            values = [getattr(results[m], ("naive", "att", "selection_bias")[k]) for m in self.MEASURES]
            bars = ax.bar(x + (k - 1) * width, values, width, color=colour, label=shown[term])
            ax.bar_label(bars, fmt="%+.2f", fontsize=7, padding=1)
        ax.axhline(0, color="0.4", linewidth=0.8)
        ax.set_xticks(x, [f"growth t−1 → t+{self.horizon} (成長)", f"level at t+{self.horizon} (水準)"])
        ax.set_ylim(-0.3, 0.55)
        ax.set(ylabel="log points (対数ポイント)", title=f"selection_strength = {strength:.2f}")
        ax.legend(fontsize=8, loc="upper left", ncols=3)
        return fig

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        strength = setting["selection_strength"]
        try:
            world = generate(preset=self.preset, seed=self.seed, selection_strength=strength)
            results = {m: decompose(world, self.analysis, self.outcome, self.group, self.horizon, measure=m)
                       for m in self.MEASURES}
        except ValueError as error:  # e.g. no starters left: say so in the widget
            return {"html": f'<p style="color: {WRONG_COLOUR}">{html.escape(str(error))}</p>', "numbers": {}}, None
        self._results[strength] = results
        table = self.table(results)
        shown = table.astype(object)
        numbers = {}
        for row in table.index:
            style = "{:,.0f}" if row in ("starters", "non-starters") else "{:.3f}" if "error" in row else "{:+.3f}"
            for column in table.columns:
                name = f"{row}/{column}"
                numbers[name] = float(table.loc[row, column])
                shown.loc[row, column] = number(name, table.loc[row, column], style)
        shown = shown.rename(index=msg, columns=msg)  # labels the page shows in its own language
        caption = f"<p><b>selection_strength = {strength:.2f}</b></p>"
        return {"html": caption + shown.to_html(border=0, escape=False) + png(self._figure(results, strength)),
                "numbers": numbers}, None


def selection_bias_explorer(preset: str = "book", seed: int = 0, **options: Any) -> SelectionBiasExplorer:
    """A ``selection_strength`` slider; the naive difference, the true ATT and the selection bias update together.

    Each position is a world (same preset and seed) and runs
    :func:`~kaigai_lib.whitepaper.selection.decompose` for both measures,
    growth from ``t − 1`` and the level at ``t + h``: a table and a bar
    chart. Every position is computed when the widget is made.

    Parameters
    ----------
    preset : str, default "book"
        The worlds' preset.
    seed : int, default 0
        The worlds' seed.
    **options : Any
        ``analysis`` ("export"), ``outcome`` ("sales"), ``group`` ("50-99"),
        ``horizon`` (5) and the slider's ``minimum`` (0.0), ``maximum``
        (2.0), ``step`` (0.25) and starting ``value`` (the default, 1.0).

    Returns
    -------
    SelectionBiasExplorer
        The widget (an ``anywidget.AnyWidget``); ``results`` holds the two
        decompositions of the current position, ``table()`` shows them,
        ``set(selection_strength=…)`` moves the slider.

    Raises
    ------
    ValueError
        If the analysis, outcome or group is unknown, or the starting value lies outside the range.

    Examples
    --------
    >>> from kaigai_lib import selection_bias_explorer
    >>> widget = selection_bias_explorer("tiny", minimum=0.0, maximum=1.0, step=0.5)
    >>> len(widget.views)
    3
    >>> widget.table().loc[["naive difference", "ATT (true effect)", "selection bias"]].round(3)
                       growth t−1 → t+5 (log points)  level at t+5 (log points)
    naive difference                           0.101                      0.269
    ATT (true effect)                          0.150                      0.150
    selection bias                            -0.049                      0.119
    """
    return SelectionBiasExplorer(preset, seed, **options)


# ==========================================================================
# Instructor-set exercises: files, truth, widget, personal data sets, grading
# ==========================================================================

EXERCISE_DIR = Path(__file__).resolve().parent / "exercise_files"
EXERCISE_SUFFIXES = (".yml", ".yaml", ".toml")

QUANTITY_KINDS: dict[str, str] = {
    "true_effect": "the true effect τ(outcome, group, horizon) in world.truth; log points, or "
                   "100·(exp(τ) − 1) % with scale: percent",
    "sample_att": "the realised ATT of the starters observed at t−1 and t+h (World.sample_att), log points "
                  "or percent",
    "naive_difference": "the naive difference, starters minus non-starters "
                        "(kaigai_lib.whitepaper.selection.decompose(...).naive)",
    "selection_bias": "naive difference − ATT (kaigai_lib.whitepaper.selection.decompose(...).selection_bias); in a "
                      "hand-out the README gives the true ATT, so it is answerable from the data",
    "matched_count": "starters matched by the white paper's matching (kaigai_lib.whitepaper.samples.matching_sample("
                     "...).match(caliper=…)) within caliper SDs of the logit score",
    "max_smd": "the largest |standardised mean difference| of the covariates after that matching",
    "lp_coefficient": "the true output elasticity of labour or capital (coefficient: labour | capital) in one "
                      "industry (world.truth.production), which Levinsohn–Petrin estimates",
    "spillover_coefficient": "the true spillover coefficient (coefficient: opr | di) within the world's "
                             "spillover_radius_km (world.truth.spillover), which "
                             "kaigai_lib.estimators.spatial.fit_spillover estimates",
}
# the kinds read off the world's truth about effects, with analysis/outcome/group; the others have own fields
EFFECT_KINDS = ("true_effect", "sample_att", "naive_difference", "selection_bias")
MATCHING_KINDS = ("matched_count", "max_smd")
SURVEY_TABLES = ("firms", "establishments", "foreign_demand", "deflators")
_TOP_KEYS = ("id", "title", "question", "world", "quantity", "tolerance", "unit", "hints", "tables", "ja")
# the optional Japanese texts of an exercise file (``ja:``), shown on the Japanese edition's pages
_JA_KEYS = ("title", "question", "unit", "hints", "labels")
_WORLD_KEYS = ("preset", "seed", "params", "trainee_may_change", "vary_per_trainee")
_QUANTITY_KEYS = ("kind", "analysis", "outcome", "group", "horizon", "scale", "measure", "start_year", "caliper",
                  "coefficient", "industry")
_RANGE_KEYS = ("min", "max", "step")
_EFFECT_TABLES = {"export_effects": EXPORT_GROUPS, "fdi_effects": FDI_GROUPS}


class ExerciseError(ValueError):
    """A malformed exercise file: ``problems`` lists ``(field, message)`` pairs; the message names the file."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {where}: {what}" for where, what in problems)
        super().__init__(f"Exercise file {source} has {len(problems)} problem(s):\n{lines}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _world_problems(error: Exception) -> list[str]:
    """The lines of a WorldParams validation error, without its header."""
    lines = [line.strip().removeprefix("- ") for line in str(error).splitlines()]
    return [line for line in lines if line and not line.startswith("Invalid world parameters")]


def _scalar_fields() -> dict[str, type]:
    """World parameters a slider can move: the int and float fields of WorldParams."""
    defaults = WorldParams()
    return {f.name: type(getattr(defaults, f.name)) for f in dataclasses.fields(WorldParams)
            if type(getattr(defaults, f.name)) in (int, float)}


def _nested_params(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"export_effects.50-99.sales": 0.2, "n_firms": 800}`` → keyword arguments of ``generate``."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        if "." in name:
            table, group, outcome = name.split(".", 2)
            out.setdefault(table, {}).setdefault(group, {})[outcome] = value
        else:
            out[name] = value
    return out


def _merge_params(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for name, value in _nested_params(changes).items():
        if name in _EFFECT_TABLES and isinstance(value, Mapping):
            table = merged.setdefault(name, {})
            for group, effects in value.items():
                table.setdefault(group, {}).update(effects)
        else:
            merged[name] = value
    return merged


def _current_value(params: WorldParams, name: str) -> float:
    if "." in name:
        table, group, outcome = name.split(".", 2)
        return float(getattr(params, table)[group][outcome])
    return getattr(params, name)


class _StrictLoader(yaml.SafeLoader):
    """YAML loader that rejects duplicate keys (PyYAML would silently keep the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# PyYAML follows YAML 1.1, where a float needs a dot: ``tolerance: 1e-3`` would be the text "1e-3".
# YAML 1.2 (and every instructor) reads it as a number; so does this loader.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


@dataclass(frozen=True)
class ParamRange:
    """A world parameter a trainee may move with a slider, from ``min`` to ``max`` in steps of ``step``."""

    name: str
    min: float
    max: float
    step: float
    integer: bool = False

    def grid(self) -> list[float]:
        """Every slider position."""
        count = math.floor((self.max - self.min) / self.step + 1e-9) + 1
        values = [self.min + i * self.step for i in range(count)]
        return [round(v) for v in values] if self.integer else [round(v, 10) for v in values]


@dataclass(frozen=True)
class Quantity:
    """What the trainee estimates; :meth:`compute` reads it off a world (never typed in)."""

    kind: str
    analysis: str
    outcome: str
    group: str | None = None
    horizon: int = 5
    scale: str = "log"
    measure: str = "growth"
    start_year: int | None = None
    caliper: float = 0.2
    coefficient: str | None = None
    industry: str | None = None

    def describe(self) -> str:
        if self.kind in MATCHING_KINDS:
            what = "matched starters" if self.kind == "matched_count" else "max |SMD| after matching"
            return (f"{self.kind}: {what}, {self.analysis} starters, horizon {self.horizon}, caliper "
                    f"{self.caliper:g} SD of the logit score")
        if self.kind == "lp_coefficient":
            return f"{self.kind}: elasticity of value added to {self.coefficient}, industry {self.industry}"
        if self.kind == "spillover_coefficient":
            return f"{self.kind}: {self.coefficient} coefficient of area exports within the spillover radius"
        who = f"{self.analysis} starters" + (f" ({self.group})" if self.group else "")
        scale = "log points" if self.scale == "log" else "percent"
        if self.kind in ("naive_difference", "selection_bias"):
            what = (f"{self.horizon}-year growth of {self.outcome}" if self.measure == "growth"
                    else f"log {self.outcome} at t+{self.horizon}")
            years = "all cohorts" if self.start_year is None else f"cohort {self.start_year}"
            return f"{self.kind}: {what}, {who} vs non-starters, {years}, {scale}"
        return f"{self.kind}: {self.outcome}, {who}, horizon {self.horizon}, {scale}"


    def compute(self, world: World) -> float:
        """The true value of the quantity in ``world`` (for matching kinds: what the public pipeline gives on
        the trainee's own data, which is all a trainee can be asked to reproduce)."""
        if self.kind in MATCHING_KINDS:
            from kaigai_lib.whitepaper.samples import matching_sample

            result = matching_sample(world.firms, self.analysis, horizon=self.horizon).match(caliper=self.caliper)
            if self.kind == "matched_count":
                return float(result.counts["matched_treated"])
            return float(result.balance()["smd_after"].abs().max())
        if self.kind == "lp_coefficient":
            production = world.truth.production.set_index("industry")
            return float(production.loc[self.industry, f"beta_{self.coefficient}"])
        if self.kind == "spillover_coefficient":
            return float(world.truth.spillover[f"{self.coefficient}_coefficient"])
        if self.kind == "true_effect":
            tau = (world.truth.effect(self.analysis, self.outcome, self.group, self.horizon)
                   if self.analysis != "support" else support_effect(world, self.outcome, self.group, self.horizon))
            return tau if self.scale == "log" else 100 * math.expm1(tau)
        if self.kind == "sample_att":
            return world.sample_att(self.analysis, self.outcome, self.group, self.horizon, scale=self.scale)
        d = decompose(world, self.analysis, self.outcome, self.group, self.horizon, self.start_year,
                      measure=self.measure, scale=self.scale)
        return d.naive if self.kind == "naive_difference" else d.selection_bias


def support_effect(world: World, outcome: str, group: str, horizon: int) -> float:
    """The support programme's true effect (log points) from ``World.truth.support``."""
    table = world.truth.support
    rows = table.loc[(table["outcome"] == outcome) & (table["group"] == group)
                     & (table["horizon"] == min(int(horizon), MAX_HORIZON)), "effect"]
    if rows.empty:
        raise KeyError(f"No support-programme effect for outcome={outcome!r}, group={group!r}.")
    return float(rows.iloc[0])


@dataclass(frozen=True)
class ExerciseSpec:
    """An instructor's exercise, read from a YAML (or TOML) file by :func:`load_exercise`.

    ``book/instructors.md`` is the field reference of the file.

    Parameters
    ----------
    id : str
        The exercise's identifier.
    question : str
        The question, as trainees read it.
    quantity : Quantity
        What the trainee estimates (kind, analysis, outcome, group, horizon,
        scale, …); its ``compute`` reads the truth off a world.
    tolerance : float
        Answers within ``± tolerance`` (absolute, in ``unit``) are correct.
    title : str, optional
        A short title.
    preset : str, default "book"
        The world's preset.
    seed : int, default 0
        The instructor's world's seed (trainees get their own).
    params : mapping, optional
        The world parameters the exercise fixes, on top of the preset.
    trainee_may_change : mapping of str to ParamRange, optional
        The parameters a trainee may move with a slider, with their ranges.
    vary_per_trainee : tuple of str, optional
        The parameters ``kaigai exercises make`` draws anew (from their range) for every trainee.
    unit : str, default "log points"
        The answer's unit.
    hints : tuple of str, optional
        Shown one by one after wrong attempts.
    tables : tuple of str, optional
        The survey tables a hand-out contains (default: all four).
    source : str, optional
        The file it was read from (named in error messages).
    ja : mapping, optional
        The file's Japanese texts (``ja:``).

    See Also
    --------
    load_exercise : Read one.
    exercise_widget : Show one.

    Examples
    --------
    >>> from kaigai_lib import load_exercise
    >>> spec = load_exercise("att-export-sales-small")
    >>> spec.quantity.describe()
    'true_effect: sales, export starters (50-99), horizon 5, log points'
    >>> spec.tolerance, spec.unit, spec.vary_per_trainee
    (0.03, 'log points', ('export_effects.50-99.sales',))
    >>> spec.default_values(), spec.same_for_everyone
    ({'export_effects.50-99.sales': 0.15}, False)
    """

    id: str
    question: str
    quantity: Quantity
    tolerance: float
    title: str = ""
    preset: str = "book"
    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    trainee_may_change: Mapping[str, ParamRange] = field(default_factory=dict)
    vary_per_trainee: tuple[str, ...] = ()
    unit: str = "log points"
    hints: tuple[str, ...] = ()
    tables: tuple[str, ...] = SURVEY_TABLES
    source: str = "<exercise>"
    ja: Mapping[str, Any] = field(default_factory=dict)  # the file's Japanese texts (``ja:``), checked

    def world_params(self, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for ``generate``: the exercise's params with ``changes`` (slider values) on top.

        Parameters
        ----------
        changes : mapping or None, optional
            Slider values by dotted name (``export_effects.50-99.sales``).

        Returns
        -------
        dict
            Keyword arguments of :func:`~kaigai_lib.world.synthetic.generate`.
        """
        return _merge_params(self.params, changes or {})

    def default_values(self) -> dict[str, float]:
        """Each movable parameter's value in the instructor's world (the slider's starting position).

        Returns
        -------
        dict of str to float
            By dotted parameter name.
        """
        resolved = resolve_params(self.preset, **self.world_params())
        return {name: _current_value(resolved, name) for name in self.trainee_may_change}

    def generate(self, seed: int | None = None, changes: Mapping[str, Any] | None = None) -> World:
        """The world of this exercise (``seed`` defaults to the file's).

        Parameters
        ----------
        seed : int or None, optional
            The world's seed; None takes the file's.
        changes : mapping or None, optional
            Slider values by dotted name.

        Returns
        -------
        World
            The generated world.
        """
        return generate(preset=self.preset, seed=self.seed if seed is None else seed, **self.world_params(changes))

    @property
    def same_for_everyone(self) -> bool:
        """True when every trainee's answer is the same.

        That is a truth read off the world's parameters (not its data) with
        nothing drawn per trainee, or an LP coefficient (a constant of the generator).
        """
        kind = self.quantity.kind
        return kind == "lp_coefficient" or (kind in ("true_effect", "spillover_coefficient")
                                             and not self.vary_per_trainee)

    def truth(self, world: World) -> float:
        """The correct answer in ``world``.

        Parameters
        ----------
        world : World
            A world of this exercise (:meth:`generate`).

        Returns
        -------
        float
            The quantity's true value, in the exercise's unit.
        """
        return self.quantity.compute(world)

    def numeric_exercise(self, world: World) -> NumericExercise:
        """The exercise for one world, as a :class:`NumericExercise` (its ``check`` judges answers).

        Parameters
        ----------
        world : World
            A world of this exercise.

        Returns
        -------
        NumericExercise
            The question with this world's truth as the answer.
        """
        return NumericExercise(question=self.question, answer=self.truth(world), tolerance=self.tolerance,
                               unit=self.unit, hints=list(self.hints))

    def widget(self, seed: int | None = None, trainee: str | None = None) -> ExerciseWidget:
        """Show this exercise as a widget (:func:`exercise_widget`).

        Parameters
        ----------
        seed : int or None, optional
            The world's seed (default: the file's).
        trainee : str or None, optional
            A trainee id: that trainee's own world, the one of their hand-out.

        Returns
        -------
        ExerciseWidget
            The widget.
        """
        return ExerciseWidget(self, seed=seed, trainee=trainee)


Problem = Callable[[str, str], None]


def parse_exercise(data: Any, source: str = "<exercise>") -> ExerciseSpec:
    """Validate a mapping (a parsed exercise file); raise :class:`ExerciseError` listing every problem."""
    problems: list[tuple[str, str]] = []

    def problem(where: str, what: str) -> None:
        problems.append((where, what))

    if not isinstance(data, Mapping):
        raise ExerciseError(source, [("(top level)", f"must be a mapping of fields ({', '.join(_TOP_KEYS)}), "
                                                     f"got {type(data).__name__}")])
    # one function per section, in the file's order, each reporting into the same list
    top = _parse_top_fields(data, problem)
    world = _parse_world_section(data, problem)
    preset, seed = _parse_preset_and_seed(world, problem)
    params, params_ok, resolved = _parse_params(world, preset, problem)
    may_change, ranges = _parse_ranges(world, preset, params, params_ok, resolved, problem)
    vary = _parse_vary(world, may_change, problem)
    quantity = _parse_quantity_section(data, resolved, problem)
    unit = _parse_unit(data, quantity, problem)
    japanese = _parse_japanese(data.get("ja"), len(top["hints"]), ranges, problem)

    if problems:
        raise ExerciseError(source, problems)
    assert quantity is not None and top["tolerance"] is not None
    return ExerciseSpec(
        id=top["id"], title=top["title"], question=top["question"], quantity=quantity,
        tolerance=float(top["tolerance"]), preset=preset, seed=seed, params=params, trainee_may_change=ranges,
        vary_per_trainee=tuple(vary), unit=unit or "", hints=tuple(top["hints"]), tables=tuple(top["tables"]),
        source=source, ja=japanese)


def _parse_top_fields(data: Mapping[str, Any], problem: Problem) -> dict[str, Any]:
    """The unknown top-level fields, then id, question, title, tolerance, hints and tables."""
    for key in data:
        if key not in _TOP_KEYS:
            problem(str(key), f"unknown field{_suggest(key, _TOP_KEYS)}. Fields are {', '.join(_TOP_KEYS)}.")

    def text(key: str, required: bool) -> str:
        value = data.get(key)
        if value is None:
            if required:
                problem(key, "missing (required)")
            return ""
        if not isinstance(value, str) or not value.strip():
            problem(key, f"must be a non-empty text, got {value!r}")
            return ""
        return value.strip()

    exercise_id = text("id", required=True)
    why = file_name_problem(exercise_id, "id", "files and seeds", "the exercise") if exercise_id else None
    if why is not None:
        problem("id", why.removeprefix("id "))
    question = text("question", required=True)
    title = text("title", required=False) or exercise_id

    tolerance = data.get("tolerance")
    if "tolerance" not in data:
        problem("tolerance", "missing (required): the largest distance from the truth that counts as correct, "
                             "in the answer's unit, e.g. tolerance: 0.01")
    elif not _is_number(tolerance) or tolerance < 0:
        problem("tolerance", f"must be a number ≥ 0, got {tolerance!r}")
        tolerance = None

    hints = data.get("hints", [])
    if hints is None:
        hints = []
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        problem("hints", f"must be a list of texts, got {hints!r}")
        hints = []

    tables = data.get("tables", list(SURVEY_TABLES))
    if not isinstance(tables, list) or not tables or not all(isinstance(t, str) for t in tables):
        problem("tables", f"must be a non-empty list of table names from {list(SURVEY_TABLES)}, got {tables!r}")
        tables = list(SURVEY_TABLES)
    for t in tables:
        if t not in SURVEY_TABLES:
            problem("tables", f"unknown table {t!r}{_suggest(t, SURVEY_TABLES)}. Tables are {list(SURVEY_TABLES)}.")
    return {"id": exercise_id, "question": question, "title": title, "tolerance": tolerance, "hints": hints,
            "tables": tables}


def _parse_world_section(data: Mapping[str, Any], problem: Problem) -> Mapping[str, Any]:
    world = data.get("world")
    if world is None:
        problem("world", "missing (required): at least `world: {preset: book}`")
        world = {}
    elif not isinstance(world, Mapping):
        problem("world", f"must be a mapping ({', '.join(_WORLD_KEYS)}), got {world!r}")
        world = {}
    for key in world:
        if key not in _WORLD_KEYS:
            problem(f"world.{key}", f"unknown field{_suggest(key, _WORLD_KEYS)}. Fields are {', '.join(_WORLD_KEYS)}.")
    return world


def _parse_preset_and_seed(world: Mapping[str, Any], problem: Problem) -> tuple[str, int]:
    preset = world.get("preset", "book")
    if preset not in PRESETS:
        problem("world.preset", f"unknown preset {preset!r}{_suggest(preset, PRESETS)}. Presets are {sorted(PRESETS)}.")
        preset = "book"
    seed = world.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problem("world.seed", f"must be a whole number ≥ 0, got {seed!r}")
        seed = 0
    return preset, seed


def _param_value_problem(name: str, value: Any, scalar: Mapping[str, type]) -> str | None:
    """What is wrong with the value of a known world parameter (None: nothing)."""
    if name in scalar:
        return None if _is_number(value) else f"must be a number, got {value!r}"
    if name in _EFFECT_TABLES:
        if isinstance(value, Mapping) and all(
                isinstance(e, Mapping) and all(_is_number(v) for v in e.values()) for e in value.values()):
            return None
        return ("must map groups to {outcome: effect in log points}, e.g. "
                f"{name}: {{\"{_EFFECT_TABLES[name][1]}\": {{sales: 0.2}}}}")
    if name == "depreciation_years" and not (
            isinstance(value, list) and all(isinstance(y, int) and not isinstance(y, bool) for y in value)):
        return f"must be a list of years, got {value!r}"
    return None


def _parse_params(world: Mapping[str, Any], preset: str,
                  problem: Problem) -> tuple[dict[str, Any], bool, WorldParams]:
    """world.params: known names, values of the right kind, and a world that accepts them."""
    known = {f.name for f in dataclasses.fields(WorldParams)}
    scalar = _scalar_fields()
    params = world.get("params", {}) or {}
    if not isinstance(params, Mapping):
        problem("world.params", f"must be a mapping of world parameters, got {params!r}")
        params = {}
    params = dict(params)
    params_ok = True
    for name in list(params):
        if name not in known:
            problem(f"world.params.{name}", f"unknown world parameter{_suggest(name, known)}. "
                                            "See kaigai_lib.world.synthetic.describe_parameters() for the list.")
            params.pop(name)
            continue
        wrong = _param_value_problem(name, params[name], scalar)
        if wrong:
            problem(f"world.params.{name}", wrong)
            params_ok = False
        elif scalar.get(name) is float:
            params[name] = float(params[name])
    resolved = resolve_params(preset)
    if params_ok:
        try:
            resolved = resolve_params(preset, **params)
        except (ValueError, TypeError) as error:
            params_ok = False
            for line in _world_problems(error):
                name = line.split("=", 1)[0].split("[", 1)[0].split(":", 1)[0].strip()
                where = f"world.params.{name}" if name in known else "world.params"
                problem(where, f"the world rejects it: {line}")
    return params, params_ok, resolved


def _parse_ranges(world: Mapping[str, Any], preset: str, params: dict[str, Any], params_ok: bool,
                  resolved: WorldParams, problem: Problem) -> tuple[Mapping[str, Any], dict[str, ParamRange]]:
    """world.trainee_may_change: a slider's range per parameter or effect."""
    ranges: dict[str, ParamRange] = {}
    may_change = world.get("trainee_may_change", {}) or {}
    if not isinstance(may_change, Mapping):
        problem("world.trainee_may_change", f"must be a mapping name → {{min, max, step}}, got {may_change!r}")
        may_change = {}
    for name, spec in may_change.items():
        found = _parse_range(str(name), spec, f"world.trainee_may_change.{name}", preset, params, params_ok,
                             resolved, problem)
        if found is not None:
            ranges[str(name)] = found
    return may_change, ranges


def _range_kind(name: str, where: str, problem: Problem) -> bool | None:
    """Whether the parameter or effect ``name`` moves in whole steps (None: it cannot move)."""
    scalar = _scalar_fields()
    if "." in name:
        parts = name.split(".")
        if (len(parts) != 3 or parts[0] not in _EFFECT_TABLES or parts[1] not in _EFFECT_TABLES[parts[0]]
                or parts[2] not in OUTCOMES):
            problem(where, "an effect is named <table>.<group>.<outcome>, e.g. export_effects.50-99.sales; "
                           f"tables {list(_EFFECT_TABLES)}, export groups {list(EXPORT_GROUPS)}, "
                           f"FDI groups {list(FDI_GROUPS)}, outcomes {list(OUTCOMES)}")
            return None
        return False
    if name not in scalar:
        known = {f.name for f in dataclasses.fields(WorldParams)}
        why = (f"{name} is not a number a slider can move" if name in known
               else f"unknown world parameter {name!r}{_suggest(name, known)}")
        problem(where, f"{why}. Movable: the numeric parameters of describe_parameters(), or an effect "
                       "such as export_effects.50-99.sales.")
        return None
    return scalar[name] is int


def _range_bounds(spec: Mapping[str, Any], where: str, integer: bool, problem: Problem) -> dict[str, float]:
    for key in spec:
        if key not in _RANGE_KEYS:
            problem(f"{where}.{key}", f"unknown field{_suggest(key, _RANGE_KEYS)}. Fields are min, max, step.")
    bounds = {}
    for key in ("min", "max"):
        value = spec.get(key)
        if value is None:
            problem(f"{where}.{key}", "missing (required)")
        elif not _is_number(value) or (integer and float(value) != int(value)):
            problem(f"{where}.{key}", f"must be a {'whole ' if integer else ''}number, got {value!r}")
        else:
            bounds[key] = int(value) if integer else float(value)
    return bounds


def _parse_range(name: str, spec: Any, where: str, preset: str, params: dict[str, Any], params_ok: bool,
                 resolved: WorldParams, problem: Problem) -> ParamRange | None:
    integer = _range_kind(name, where, problem)
    if integer is None:
        return None
    if not isinstance(spec, Mapping):
        problem(where, f"must be a mapping {{min: …, max: …, step: …}}, got {spec!r}")
        return None
    bounds = _range_bounds(spec, where, integer, problem)
    if len(bounds) < 2:
        return None
    lo, hi = bounds["min"], bounds["max"]
    if lo > hi:
        problem(where, f"min ({lo}) is larger than max ({hi})")
        return None
    step = spec.get("step", 1 if integer else (hi - lo) / 20 or 1.0)
    if not _is_number(step) or step <= 0 or (integer and float(step) != int(step)):
        problem(f"{where}.step", f"must be a {'whole ' if integer else ''}number > 0, got {step!r}")
        return None
    if params_ok:  # else the fixed params are already reported; a bound cannot be judged on top
        _check_range_in_world(name, where, lo, hi, preset, params, resolved, problem)
    return ParamRange(name, lo, hi, int(step) if integer else float(step), integer)


def _check_range_in_world(name: str, where: str, lo: float, hi: float, preset: str, params: dict[str, Any],
                          resolved: WorldParams, problem: Problem) -> None:
    """Both ends of a range make a world, and the range holds the exercise's own value."""
    accepted = True
    for key, value in (("min", lo), ("max", hi)):
        try:
            resolve_params(preset, **_merge_params(params, {name: value}))
        except (ValueError, TypeError) as error:
            accepted = False
            reason = "; ".join(_world_problems(error))
            problem(f"{where}.{key}", f"{value!r} is outside what the world accepts: {reason}")
    if accepted:
        current = _current_value(resolved, name)
        if not lo <= current <= hi:
            source_of = "world.params" if name.split(".")[0] in params else "the preset's default"
            problem(where, f"the exercise's own value {current!r} ({source_of}) lies outside "
                           f"[{lo}, {hi}]: widen the range or change the value")


def _parse_vary(world: Mapping[str, Any], may_change: Mapping[str, Any], problem: Problem) -> list[str]:
    vary = world.get("vary_per_trainee", []) or []
    if not isinstance(vary, list) or not all(isinstance(v, str) for v in vary):
        problem("world.vary_per_trainee", f"must be a list of names from trainee_may_change, got {vary!r}")
        vary = []
    for name in vary:
        if name not in may_change:
            problem("world.vary_per_trainee", f"{name!r} is not in world.trainee_may_change: only a parameter "
                                              "with a range can be drawn per trainee")
    return vary


def _parse_quantity_section(data: Mapping[str, Any], resolved: WorldParams, problem: Problem) -> Quantity | None:
    quantity_data = data.get("quantity")
    if quantity_data is None:
        problem("quantity", "missing (required): what to estimate, e.g. {kind: true_effect, analysis: export, "
                            "outcome: sales, group: 50-99, horizon: 5}")
        return None
    if not isinstance(quantity_data, Mapping):
        problem("quantity", f"must be a mapping, got {quantity_data!r}")
        return None
    return _parse_quantity(quantity_data, resolved, problem)


def _parse_unit(data: Mapping[str, Any], quantity: Quantity | None, problem: Problem) -> str | None:
    unit = data.get("unit")
    if unit is not None and not isinstance(unit, str):
        problem("unit", f"must be a text such as 'log points' or '%', got {unit!r}")
        unit = None
    if unit is None and quantity is not None:
        unit = {"matched_count": "firms", "spillover_coefficient": "million yen per point"}.get(
            quantity.kind, "" if quantity.kind not in EFFECT_KINDS else "log points" if quantity.scale == "log"
            else "%")
    return unit


def _parse_japanese(value: Any, n_hints: int, ranges: Mapping[str, Any],
                    problem: Callable[[str, str], None]) -> dict[str, Any]:
    """The optional ``ja:`` block: title, question, unit (texts), hints (one per English hint), labels
    (slider name → label), all shown instead of the English on the Japanese edition's pages."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problem("ja", f"must be a mapping of {', '.join(_JA_KEYS)}, got {value!r}")
        return {}
    out: dict[str, Any] = {}
    for key, text in value.items():
        where = f"ja.{key}"
        if key not in _JA_KEYS:
            problem(where, f"unknown field{_suggest(key, _JA_KEYS)}. Fields are {', '.join(_JA_KEYS)}.")
        elif key == "hints":
            if not isinstance(text, list) or not all(isinstance(h, str) and h.strip() for h in text):
                problem(where, f"must be a list of texts, got {text!r}")
            elif len(text) != n_hints:
                problem(where, f"has {len(text)} hint(s) for the {n_hints} English one(s): give one for each, "
                               "in the same order")
            else:
                out[key] = [h.strip() for h in text]
        elif key == "labels":
            if not isinstance(text, Mapping) or not all(isinstance(v, str) and v.strip() for v in text.values()):
                problem(where, f"must map slider names to texts, got {text!r}")
            elif unknown := [name for name in text if name not in ranges]:
                problem(where, f"{unknown}: not a slider of world.trainee_may_change ({', '.join(ranges) or 'none'})")
            else:
                out[key] = {str(name): v.strip() for name, v in text.items()}
        elif not isinstance(text, str) or not text.strip():
            problem(where, f"must be a non-empty text, got {text!r}")
        else:
            out[key] = text.strip()
    return out


def _parse_quantity(q: Mapping[str, Any], params: WorldParams, problem: Callable[[str, str], None]) -> Quantity | None:
    ok = True

    def bad(where: str, what: str) -> None:
        nonlocal ok
        ok = False
        problem(f"quantity.{where}", what)

    for key in q:
        if key not in _QUANTITY_KEYS:
            bad(str(key), f"unknown field{_suggest(key, _QUANTITY_KEYS)}. Fields are {', '.join(_QUANTITY_KEYS)}.")
    kind = q.get("kind")
    if kind not in QUANTITY_KINDS:
        bad("kind", f"{'missing (required)' if kind is None else f'unknown kind {kind!r}'}"
                    f"{_suggest(kind, QUANTITY_KINDS) if kind else ''}. Kinds are {list(QUANTITY_KINDS)}.")
        return None
    if kind not in EFFECT_KINDS:
        return _parse_other_quantity(kind, q, params, bad, lambda: ok)
    analysis, outcome, group = _effect_target(q, kind, bad)
    horizon = _effect_horizon(q, kind, params, bad)
    scale = q.get("scale", "log")
    if scale not in ("log", "percent"):
        bad("scale", f"{scale!r}: choose log or percent")
    measure, start_year = _effect_measure(q, kind, horizon, scale, params, bad)
    if not ok:
        return None
    return Quantity(kind=kind, analysis=analysis, outcome=outcome, group=group, horizon=horizon, scale=scale,
                    measure=measure, start_year=start_year)


def _effect_target(q: Mapping[str, Any], kind: str, bad: Problem) -> tuple[Any, Any, str | None]:
    """An effect's analysis, outcome and group."""
    analysis = q.get("analysis")
    if analysis not in ("export", "fdi", "support"):
        bad("analysis", f"{'missing (required)' if analysis is None else repr(analysis)}: choose export or fdi "
                        "(or support: the support programme, kind true_effect only)")
    outcome = q.get("outcome")
    if analysis == "support":
        if kind != "true_effect":
            bad("kind", f"{kind!r}: the support programme has kind true_effect only")
        if outcome not in SUPPORT_OUTCOMES:
            bad("outcome", f"{outcome!r}: the support programme's outcomes are {list(SUPPORT_OUTCOMES)}")
    elif outcome not in OUTCOMES:
        bad("outcome", f"{'missing (required)' if outcome is None else f'unknown outcome {outcome!r}'}"
                       f"{_suggest(outcome, OUTCOMES) if outcome else ''}. Outcomes are {list(OUTCOMES)}.")
    group = q.get("group")
    if group is not None:
        group = str(group)
        groups = {"export": EXPORT_GROUPS, "fdi": FDI_GROUPS, "support": EXPORT_GROUPS}.get(analysis)
        if groups is not None and group not in groups:
            bad("group", f"unknown {analysis} group {group!r}{_suggest(group, groups)}. Groups are {list(groups)}.")
    elif kind == "true_effect":
        bad("group", "missing: a true effect belongs to one group (export: size class, fdi: sector)")
    return analysis, outcome, group


def _effect_horizon(q: Mapping[str, Any], kind: str, params: WorldParams, bad: Problem) -> Any:
    horizon = q.get("horizon", 5)
    panel_years = params.end_year - params.start_year
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        bad("horizon", f"must be a whole number of years ≥ 0, got {horizon!r}")
    elif kind in ("true_effect", "sample_att") and horizon > MAX_HORIZON:
        bad("horizon", f"{horizon}: effects are defined up to {MAX_HORIZON} years after the start")
    elif horizon > panel_years - 1:
        bad("horizon", f"{horizon}: too long for the panel {params.start_year}–{params.end_year}")
    return horizon


def _effect_measure(q: Mapping[str, Any], kind: str, horizon: Any, scale: Any, params: WorldParams,
                    bad: Problem) -> tuple[Any, Any]:
    """measure and start_year: only the naive comparisons (naive_difference, selection_bias) take them."""
    measure = q.get("measure", "growth")
    start_year = q.get("start_year")
    if kind not in ("naive_difference", "selection_bias"):
        if "measure" in q:
            bad("measure", f"only for naive_difference and selection_bias, not {kind}")
        if "start_year" in q:
            bad("start_year", f"only for naive_difference and selection_bias, not {kind}")
        return measure, start_year
    if measure not in ("growth", "level"):
        bad("measure", f"{measure!r}: choose growth or level")
    elif measure == "level" and scale == "percent":
        bad("scale", "percent needs measure: growth (a percent change from t−1); levels are in logs")
    if start_year is not None:
        if isinstance(start_year, bool) or not isinstance(start_year, int):
            bad("start_year", f"must be a year, got {start_year!r}")
        elif isinstance(horizon, int) and not (params.start_year + 1 <= start_year <= params.end_year - horizon):
            bad("start_year", f"{start_year}: a cohort needs data at t−1 and t+{horizon}; with the panel "
                              f"{params.start_year}–{params.end_year} choose "
                              f"{params.start_year + 1}–{params.end_year - horizon}, or leave it out to pool "
                              "all cohorts")
    return measure, start_year


def read_text(path: str | Path, what: str) -> str:
    """The text of an input file: UTF-8 (with or without BOM), UTF-16 with a BOM, or Shift-JIS/cp932.

    Excel on Japanese Windows saves CSV as cp932; it is recognised and read. Anything else is refused
    with the command that converts it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found{' (it is a folder)' if path.is_dir() else ''}.")
    try:
        return decode_text(path.read_bytes())[0]
    except AmbiguousEncodingError as error:
        raise ValueError(f"{what} {path} {error}: save it as UTF-8 (iconv -f EUC-JP -t utf-8 {path.name} > "
                         f"{path.stem}-utf8{path.suffix}, or -f CP932, whichever reads right).") from None
    except UnicodeDecodeError:
        pass
    raise ValueError(f"{what} {path} is neither UTF-8 nor Shift-JIS (cp932): save it as UTF-8 (Excel: 'CSV UTF-8'; "
                     f"or run: iconv -f <its encoding> -t utf-8 {path.name} > {path.stem}-utf8{path.suffix}).")


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)


COUNT_UNITS = ("firms", "establishments")  # answers that are counts: 1,234 is a thousands separator there
# 1,234 / 12,345,678.5: commas every three digits, the first group without a leading zero
_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?$", re.ASCII)


def parse_number(raw: str, unit: str = "") -> tuple[float | None, str]:
    """A plain decimal number (``0.15``, ``-1.2e-3``) or ``(None, why not)``; ``unit`` is the answer's.

    Deliberately stricter than ``float()``: ``1_5`` (Python reads 15), full-width digits ``０.１５``,
    ``nan``/``inf``, a decimal comma and units are refused, so a typo is never graded as a number. A trailing
    ``%`` is read only where the unit is %. Commas every three digits are thousands separators where the answer
    is a count (:data:`COUNT_UNITS`) or where no other reading exists (``12,345,678``, ``1,234.5``); ``1,234``
    for any other answer is refused with both readings. The page's widget.js (``readAnswer``) has the same rules.
    """
    text = raw.strip()
    if not text:
        return None, "no answer given"
    if text.endswith("%"):
        if not unit.startswith("%"):
            return None, (f"answer {raw!r} is in %, but the answer is in {unit or 'the unit asked for'}; leave out "
                          "the % sign and give it in that unit")
        text = text[:-1].rstrip()
    if _THOUSANDS.match(text):
        if unit in COUNT_UNITS or text.count(",") > 1 or "." in text:
            text = text.replace(",", "")
        else:
            return None, (f"answer {raw!r} reads as {text.replace(',', '')} (a thousands separator) or as "
                          f"{text.replace(',', '.')} (a decimal comma); write it without the comma")
    if _NUMBER.match(text):
        value = float(text)
        if math.isfinite(value) and abs(value) < 1e100:
            return value, ""
        return None, f"answer {raw!r} is not a usable number (too large)"
    if any(ord(c) > 127 for c in text):
        return None, f"answer {raw!r} has non-ASCII characters (full-width digits?); type ASCII digits, e.g. 0.15"
    if "_" in text:
        return None, f"answer {raw!r} has an underscore; write the digits only, e.g. 15 not 1_5"
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        return None, f"answer {raw!r} uses a decimal comma; use a decimal point, e.g. 0.15"
    if "," in text:
        return None, (f"answer {raw!r} has a comma that is neither a decimal point nor a thousands separator "
                      "(1,234,567); write a plain number with a decimal point, e.g. 0.15")
    return None, f"answer {raw!r} is not a number; write a plain number with a decimal point, e.g. 0.15"


@dataclass(frozen=True)
class CsvRow:
    """One data row of a checked CSV: its line number in the file and its cells by (stripped) column name."""

    line: int
    cells: dict[str, str]


def read_csv_rows(path: str | Path, what: str, required: Iterable[str], optional: Iterable[str] = ()) -> list[CsvRow]:
    """Rows of a CSV whose every row has as many fields as the header; otherwise a ValueError naming the lines.

    An unquoted comma (``s02,0,05``) or a short row is never re-read as another row or guessed at: the whole
    file is refused with the line numbers, so the instructor fixes it at the source. Blank lines are skipped.
    """
    path = Path(path)
    text = read_text(path, what)
    required, optional = list(required), list(optional)
    try:
        rows = list(_numbered_rows(text))
    except csv.Error as error:
        raise ValueError(f"{what} {path}: not a readable CSV ({error}); save it as CSV from your spreadsheet."
                         ) from None
    if not rows:
        raise ValueError(f"{what} {path} is empty; its first row must be a header: {','.join(required)}")
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(f"{what} {path}: the header row (line {header_line}) lacks column(s) {missing} "
                         f"(found {header}); it must read {','.join(required + [c for c in optional if c in header])}.")
    repeated = sorted({h for h in header if header.count(h) > 1 and h})
    if repeated:
        raise ValueError(f"{what} {path}: column(s) {repeated} appear twice in the header; keep one.")
    out, problems = [], []
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            hint = ("an unquoted comma inside a value? Use a decimal point, or quote the value"
                    if len(row) > len(header) else "a missing value? Leave it empty but keep the commas")
            problems.append(f"line {line}: {len(row)} fields but the header has {len(header)} "
                            f"({', '.join(header)}) — {hint}")
            continue
        out.append(CsvRow(line, {h: cell.strip() for h, cell in zip(header, row, strict=True)}))
    if problems:
        shown = "\n  - ".join(problems[:10]) + (f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ValueError(f"{what} {path}: {len(problems)} row(s) do not fit the header; nothing was read. Fix "
                         f"them and run again:\n  - {shown}")
    return out


def _numbered_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, fields)`` of each CSV record (a quoted field may span lines)."""
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines)
    line = 1
    for row in reader:
        yield line, row
        line = reader.line_num + 1


def _parse_other_quantity(kind: str, q: Mapping[str, Any], params: WorldParams,
                          bad: Callable[[str, str], None], ok: Callable[[], bool]) -> Quantity | None:
    """The kinds beyond effects: matching (count, balance), LP coefficient, spillover coefficient."""
    from kaigai_lib.world.synthetic import INDUSTRIES

    allowed = {"matched_count": ("analysis", "horizon", "caliper"), "max_smd": ("analysis", "horizon", "caliper"),
               "lp_coefficient": ("coefficient", "industry"), "spillover_coefficient": ("coefficient",)}[kind]
    for key in q:
        if key != "kind" and key in _QUANTITY_KEYS and key not in allowed:
            bad(key, f"not used by kind {kind} (its fields: {', '.join(allowed)})")
    fields: dict[str, Any] = {"kind": kind, "analysis": "", "outcome": ""}
    if kind in MATCHING_KINDS:
        analysis = q.get("analysis")
        if analysis not in ("export", "fdi"):
            bad("analysis", f"{'missing (required)' if analysis is None else repr(analysis)}: choose export or fdi")
        horizon = q.get("horizon", 5)
        if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON:
            bad("horizon", f"must be a whole number of years 1–{MAX_HORIZON}, got {horizon!r}")
        caliper = q.get("caliper", 0.2)
        if not _is_number(caliper) or caliper <= 0:
            bad("caliper", f"must be a number > 0 (SDs of the logit score), got {caliper!r}")
        fields.update(analysis=analysis, horizon=horizon, caliper=float(caliper) if _is_number(caliper) else 0.2)
    else:
        choices = ("labour", "capital") if kind == "lp_coefficient" else ("opr", "di")
        coefficient = q.get("coefficient")
        if coefficient not in choices:
            bad("coefficient", f"{'missing (required)' if coefficient is None else repr(coefficient)}: choose "
                               f"{' or '.join(choices)}")
        fields["coefficient"] = coefficient
        if kind == "lp_coefficient":
            industries = list(INDUSTRIES["industry"])
            industry = q.get("industry")
            if industry not in industries:
                bad("industry", f"{'missing (required)' if industry is None else f'unknown industry {industry!r}'}"
                                f"{_suggest(industry, industries) if industry else ''}. Industries are {industries}.")
            fields["industry"] = industry
    if not ok():
        return None
    return Quantity(**fields)


def exercise_files() -> dict[str, Path]:
    """The example exercises shipped with kaigai_lib, by name (file name without suffix)."""
    return {p.stem: p for p in sorted(EXERCISE_DIR.iterdir()) if p.suffix in EXERCISE_SUFFIXES}


def load_exercise(path_or_name: str | Path) -> ExerciseSpec:
    """Read and validate an exercise file (YAML or TOML), or a shipped example by name.

    Parameters
    ----------
    path_or_name : str or pathlib.Path
        A ``.yml``, ``.yaml`` or ``.toml`` file, or the name of a shipped
        example (``kaigai exercises list``), e.g. "att-export-sales-small".

    Returns
    -------
    ExerciseSpec
        The validated exercise.

    Raises
    ------
    FileNotFoundError
        If there is no such file and no shipped example of that name (the message lists them).
    ExerciseError
        A ``ValueError`` naming the file and every bad field.

    See Also
    --------
    exercise_widget : Show the exercise.
    quality_report : Judge it before a class.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "effect.yml"
    >>> _ = path.write_text('''
    ... id: effect-tiny
    ... question: "The true 5-year effect of exporting on the log sales of firms with 50-99 employees?"
    ... world:
    ...   preset: tiny
    ...   trainee_may_change:
    ...     export_effects.50-99.sales: {min: 0.1, max: 0.2, step: 0.05}
    ... quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
    ... tolerance: 0.01
    ... ''', encoding="utf-8")
    >>> from kaigai_lib import load_exercise
    >>> spec = load_exercise(path)
    >>> spec.id, spec.preset, spec.quantity.kind, spec.tolerance
    ('effect-tiny', 'tiny', 'true_effect', 0.01)
    >>> spec.truth(spec.generate())
    0.15
    >>> _ = path.write_text(path.read_text(encoding="utf-8").replace("tolerance: 0.01", "tolerance: -1"),
    ...                     encoding="utf-8")
    >>> load_exercise(path)
    Traceback (most recent call last):
    ...
    kaigai_lib.exercises.spec.ExerciseError: Exercise file .../effect.yml has 1 problem(s):
      - tolerance: must be a number ≥ 0, got -1
    """
    path = Path(path_or_name)
    if not path.exists():
        shipped = exercise_files()
        if str(path_or_name) in shipped:
            path = shipped[str(path_or_name)]
        else:
            raise FileNotFoundError(
                f"No exercise file {str(path_or_name)!r}. Shipped examples: {sorted(shipped)} "
                "(see `kaigai exercises list`).")
    source = str(path)
    if path.suffix not in EXERCISE_SUFFIXES:
        raise ExerciseError(source, [("(file)", f"unknown file type {path.suffix!r}: use .yml, .yaml or .toml")])
    text_ = read_text(path, "Exercise file")
    try:
        data = tomllib.loads(text_) if path.suffix == ".toml" else yaml.load(text_, Loader=_StrictLoader)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        raise ExerciseError(source, [("(file)", f"not valid {'TOML' if path.suffix == '.toml' else 'YAML'}: "
                                                f"{error}")]) from None
    return parse_exercise(data, source=source)


def _as_spec(spec_or_path: ExerciseSpec | str | Path) -> ExerciseSpec:
    return spec_or_path if isinstance(spec_or_path, ExerciseSpec) else load_exercise(spec_or_path)


class ExerciseWidget(StaticWidget):
    """An instructor's exercise as a widget, on the static site too.

    Sliders for the parameters a trainee may move, an answer box, a Check
    button, hints one at a time and feedback.

    Each slider position is a world (same seed), so the truth follows. At construction the widget
    computes, for every position of the sliders' grid (their product, up to ``max_settings``), the
    world's description and — except in the course edition — the answer key
    (``kaigai_lib.teaching.static_widgets.answer_key``: truth, tolerance, unit slips, the naive estimate, the
    sign); the page judges answers with no kernel. The current world's survey tables are ``.firms``,
    ``.establishments``, ``.foreign_demand`` and ``.deflators``; ``.world`` is the whole world, truth
    included; ``set()`` (of the widgets' base class) moves sliders, :meth:`check` judges an answer in Python.

    With ``trainee="…"`` the widget draws that trainee's own world — the seed
    and the ``vary_per_trainee`` values of ``kaigai exercises make`` — so it
    checks answers against the same truth as the answer key. Otherwise it
    uses ``seed`` (default: the file's). Made by :func:`exercise_widget`.

    Parameters
    ----------
    spec : ExerciseSpec or str or pathlib.Path
        An exercise, its file, or a shipped example's name.
    seed : int or None, optional
        The world's seed (default: the file's).
    trainee : str or None, optional
        A trainee id: that trainee's own world.
    precompute : bool, default True
        Compute every slider position now (for the static site).
    max_settings : int, default 60
        The most slider positions (their product) the widget precomputes.
    course : bool or None, optional
        Build the course edition (no answer keys); default from ``KAIGAI_HIDE_SOLUTIONS``.

    Raises
    ------
    ValueError
        If both ``seed`` and ``trainee`` are given, or the sliders make more than ``max_settings`` settings.

    Examples
    --------
    >>> from kaigai_lib import exercise_widget
    >>> widget = exercise_widget("lp-labour-machinery")
    >>> type(widget).__name__, widget.setup["kind"], widget.controls == {}
    ('ExerciseWidget', 'exercise', True)
    >>> widget.check(0.6).verdict
    'correct'
    """

    def __init__(self, spec: ExerciseSpec | str | Path, seed: int | None = None,
                 trainee: str | None = None, *, precompute: bool = True, max_settings: int = 60,
                 course: bool | None = None) -> None:
        self.spec = _as_spec(spec)
        if trainee is not None and seed is not None:
            raise ValueError("Give either seed or trainee: a trainee's seed is derived from the trainee id.")
        self.trainee = trainee
        if trainee is not None:
            self.seed = trainee_seed(self.spec, trainee)
        else:
            self.seed = self.spec.seed if seed is None else int(seed)
        defaults = {**self.spec.default_values(), **(trainee_changes(self.spec, trainee) if trainee else {})}
        controls = []
        settings = 1
        for name, r in self.spec.trainee_may_change.items():
            grid = r.grid()
            fmt = "{:d}" if r.integer else ("{:.2f}" if r.step >= 0.01 else "{:.4f}")
            labels = [fmt.format(v) for v in grid]
            start = min(range(len(grid)), key=lambda i: abs(grid[i] - defaults[name]))
            controls.append(Control(name, name, labels, labels[start],
                                    mapping={label: v for label, v in zip(labels, grid, strict=True)}))
            settings *= len(grid)
        if settings > max_settings:
            raise ValueError(f"{self.spec.source}: the sliders make {settings} settings, more than "
                             f"max_settings={max_settings} the page can precompute; use larger steps or "
                             "fewer sliders (or pass max_settings=…).")
        self._world: tuple[str, World] | None = None
        super().__init__(controls, kind="exercise", title=self.spec.title,
                         check={"question": html.escape(self.spec.question), "unit": self.spec.unit,
                                "hints": [html.escape(h) for h in self.spec.hints]},
                         precompute=precompute, course=course, translations=self._japanese())

    def _japanese(self) -> dict[str, dict[str, str]]:
        """The exercise file's own Japanese texts (``ja:``), keyed by the English ones the widget shows."""
        ja, spec = self.spec.ja, self.spec
        pairs = [(spec.title, ja.get("title")), (html.escape(spec.question), html.escape(ja.get("question", ""))),
                 (spec.unit, ja.get("unit")),
                 *zip((html.escape(h) for h in spec.hints), (html.escape(h) for h in ja.get("hints", [])),
                      strict=False),
                 *((name, label) for name, label in ja.get("labels", {}).items())]
        texts = {english: japanese for english, japanese in pairs if english and japanese}
        return {"ja": texts} if texts else {}

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        world = self.spec.generate(self.seed, setting)
        whose = (msg("the world of trainee {trainee}", trainee=f"<code>{html.escape(self.trainee)}</code>")
                 if self.trainee else msg("preset {preset}, seed {seed}", preset=f"<code>{self.spec.preset}</code>",
                                          seed=self.seed))
        starts = f"{self.spec.quantity.analysis}_start_year"
        shown = "".join(f"<code>{html.escape(n)}</code> = {number(n, v, '{:g}')}, " for n, v in setting.items())
        whose += ", " + shown[:-2] if shown else ""
        firm_years = number('firm_years', len(world.firms), '{:,}')
        if starts not in world.firms:  # an exercise on TFP or spillovers has no starters to count
            view = {"html": "<p>" + msg("Your world: {whose}; {firm_years} firm-years in {firms}.", whose=whose,
                                        firm_years=firm_years, firms="<code>.firms</code>") + "</p>",
                    "numbers": {"firm_years": len(world.firms), **setting}}
        else:
            starters = int(world.firms.loc[world.firms[starts].notna(), "firm_id"].nunique())
            # a msg() template: the page shows it in its own language, the numbers kept
            view = {"html": "<p>" + msg("Your world: {whose}; {firm_years} firm-years in {firms}, {starters} "
                                        "{analysis} starters.", whose=whose, firm_years=firm_years,
                                        firms="<code>.firms</code>", starters=number('starters', starters, '{:,}'),
                                        analysis=msg(self.spec.quantity.analysis)) + "</p>",
                    "numbers": {"firm_years": len(world.firms), "starters": starters, **setting}}
        if self.course:
            return view, None
        return view, answer_key(self.spec.truth(world), self.spec.tolerance, self.spec.unit,
                                naive=_naive_slip(self.spec.quantity, world))

    # the trainee's data
    @property
    def world(self) -> World:
        """The current setting's world (generated again when the sliders moved)."""
        key = self.key(self.values)
        if self._world is None or self._world[0] != key:
            self._world = (key, self.spec.generate(self.seed, self.setting))
        return self._world[1]

    @property
    def exercise(self) -> NumericExercise:
        """The exercise of the current world (its ``answer`` is the truth)."""
        return self.spec.numeric_exercise(self.world)

    @property
    def firms(self) -> pd.DataFrame:
        """The current world's firm panel."""
        return self.world.firms

    @property
    def establishments(self) -> pd.DataFrame:
        """The current world's plant panel."""
        return self.world.establishments

    @property
    def foreign_demand(self) -> pd.DataFrame:
        """The current world's foreign-demand DI by year."""
        return self.world.foreign_demand

    @property
    def deflators(self) -> pd.DataFrame:
        """The current world's investment deflator by year."""
        return self.world.deflators

    def check(self, value: float | None) -> Feedback:
        """Judge ``value`` against the current world's truth.

        Parameters
        ----------
        value : float or None
            The answer.

        Returns
        -------
        Feedback
            The verdict and its message.
        """
        return self.exercise.check(value)


def _naive_slip(quantity: Quantity, world: World) -> float | None:
    """The naive estimate a trainee might give instead of the quantity (None where it is the quantity)."""
    if quantity.kind == "naive_difference":
        return None
    if quantity.kind == "selection_bias":
        return decompose(world, quantity.analysis, quantity.outcome, quantity.group, quantity.horizon,
                         quantity.start_year, measure=quantity.measure, scale=quantity.scale).naive
    try:
        return decompose(world, quantity.analysis, quantity.outcome, quantity.group, quantity.horizon,
                         scale=quantity.scale).naive
    except ValueError:  # no starters or no comparison group in this world: no naive slip to recognise
        return None


def exercise_widget(spec_or_path: ExerciseSpec | str | Path, seed: int | None = None,
                    trainee: str | None = None) -> ExerciseWidget:
    """The widget of an exercise file (or a shipped example's name, or an :class:`ExerciseSpec`).

    Sliders for the parameters a trainee may move, an answer box, a Check
    button, hints one at a time and feedback — on the static site too: for
    every slider position the widget computes the world's answer key when it
    is made (none in the course edition), and the page judges answers.

    Parameters
    ----------
    spec_or_path : ExerciseSpec or str or pathlib.Path
        An exercise, its file, or a shipped example's name.
    seed : int or None, optional
        The world's seed (default: the file's).
    trainee : str or None, optional
        A trainee id, e.g. "s01": that trainee's own world, the one of their hand-out.

    Returns
    -------
    ExerciseWidget
        The widget (an ``anywidget.AnyWidget``): ``set`` moves sliders,
        ``check`` judges an answer, ``world``/``firms`` are the current data.

    Raises
    ------
    ValueError
        If both ``seed`` and ``trainee`` are given, or the sliders make more
        settings than the page can precompute (60).

    See Also
    --------
    load_exercise : Read the file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "effect.yml"
    >>> _ = path.write_text('''
    ... id: effect-tiny
    ... question: "The true 5-year effect of exporting on the log sales of firms with 50-99 employees?"
    ... world:
    ...   preset: tiny
    ...   trainee_may_change:
    ...     export_effects.50-99.sales: {min: 0.1, max: 0.2, step: 0.05}
    ... quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
    ... tolerance: 0.01
    ... ''', encoding="utf-8")
    >>> from kaigai_lib import exercise_widget
    >>> widget = exercise_widget(path)
    >>> widget.setup["kind"], len(widget.views), widget.values
    ('exercise', 3, {'export_effects.50-99.sales': '0.15'})
    >>> widget.check(0.155).correct
    True
    >>> widget.set(**{"export_effects.50-99.sales": 0.1})
    >>> widget.check(0.155).message
    'Too high: 0.155 log points is more than 0.01 log points above the true value.'
    """
    return ExerciseWidget(spec_or_path, seed=seed, trainee=trainee)


# --------------------------------------------------------------------------
# Exercise quality: truth and estimator over a sample of trainee worlds
# --------------------------------------------------------------------------

def naive_for(spec: ExerciseSpec, world: World) -> float:
    """The naive starter/non-starter growth difference for an effect question (the classic wrong answer), or NaN."""
    q = spec.quantity
    if q.kind not in ("true_effect", "sample_att") or q.horizon < 1:
        return math.nan
    try:
        return decompose(world, q.analysis, q.outcome, q.group, q.horizon, measure="growth", scale=q.scale).naive
    except (ValueError, KeyError):
        return math.nan


def estimate_for(spec: ExerciseSpec, world: World) -> float:
    """What the library's public estimator gives on the trainee's data: the white paper's matched DiD for
    effects; for data-determined kinds (naive difference, matching counts) the value itself; else NaN."""
    q = spec.quantity
    if q.kind in ("true_effect", "sample_att"):
        from kaigai_lib.whitepaper.did_design import white_paper_did

        result = white_paper_did(world, q.analysis, outcomes=[q.outcome], horizons=[q.horizon],
                                 groups=[q.group] if q.group else None, scale=q.scale)
        rows = result.tidy().query("outcome == @q.outcome and horizon == @q.horizon")
        if q.group:
            rows = rows.loc[rows["group"] == q.group]
        return float(rows["estimate"].iloc[0]) if len(rows) == 1 else math.nan
    if q.kind in ("naive_difference", *MATCHING_KINDS):
        return spec.truth(world)
    if q.kind == "lp_coefficient":
        from kaigai_lib.estimators.tfp import levinsohn_petrin, log_columns

        firms = world.firms.loc[world.firms["industry"] == q.industry]
        data = log_columns(firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
        result = levinsohn_petrin(data, "log_value_added", "log_employees", "log_capital_stock",
                                  "log_intermediate_inputs", unit="firm_id", time="year", progress=False)
        return float(result.coef[f"log_{'employees' if q.coefficient == 'labour' else 'capital_stock'}"])
    if q.kind == "spillover_coefficient":
        from kaigai_lib.estimators.spatial import DI, OPR, build_catchments, fit_spillover

        result = fit_spillover(build_catchments(world.establishments, world.firms), world.foreign_demand)
        return result.coef(OPR if q.coefficient == "opr" else DI)
    return math.nan


@dataclass
class QualityReport:
    """The verdict of :func:`quality_report` on an exercise, before a class gets it.

    Parameters
    ----------
    spec : ExerciseSpec
        The exercise judged.
    table : pandas.DataFrame
        One row per sampled trainee world: ``world``, ``truth``,
        ``estimate``, ``naive`` and a ``passes: …`` column for each slip
        that would pass somewhere.
    warnings : list of str
        What would go wrong in class (shared truths, slips that pass).
    suggested_tolerance : float
        2 × the root mean square of the estimator's error (NaN without an estimator).

    Examples
    --------
    >>> from kaigai_lib import load_exercise, quality_report
    >>> report = quality_report(load_exercise("lp-labour-machinery"), sample=2, estimate=False)
    >>> type(report).__name__, report.table["truth"].tolist()
    ('QualityReport', [0.6, 0.6])
    >>> print(report.summary().splitlines()[0].strip())
    truth over 2 trainee worlds: mean 0.6000, SD 0.0000
    """

    spec: ExerciseSpec
    table: pd.DataFrame
    warnings: list[str]
    suggested_tolerance: float

    def summary(self) -> str:
        """The report as text: the truth, the estimator's error, the suggested tolerance and the warnings.

        Returns
        -------
        str
            One line per item.
        """
        t = self.table
        lines = [f"  truth over {len(t)} trainee worlds: mean {t['truth'].mean():.4f}, SD {t['truth'].std():.4f} "
                 f"{self.spec.unit}"]
        if t["estimate"].notna().any():
            error = t["estimate"] - t["truth"]
            lines.append(f"  estimator: mean {t['estimate'].mean():.4f}, SD {t['estimate'].std():.4f}; error vs "
                         f"truth mean {error.mean():+.4f}, SD {error.std():.4f}")
        if math.isfinite(self.suggested_tolerance):
            lines.append(f"  suggested tolerance: {self.suggested_tolerance:.3g} (file: {self.spec.tolerance:g})")
        lines += [f"  WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


def quality_report(spec: ExerciseSpec, sample: int = 5, estimate: bool = True) -> QualityReport:
    """Draw ``sample`` trainee worlds as ``kaigai exercises make`` would and judge the exercise.

    Suggested tolerance: 2 × the root mean square of the estimator's error against the truth (about a 95 %
    band for an honest estimate). Warnings: a truth the same for everyone; the naive estimate, a unit slip
    (×100 or ÷100) or a sign error that would pass in some worlds.

    Parameters
    ----------
    spec : ExerciseSpec
        The exercise.
    sample : int, default 5
        Trainee worlds to draw.
    estimate : bool, default True
        Also run the library's estimator on each world (for effects: the
        white paper's matched DiD; slower).

    Returns
    -------
    QualityReport
        ``table`` (one row per world: ``truth``, ``estimate``, ``naive`` and
        which slips would pass), ``warnings``, ``suggested_tolerance`` and
        ``summary()``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "effect.yml"
    >>> _ = path.write_text('''
    ... id: effect-tiny
    ... question: "The true 5-year effect of exporting on the log sales of firms with 50-99 employees?"
    ... world:
    ...   preset: tiny
    ...   trainee_may_change:
    ...     export_effects.50-99.sales: {min: 0.1, max: 0.2, step: 0.05}
    ... quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
    ... tolerance: 0.01
    ... ''', encoding="utf-8")
    >>> from kaigai_lib import load_exercise, quality_report
    >>> report = quality_report(load_exercise(path), sample=3, estimate=False)
    >>> report.table[["world", "truth", "naive"]].round(3)
                  world  truth  naive
    0  quality-sample-1   0.15  0.013
    1  quality-sample-2   0.15  0.037
    2  quality-sample-3   0.15  0.057
    >>> print(*report.warnings)
    the truth is the same for every trainee: answers can be shared (vary a parameter per trainee,
    or accept it; the README says so)
    """
    rows = []
    for i in range(1, sample + 1):
        tid = f"quality-sample-{i}"
        world = spec.generate(trainee_seed(spec, tid), trainee_changes(spec, tid))
        truth = spec.truth(world)
        rows.append({"world": tid, "truth": truth, "estimate": estimate_for(spec, world) if estimate else math.nan,
                     "naive": naive_for(spec, world)})
    table = pd.DataFrame(rows)
    tol = spec.tolerance

    def passes(values: pd.Series) -> pd.Series:
        return ((values - table["truth"]).abs() <= tol) & values.notna()

    checks = {"the naive estimate": table["naive"], "a unit slip (×100)": 100 * table["truth"],
              "a unit slip (÷100)": table["truth"] / 100, "a sign error": -table["truth"]}
    warnings = []
    if spec.same_for_everyone or (table["truth"].nunique() == 1 and sample > 1):
        warnings.append("the truth is the same for every trainee: answers can be shared (vary a parameter per "
                        "trainee, or accept it; the README says so)")
    for what, values in checks.items():
        n = int(passes(values).sum())
        if what.startswith("a unit slip (÷") and (table["truth"].abs() <= tol).all():
            n = 0  # a truth within the tolerance of 0 is already flagged by the sign check
        if n:
            table[f"passes: {what}"] = passes(values)
            warnings.append(f"{what} would pass in {n} of {sample} worlds: tighten the tolerance or change "
                            "the question")
    error = table["estimate"] - table["truth"]
    # an answer the data determine exactly (naive difference, matching) has no sampling error to cover
    suggested = 2 * math.sqrt(float((error ** 2).mean())) if (error.abs() > 0).any() else math.nan
    return QualityReport(spec, table, warnings, suggested)


# --------------------------------------------------------------------------
# Personal data sets and the answer key
# --------------------------------------------------------------------------

KEY_COLUMNS = ("exercise_id", "trainee_id", "seed", "preset", "params", "quantity", "answer", "tolerance", "unit")
_TRAINEE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TRAINEE_ID_MAX = 64  # it names a folder and a zip inside them: far below any file system's name limit
# names Windows will not create as a file or folder, with or without an extension (NUL.txt is NUL too)
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}


def _hash_int(*parts: object) -> int:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def trainee_seed(spec: ExerciseSpec, trainee_id: str) -> int:
    """A trainee's own seed: a hash of the exercise id, the file's seed and the trainee id (deterministic)."""
    return _hash_int("kaigai-exercise", spec.id, spec.seed, trainee_id)


def trainee_changes(spec: ExerciseSpec, trainee_id: str) -> dict[str, float]:
    """The values of ``vary_per_trainee`` drawn for one trainee (a slider position, from a hash)."""
    out = {}
    for name in spec.vary_per_trainee:
        grid = spec.trainee_may_change[name].grid()
        out[name] = grid[_hash_int("kaigai-vary", spec.id, spec.seed, trainee_id, name) % len(grid)]
    return out


@dataclass(frozen=True)
class Trainee:
    """One roster row: the id names the trainee's folder; name and email go to the README and gradebook."""

    id: str
    name: str = ""
    email: str = ""
    row: int = field(default=0, compare=False)  # the roster line, for messages


def file_name_problem(name: str, what: str, names: str, renamed: str, reserved: Iterable[str] = ()) -> str | None:
    """Why ``name`` cannot name a file or folder on every computer a hand-out reaches, or None: at most
    :data:`TRAINEE_ID_MAX` characters of letters, digits, '-', '_' and '.', starting with a letter or digit
    (so never '..', a path, a comma or a quote), not a Windows device name (CON, NUL.txt, …), and none of the
    ``reserved`` names (files beside it; compared ignoring case). ``what`` names the field, ``names`` what the
    name becomes, ``renamed`` what to rename."""
    if len(name) > TRAINEE_ID_MAX:
        return (f"{what} {name[:20]!r}… has {len(name)} characters; use at most {TRAINEE_ID_MAX} (it names "
                f"{names})")
    if not _TRAINEE_PATTERN.match(name):
        return (f"{what} {name!r} — use letters, digits, '-', '_' and '.' only, starting with a letter or digit "
                f"(it names {names})")
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        return (f"{what} {name!r} is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9), where "
                f"{names} cannot be made; rename {renamed}, e.g. s_{name}")
    clashes = [r for r in reserved if r.casefold() == name.casefold()]
    if clashes:
        return f"{what} {name!r} is the name of a file beside {names} ({clashes[0]}); rename {renamed}"
    return None


def trainee_id_problems(rows: Iterable[tuple[int, str]], known: Iterable[str] = ()) -> list[str]:
    """Every reason the roster's ``(row, trainee_id)`` pairs cannot name folders and zips, one line each.

    An id names the trainee's folder and ``<id>.zip`` on any computer the hand-outs reach, so it must be
    non-empty, of letters, digits, '-', '_' and '.', at most :data:`TRAINEE_ID_MAX` characters, not a
    Windows device name (CON, NUL, COM1, … with or without extension, any case), unique ignoring case
    (Windows and macOS do not tell ``t1`` from ``T1``), and not another id's zip (``t1.zip`` beside ``t1``).
    ``known``: ids already handed out (``course add``), compared the same way. The one rule set of
    ``exercises make``, ``course make`` and ``course add``.
    """
    problems: list[str] = []
    seen: dict[str, str] = {tid.casefold(): "the existing key" for tid in known}
    checked: list[tuple[int, str]] = []
    for line, tid in rows:
        if not tid:
            problems.append(f"row {line}: empty trainee_id; give every trainee an id")
        elif (problem := file_name_problem(tid, "trainee_id", "the trainee's folder", "the trainee")) is not None:
            problems.append(f"row {line}: {problem}")
        elif tid.casefold() in seen:
            problems.append(f"row {line}: trainee_id {tid!r} repeats {seen[tid.casefold()]} (ignoring case: "
                            "Windows and macOS take them for one folder); give each trainee a distinct id")
        else:
            seen[tid.casefold()] = f"row {line}"
            checked.append((line, tid))
    for line, tid in checked:  # t1.zip beside t1: the folder of one is the zip of the other
        if tid.casefold().endswith(".zip") and tid.casefold()[:-4] in seen:
            problems.append(f"row {line}: trainee_id {tid!r} is the zip name of trainee_id {tid[:-4]!r} "
                            f"({seen[tid.casefold()[:-4]]}); rename one, e.g. without '.zip'")
    return problems


def roster_error(path: str | Path, problems: list[str], context: str = "") -> ValueError:
    """One line for one problem, a list for several; ``context`` e.g. " against the key K"."""
    if len(problems) == 1:
        return ValueError(f"{path}{context}: {problems[0]}")
    return ValueError(f"{path}: {len(problems)} problem(s) in the roster{context}:\n  - " + "\n  - ".join(problems))


def read_roster_table(path: str | Path) -> list[Trainee]:
    """Trainees from a roster CSV: a ``trainee_id`` column, optional ``name`` and ``email`` (UTF-8 or cp932).

    Every problem is reported with its line number: an empty, unusable or repeated id, or a row with more
    or fewer fields than the header (an unquoted comma in a name).
    """
    path = Path(path)
    rows = read_csv_rows(path, "Roster file", ["trainee_id"], ["name", "email"])
    problems = trainee_id_problems([(row.line, row.cells["trainee_id"]) for row in rows])
    trainees: list[Trainee] = []
    for row in rows:
        line, tid = row.line, row.cells["trainee_id"]
        email = row.cells.get("email", "")
        if email and not re.fullmatch(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+", email):
            problems.append(f"row {line}: email {email!r} is not an address; fix it or leave it empty")
        trainees.append(Trainee(tid, row.cells.get("name", ""), email, line))
    if problems:
        raise roster_error(path, problems)
    if not trainees:
        raise ValueError(f"{path}: the roster lists no trainees.")
    return trainees


def read_roster(path: str | Path) -> list[str]:
    """Trainee ids from a roster CSV with a ``trainee_id`` column (see :func:`read_roster_table`)."""
    return [t.id for t in read_roster_table(path)]


def _gzip_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # level 1: a third of level 6's time for ~15 % more bytes; making a class is dominated by this and CSV
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def _trainee_readme(spec: ExerciseSpec, trainee_id: str, world: World) -> str:
    from kaigai_lib.data import schema

    lines = [f"# {spec.title}", "", f"Data set for trainee **{trainee_id}** (exercise `{spec.id}`).", "",
             "## Question", "", spec.question, "",
             f"Give your answer in {spec.unit or 'the unit asked for'}; it counts as correct within "
             f"± {spec.tolerance:g}{' ' + spec.unit if spec.unit and spec.unit != '%' else spec.unit}.", ""]
    if spec.hints:
        lines += ["## Hints", "", *[f"- {h}" for h in spec.hints], ""]
    given = given_for_handout(spec, world)
    if given:
        lines += ["## Given", "", given, ""]
    lines += ["## Your data", "",
              "Synthetic data: no row describes a real firm. Your data set is yours alone — other trainees' "
              "data differ" + ("; the answer to this question is the same for everyone." if spec.same_for_everyone
                               else ", and so do their answers.") + " Money is in million yen.", ""]
    for table in spec.tables:
        frame = getattr(world, table)
        lines.append(f"- `{table}{'.csv.gz' if table in ('firms', 'establishments') else '.csv'}`: "
                     f"{len(frame):,} rows; columns {', '.join(frame.columns)}")
    lines += ["", "Read a table with `pandas.read_csv(\"firms.csv.gz\")`."]
    if "firms" in spec.tables:
        lines += ["", "### Columns of firms", "", "| column | unit | meaning |", "| --- | --- | --- |"]
        for _, row in schema.SCHEMAS["firms"].to_frame().iterrows():
            if row["column"] in world.firms.columns:
                lines.append(f"| {row['column']} | {row['unit']} | {row['description']} |")
    lines += ["", "## Submitting", "", "Send one CSV line with your trainee id and your answer (a plain number, "
              "decimal point, no unit), e.g.", "", "```", "trainee_id,answer", f"{trainee_id},0.123", "```", ""]
    return "\n".join(lines)


def given_for_handout(spec: ExerciseSpec, world: World) -> str:
    """What a hand-out must state for the question to be answerable from its data alone, or "".

    Selection bias = naive difference − ATT: the naive difference comes from the data, the ATT cannot, so the
    README states the true ATT of the trainee's world (it is not the answer, and differs from it by the
    naive difference the trainee must compute).
    """
    q = spec.quantity
    if q.kind != "selection_bias":
        return ""
    d = decompose(world, q.analysis, q.outcome, q.group, q.horizon, q.start_year, measure=q.measure, scale=q.scale)
    return (f"In your world, the true average effect on these starters (ATT) is {d.att:.6f} {spec.unit}. "
            "Compute the naive difference from your data and subtract the ATT.")


def make_datasets(spec: ExerciseSpec, trainee_ids: Iterable[str], out: str | Path,
                  key_path: str | Path | None = None, progress: Callable[[str], None] | None = None,
                  force: bool = False, inputs: Iterable[str | Path] = ()) -> pd.DataFrame:
    """Write each trainee's own data set into ``out/<trainee_id>/`` and the answer key; return the key.

    Each trainee gets their own seed (:func:`trainee_seed`) and, for the
    parameters in ``vary_per_trainee``, their own values. Only survey-like
    tables (``spec.tables``) and a README are written for trainees; the
    seed, parameters and answer go to the key only (default ``<out>_key.csv`` beside ``out``,
    :func:`default_key_path`; inside ``out`` it is refused, as is an input, and ``force`` replaces only a file
    with a key's header). ``inputs``: files read besides the exercise (the roster).

    All or nothing: the class is written into a staging folder that becomes ``out`` in one rename
    (:class:`~kaigai_lib.data.outputs.OutputFolder`); Ctrl-C, SIGTERM or an error leaves neither a half class nor
    a key. The key is written right after the class is in place, with those signals held.
    The truth is stored at full precision (``tolerance: 0`` then accepts exactly the truth).
    """
    from kaigai_lib.data.outputs import (
        OutputError,
        OutputFolder,
        check_output_file,
        signals_deferred,
        write_file_atomically,
    )

    trainee_ids = list(trainee_ids)
    seeds = {tid: trainee_seed(spec, tid) for tid in trainee_ids}
    if len(set(seeds.values())) != len(seeds):  # 32-bit hashes: a collision is unlikely, never silent
        raise ValueError("Two trainees got the same seed; rename one trainee id or change world.seed.")
    inputs = [*([spec.source] if Path(spec.source).exists() else []), *inputs]
    folder_out = OutputFolder(out, command="exercises make", inputs=inputs, force=force)
    key_path = default_key_path(out) if key_path is None else key_path
    if _is_inside(Path(key_path), folder_out.out):  # a zip or copy of the class would hand the key out
        raise OutputError(f"--key {key_path} is inside --out {out}, where trainees' hand-outs go: keep the key "
                          f"outside it, e.g. --key {default_key_path(out)} (the default) beside --out {out}.")
    # refused now, not after the class is written: an input, a link, a file kaigai did not write
    check_output_file(key_path, inputs=inputs, force=force, option="--key", written_by_us=KEY_WRITTEN_BY_US)
    rows = []
    with folder_out as staging:
        for tid in trainee_ids:
            changes = trainee_changes(spec, tid)
            try:
                world = spec.generate(seeds[tid], changes)
                answer = spec.truth(world)
            except ValueError as error:
                raise ValueError(f"{spec.source}: the world of trainee {tid!r} (preset {spec.preset}, seed "
                                 f"{seeds[tid]}, params {spec.world_params(changes)}) could not be generated or "
                                 f"has no answer: {error}") from error
            for name, data in trainee_files(spec, world).items():
                target = staging.path / tid / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            (staging.path / tid / "README.md").write_text(_trainee_readme(spec, tid, world), encoding="utf-8")
            rows.append({"exercise_id": spec.id, "trainee_id": tid, "seed": seeds[tid], "preset": spec.preset,
                         "params": json.dumps(spec.world_params(changes), sort_keys=True, ensure_ascii=False),
                         "quantity": spec.quantity.describe(), "answer": answer,
                         "tolerance": spec.tolerance, "unit": spec.unit})
            if progress:
                progress(tid)
        key = pd.DataFrame(rows, columns=list(KEY_COLUMNS))
        with signals_deferred():  # a signal waits until the class and its key are both in place
            staging.commit()
            write_file_atomically(key_path, lambda tmp: write_key(key, tmp), inputs=inputs, force=force,
                                  option="--key", written_by_us=KEY_WRITTEN_BY_US)
    return key


def default_key_path(out: str | Path) -> Path:
    """Where ``exercises make`` writes the answer key without ``--key``: ``<out>_key.csv`` beside ``out``, never
    inside it (the class folder is what trainees get).

    >>> default_key_path("week3/class").as_posix()
    'week3/class_key.csv'
    """
    out = Path(out)
    return out.with_name(f"{out.name}_key.csv")


def _is_key_file(path: Path) -> bool:
    """A file whose header is that of an answer key :func:`write_key` wrote (what --force may replace)."""
    from kaigai_lib.data.outputs import first_line

    return first_line(path) == ",".join(KEY_COLUMNS)


KEY_WRITTEN_BY_US = ("an answer key written by 'kaigai exercises make' (its header is not "
                     f"{','.join(KEY_COLUMNS)})", _is_key_file)


def _key_relative(path: str | Path, folder: Path) -> Path | None:
    """``path`` relative to ``folder`` after resolving '..' and links, or None if it lies outside."""
    target = Path(os.path.abspath(path))
    resolved = target.parent.resolve() / target.name  # the key's own name may not exist yet
    if target.is_symlink():
        resolved = target.resolve()
    try:
        return resolved.relative_to(folder)
    except ValueError:
        return None


def _is_inside(path: Path, folder: Path) -> bool:
    return _key_relative(path, folder) is not None


def trainee_files(spec: ExerciseSpec, world: World) -> dict[str, bytes]:
    """The survey-like tables of a trainee's world as files (big tables gzipped); nothing from the truth."""
    files = {}
    for table in spec.tables:
        data = snapshot.csv_bytes(getattr(world, table))
        if table in ("firms", "establishments"):
            files[f"{table}.csv.gz"] = _gzip_bytes(data)
        else:
            files[f"{table}.csv"] = data
    return files


def write_key(key: pd.DataFrame, path: str | Path) -> None:
    """An answer key as CSV, truth at full precision (the shortest text that reads back as the same float)."""
    key.to_csv(path, index=False, lineterminator="\n")


# --------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------

GRADE_COLUMNS = ("row", "exercise_id", "trainee_id", "answer", "truth", "tolerance", "unit", "correct", "verdict",
                 "message")


# a cell a spreadsheet would run as a formula (OWASP "CSV injection"): = + - @ and a tab or carriage return first
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` to write as CSV for a spreadsheet: a text cell that starts with = + - @, a tab or a
    carriage return (after spaces) gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show it as
    text instead of running it (a trainee's answer ``=HYPERLINK(...)``). A number written as text (``-0.12``) and
    numeric columns are left as they are, so they still read as numbers.

    >>> spreadsheet_safe(pd.DataFrame({"answer": ["=1+1", "-0.12", "@SUM(A1)", "0.3"], "truth": [-0.1] * 4}))
          answer  truth
    0      '=1+1   -0.1
    1      -0.12   -0.1
    2  '@SUM(A1)   -0.1
    3        0.3   -0.1
    """
    def safe(cell: Any) -> Any:
        if isinstance(cell, str) and cell.lstrip(" ").startswith(_FORMULA_START) \
                and not _PLAIN_NUMBER.fullmatch(cell.strip(" ")):
            return "'" + cell
        return cell

    safe_table = table.copy()
    for column in safe_table.columns:
        if pd.api.types.is_object_dtype(safe_table[column]) or pd.api.types.is_string_dtype(safe_table[column]):
            safe_table[column] = safe_table[column].map(safe)
    return safe_table


def _is_grades_file(path: Path) -> bool:
    from kaigai_lib.data.outputs import first_line

    return first_line(path) == ",".join(GRADE_COLUMNS)


GRADES_WRITTEN_BY_US = ("a graded CSV written by 'kaigai exercises grade' (its header is not "
                        f"{','.join(GRADE_COLUMNS)})", _is_grades_file)


def read_text_table(text: str) -> pd.DataFrame:
    """A CSV kaigai wrote, every cell as text: "NA", "null", "None", "nan" and "" stay what they are (pandas would
    read them as missing, and an id "NA" would match nobody)."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def numeric_columns(table: pd.DataFrame, columns: Iterable[str], path: str | Path, fix: str,
                    required: Iterable[str] = ()) -> None:
    """``columns`` of a text table as numbers, in place (an empty cell is NaN); a cell of a ``required`` column
    that is not a finite number refuses the file with its lines (a header is line 1)."""
    required = set(required)
    for column in columns:
        if column not in table.columns:
            continue
        values = pd.to_numeric(table[column].str.strip().replace("", None), errors="coerce").astype(float)
        bad = table.index[~np.isfinite(values)] if column in required else []
        if len(bad):
            raise ValueError(f"{path}: column {column} must hold numbers; line(s) "
                             f"{', '.join(str(i + 2) for i in bad[:10])} do not ({table.loc[bad[0], column]!r}). "
                             f"{fix}")
        table[column] = values


def read_key(path: str | Path) -> pd.DataFrame:
    """An answer key written by :func:`make_datasets` (several keys may be concatenated)."""
    path = Path(path)
    text = read_text(path, "Answer key")
    try:  # pandas ≥ 3 reads floats back exactly (round trip): tolerance: 0 accepts exactly the truth
        key = read_text_table(text)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ValueError(f"{path}: not an answer key written by kaigai ({error}).") from None
    missing = [c for c in ("exercise_id", "trainee_id", "answer", "tolerance") if c not in key.columns]
    if missing:
        raise ValueError(f"{path}: not an answer key — column(s) {missing} missing (found {list(key.columns)}).")
    if "unit" not in key.columns:
        key["unit"] = ""
    duplicated = key.duplicated(["exercise_id", "trainee_id"], keep=False)
    if duplicated.any():
        pairs = key.loc[duplicated, ["exercise_id", "trainee_id"]].drop_duplicates().values.tolist()
        raise ValueError(f"{path}: the key lists these (exercise, trainee) pairs more than once: {pairs[:5]}.")
    numeric_columns(key, ("answer", "tolerance"), path, "Re-make the key with `kaigai exercises make` rather "
                    "than editing it.", required=("answer", "tolerance"))
    return key


def grade(key: pd.DataFrame, answers_path: str | Path) -> pd.DataFrame:
    """Grade a CSV of answers (columns ``trainee_id``, ``answer`` and, for several exercises, ``exercise_id``).

    Returns one row per answer row, in file order, then one per trainee of
    the key without an answer. A row that does not fit the header (an
    unquoted comma, a short row) refuses the whole file with its line number
    (:func:`read_csv_rows`). Rows kept with a ``verdict`` other than a grade:
    "malformed" (no number, see :func:`parse_number`), "unknown trainee",
    "unknown exercise", "duplicate"; only the first answer of a trainee is graded.
    """
    path = Path(answers_path)
    exercises = list(dict.fromkeys(key["exercise_id"]))
    entries = {(r.exercise_id, r.trainee_id): r for r in key.itertuples(index=False)}
    rows = read_csv_rows(path, "Answers file", ["trainee_id", "answer"], ["exercise_id"])
    has_exercise = bool(rows) and "exercise_id" in rows[0].cells
    if not has_exercise and len(exercises) > 1:
        raise ValueError(f"{path}: the key holds {len(exercises)} exercises ({exercises}); add an exercise_id "
                         "column to the answers so each answer can be matched.")

    graded = []
    seen: dict[tuple[str, str], int] = {}

    def result(line: int | None, exercise_id: str, trainee_id: str, answer: str, verdict: str, message: str,
               entry: Any = None, correct: bool = False) -> dict[str, Any]:
        return {"row": line, "exercise_id": exercise_id, "trainee_id": trainee_id, "answer": answer,
                "truth": getattr(entry, "answer", math.nan), "tolerance": getattr(entry, "tolerance", math.nan),
                "unit": getattr(entry, "unit", ""), "correct": correct, "verdict": verdict, "message": message}

    for row in rows:
        line = row.line
        trainee_id, raw = row.cells["trainee_id"], row.cells["answer"]
        exercise_id = row.cells["exercise_id"] if has_exercise else exercises[0]
        if not trainee_id:
            graded.append(result(line, exercise_id, trainee_id, raw, "malformed", f"row {line}: no trainee_id"))
            continue
        if exercise_id not in exercises:
            graded.append(result(line, exercise_id, trainee_id, raw, "unknown exercise",
                                 f"row {line}: exercise {exercise_id!r} is not in the key ({exercises})"))
            continue
        entry = entries.get((exercise_id, trainee_id))
        if entry is None:
            graded.append(result(line, exercise_id, trainee_id, raw, "unknown trainee",
                                 f"row {line}: trainee {trainee_id!r} is not in the answer key of "
                                 f"{exercise_id!r}; check the spelling"))
            continue
        if (exercise_id, trainee_id) in seen:
            graded.append(result(line, exercise_id, trainee_id, raw, "duplicate",
                                 f"row {line}: trainee {trainee_id!r} already answered in row "
                                 f"{seen[(exercise_id, trainee_id)]}; only that first answer is graded", entry))
            continue
        seen[(exercise_id, trainee_id)] = line
        value, why = parse_number(raw, str(entry.unit))
        if value is None:
            graded.append(result(line, exercise_id, trainee_id, raw, "malformed", f"row {line}: {why}", entry))
            continue
        feedback = NumericExercise(question="", answer=float(entry.answer), tolerance=float(entry.tolerance),
                                   unit=str(entry.unit)).check(value)
        graded.append(result(line, exercise_id, trainee_id, raw, feedback.verdict, feedback.message, entry,
                             correct=feedback.correct))
    for (exercise_id, trainee_id), entry in entries.items():
        if (exercise_id, trainee_id) not in seen:
            graded.append(result(None, exercise_id, trainee_id, "", "no answer", "no answer submitted", entry))
    table = pd.DataFrame(graded, columns=list(GRADE_COLUMNS))
    table["row"] = table["row"].astype("Int64")
    return table


def grade_summary(grades: pd.DataFrame) -> str:
    """A few lines for the instructor: how many right and wrong, and every row that needs attention."""
    verdict = grades["verdict"]
    graded = verdict.isin(["correct", "too high", "too low"])
    wrong = graded & ~grades["correct"]
    lines = [f"Graded {int(graded.sum())} answer(s): {int(grades['correct'].sum())} correct, {int(wrong.sum())} "
             f"wrong ({int((verdict == 'too high').sum())} too high, {int((verdict == 'too low').sum())} too low)."]
    attention = grades.loc[~graded & (verdict != "no answer")]
    if len(attention):
        lines.append(f"{len(attention)} row(s) not graded — see the message column:")
        lines += [f"  ! {message}" for message in attention["message"]]
    missing = grades.loc[verdict == "no answer", "trainee_id"].tolist()
    if missing:
        lines.append(f"No answer from {len(missing)} trainee(s): {', '.join(missing)}")
    return "\n".join(lines)
