"""Widget exercises for the chapters.

* :class:`NumericExercise` — a question whose answer is a number known from
  the synthetic world's truth. ``check`` is a pure function (testable, and
  usable for grading); ``widget`` wraps it in ipywidgets for a notebook.
  Instructors build the answer from ``world.truth`` or the data, never by
  typing it in, so a change of world parameters changes the answer too.
* :func:`selection_explorer` — a slider over one world parameter (by default
  ``selection_strength``) that regenerates a small world and shows how far
  starters are ahead of non-starters before they start.
"""

from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass, field

import ipywidgets as widgets
import pandas as pd

from kaigai_lib.figures import ANALYSIS_COLUMNS, starter_comparison
from kaigai_lib.synthetic import World, WorldParams, generate

CORRECT_COLOUR = "#1a7f37"
WRONG_COLOUR = "#b3261e"


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``verdict`` is "correct", "too high", "too low" or "not a number"."""

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

    Each wrong attempt in the widget reveals the next of ``hints``.
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
        """Judge ``value``: correct within the tolerance, otherwise say whether it is too high or too low."""
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
        """The hint to show after ``wrong_attempts`` wrong answers (the last one stays once all are shown)."""
        if wrong_attempts <= 0 or not self.hints:
            return None
        return self.hints[min(wrong_attempts, len(self.hints)) - 1]

    def widget(self) -> widgets.VBox:
        """Question, answer box, Check button and feedback, as one ipywidgets box."""
        question = widgets.HTMLMath(value=f"<p>{self.question}</p>")
        answer = widgets.FloatText(value=0.0, description="Answer:", layout=widgets.Layout(width="260px"))
        unit = widgets.Label(self.unit)
        button = widgets.Button(description="Check", button_style="primary", icon="check")
        feedback = widgets.HTMLMath(value="")
        wrong_attempts = 0

        def on_check(_: widgets.Button) -> None:
            nonlocal wrong_attempts
            result = self.check(answer.value)
            colour = CORRECT_COLOUR if result.correct else WRONG_COLOUR
            text = f'<p style="color: {colour}"><b>{html.escape(result.message)}</b></p>'
            if not result.correct and result.verdict != "not a number":
                wrong_attempts += 1
                hint = self.hint(wrong_attempts)
                if hint:
                    text += f"<p>Hint: {hint}</p>"
            feedback.value = text

        button.on_click(on_check)
        return widgets.VBox([question, widgets.HBox([answer, unit, button]), feedback])


def selection_gaps(world: World) -> pd.DataFrame:
    """Starters' lead over non-starters at t−1 (log points, within year and industry), export and FDI side by side.

    ``attrs["n_starters"]`` holds the number of starters behind each column.
    """
    tables = {analysis: starter_comparison(world.firms, world.latent, analysis=analysis)
              for analysis in ANALYSIS_COLUMNS}
    gaps = pd.DataFrame({analysis: t["gap_within_year_industry"] for analysis, t in tables.items()})
    gaps.attrs["n_starters"] = {analysis: int(t["n_starters"].iloc[0]) for analysis, t in tables.items()}
    return gaps


def selection_explorer(preset: str = "tiny", seed: int = 0, parameter: str = "selection_strength",
                       minimum: float = 0.0, maximum: float = 3.0, step: float = 0.25) -> widgets.VBox:
    """A slider over one numeric world parameter; each change regenerates the world and shows ``selection_gaps``.

    The seed stays fixed, so only the parameter changes between worlds.
    Keep ``preset="tiny"``: the world is regenerated on every move.
    """
    fields = {f.name: f for f in dataclasses.fields(WorldParams)}
    if parameter not in fields:
        raise ValueError(f"parameter={parameter!r} is not a world parameter; see synthetic.describe_parameters().")
    default = getattr(WorldParams(), parameter)
    if not isinstance(default, float):
        raise ValueError(f"parameter={parameter!r} is not a decimal number (default {default!r}); pick one that is.")
    if not minimum <= default <= maximum:
        raise ValueError(f"The default {parameter}={default} lies outside [{minimum}, {maximum}]: widen the range.")

    intro = widgets.HTML(
        f"<p>Move <code>{parameter}</code> ({html.escape(fields[parameter].metadata['doc'])}) and see how far "
        f"starters are ahead of non-starters of the same year and industry one year before they start "
        f"(log points; preset <code>{preset}</code>, seed {seed}).</p>")
    slider = widgets.FloatSlider(value=default, min=minimum, max=maximum, step=step, description=parameter,
                                 continuous_update=False, readout_format=".2f",
                                 style={"description_width": "initial"}, layout=widgets.Layout(width="480px"))
    table = widgets.HTML()

    def update(_: object = None) -> None:
        table.value = "<p><i>Generating the world…</i></p>"
        try:
            world = generate(preset=preset, seed=seed, **{parameter: slider.value})
        except ValueError as error:  # an invalid value: say so in the widget rather than in a hidden log
            table.value = f'<p style="color: {WRONG_COLOUR}">{html.escape(str(error))}</p>'
            return
        gaps = selection_gaps(world)
        counts = ", ".join(f"{n:,} {analysis} starters" for analysis, n in gaps.attrs["n_starters"].items())
        table.value = (f"<p>{parameter} = {slider.value:.2f} ({counts})</p>"
                       + gaps.to_html(float_format=lambda x: f"{x:+.3f}"))

    slider.observe(update, names="value")
    update()
    return widgets.VBox([intro, slider, table])
