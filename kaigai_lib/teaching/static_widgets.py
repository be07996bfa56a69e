"""Widgets that work on the static site, with no kernel and no network (anywidget).

Every widget of the book is a :class:`StaticWidget`: an ``anywidget.AnyWidget`` whose controls
(sliders, drop-downs) run over a grid of settings. At build time Python computes, for every setting of
the grid, the *view* (HTML: a table, numbers, a small picture; plus the numbers shown, for tests) and,
for an exercise, the *answer key* (the truth, the tolerance and the values of common slips). The
widget's JavaScript (``kaigai_lib/teaching/static/widget.js``, one ES module for every widget) draws the view of
the current setting and judges a typed answer in the page. In a live kernel (JupyterLab, VS Code,
Colab) the same widget works, and :meth:`StaticWidget.set` computes settings off the grid.

Where the JavaScript runs:

* in a chapter (an executed notebook), through ``@jupyter-widgets/html-manager`` and the ``anywidget``
  npm package, both served by the site itself (``tools/kaigai_site.py``); the saved widget state carries
  the ES module;
* on any page, through the ``{kaigai-exercise}`` directive, and in one self-contained HTML file
  (``kaigai exercises page``), through ``kaigai_lib/teaching/static/host.js`` (a stand-in for the kernel's model):
  :func:`standalone_html`.

**Language.** Every text a reader sees in a widget follows the page's language: the JavaScript translates
the widget's texts (title, intro, labels, questions, choices, hints, feedback) and its own (buttons, verdicts)
with a gettext catalog, ``locales/<language>/LC_MESSAGES/widgets.po``. On the book's pages the site puts the
catalog of the page's language in the page (``tools/kaigai_i18n.py``: :data:`MESSAGES_ID`); in Jupyter the
widget carries the translations of its own texts when made with ``KAIGAI_LANGUAGE=ja``. A view's texts with
numbers in them are templates (:func:`msg`), translated in the page with the numbers put back.
:func:`widget_messages` lists a widget's texts (what ``make gettext`` extracts into ``widgets.pot``).
An instructor's exercise file may carry its own translations (``ja:``), kept in the widget's ``setup``.

The **course edition** (``KAIGAI_HIDE_SOLUTIONS=1``) carries no answer key: :func:`redact_state`
removes them from saved widget state (the site does so on every page), and a widget built with the
variable set computes none; the Check button then says how to submit.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from matplotlib.figure import Figure

MIME_TYPE = "application/vnd.kaigai-widget+json"  # the standalone widgets' <script> type (host.js)
SUBMIT_NOTE = ("Course edition: answers are not checked on this page. Submit your answer{unit} as your "
               "instructor's hand-out says (its README: where and by when); it is graded against the truth "
               "of your own data set.")


SOURCE_LANGUAGE = "en"
LANGUAGES = (SOURCE_LANGUAGE, "ja")  # the book's editions (tools/kaigai_i18n.py: EDITIONS)
MESSAGES_ID = "kaigai-widget-messages"  # the page's <script type="application/json"> with the widget catalog
WIDGET_CATALOG = "widgets"  # locales/<language>/LC_MESSAGES/widgets.po
# The catalogs travel with the package: kaigai_lib/teaching/locales links to the repository's locales/ (one
# source, which `make update-po` updates) and a wheel carries the widget catalog through it; a checkout made
# without links (Windows' default) has a small file there instead, so the repository's folder is read.
_PACKAGED_LOCALES = Path(__file__).resolve().parent / "locales"
LOCALE_DIR = _PACKAGED_LOCALES if _PACKAGED_LOCALES.is_dir() else Path(__file__).resolve().parents[2] / "locales"


def _asset(name: str) -> str:
    return resources.files("kaigai_lib.teaching").joinpath("static", name).read_text(encoding="utf-8")


def hide_solutions() -> bool:
    """True in a course build (``KAIGAI_HIDE_SOLUTIONS=1``, as ``make book SOLUTIONS=hide`` sets)."""
    return os.environ.get("KAIGAI_HIDE_SOLUTIONS", "").strip().lower() in {"1", "true", "yes", "hide", "on"}


def widget_language() -> str:
    """The language widgets are made in, in Jupyter: ``KAIGAI_LANGUAGE`` (default English)."""
    return (os.environ.get("KAIGAI_LANGUAGE") or SOURCE_LANGUAGE).strip().lower() or SOURCE_LANGUAGE


def msg(template: str, **args: Any) -> str:
    """A text of a view, in English, marked so the page can show it in its own language: ``template`` (a
    message of the widget catalog) with ``{name}`` fields filled by ``args`` (HTML, e.g. :func:`number`)."""
    values = {name: str(value) for name, value in args.items()}
    return (f'<span data-kaigai-msg="{html.escape(template)}" data-kaigai-args="{html.escape(json.dumps(values))}">'
            f"{template.format(**values)}</span>")


_MSG_ATTRIBUTE = re.compile(r'data-kaigai-msg="([^"]*)"')
_LETTER = re.compile(r"[^\W\d_]")
_UI_MESSAGE = re.compile(r'\bt\("((?:[^"\\\n])*)"')


def ui_messages() -> list[str]:
    """The texts of widget.js itself (buttons, verdicts): every ``t("…")`` literal in it."""
    return [text for text in dict.fromkeys(_UI_MESSAGE.findall(_asset("widget.js"))) if _is_message(text)]


def library_messages() -> dict[str, str]:
    """The literal template of every ``msg("…")`` call in kaigai_lib, with its module's path: the texts views
    may show, in the book or only in Jupyter (a trainee's world, an error)."""
    import ast

    package = Path(__file__).resolve().parents[1]  # all of kaigai_lib
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "msg"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and _is_message(node.args[0].value.strip())):
                found.setdefault(node.args[0].value.strip(), path.relative_to(package.parent).as_posix())
    return found


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


def widget_messages(state: Mapping[str, Any]) -> list[str]:
    """Every text of a widget's saved state a reader may see (in the order met): its setup's title, intro,
    control labels and option names, question, choices, hints, unit and submit note; its answer keys'
    feedback; the templates of its views (:func:`msg`). Numbers and empty texts are not messages."""
    setup = state.get("setup") or {}
    texts: list[str] = [setup.get("title", ""), setup.get("intro", "")]
    for control in setup.get("controls", []):
        texts += [control.get("label", ""), *control.get("option_labels", control.get("options", []))]
    check = setup.get("check") or {}
    texts += [check.get(name, "") for name in ("question", "unit", "submit")]
    texts += [*check.get("choices", []), *check.get("hints", [])]
    for key in [*(state.get("answer_keys") or {}).values(), (state.get("live") or {}).get("answer_key") or {}]:
        texts += [key.get("explanation", ""), *_texts(key.get("why_not", {})),
                  *(slip.get("message", "") for slip in key.get("slips", []))]
    for view in [*(state.get("views") or {}).values(), (state.get("live") or {}).get("view") or {}]:
        texts += [html.unescape(template) for template in _MSG_ATTRIBUTE.findall(view.get("html", ""))]
    return [text for text in dict.fromkeys(t.strip() for t in texts if isinstance(t, str)) if _is_message(text)]


def _is_message(text: str) -> bool:
    """A text to translate: it has a letter and is not a number ("1e-3", "nan" are numbers)."""
    try:
        float(text)
    except ValueError:
        return bool(_LETTER.search(text))
    return False


def widget_catalog(language: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """The finished (not fuzzy) translations of the widget catalog of ``language`` ({} for English or none)."""
    from babel.messages.pofile import read_po

    path = locale_dir / language / "LC_MESSAGES" / f"{WIDGET_CATALOG}.po"
    if language == SOURCE_LANGUAGE or not path.exists():
        return {}
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and isinstance(m.string, str) and m.string
                and not m.fuzzy}


def page_translator(language: str, locale_dir: Path = LOCALE_DIR) -> Callable[..., str]:
    """``t(text, **fields)``: a text Python writes into a page outside a widget (an exercise's intro) in
    ``language``, from the same widget catalog (English when it has no finished translation), with its
    ``{fields}`` filled after translating. Such texts are listed for ``make gettext`` where they are written
    (:func:`kaigai_lib.exercises.pages.intro_messages`)."""
    catalog = widget_catalog(language, locale_dir)

    def t(text: str, **fields: Any) -> str:
        translated = catalog.get(text) or text
        return translated.format(**fields) if fields else translated

    return t


def png(fig: Figure, dpi: int = 72) -> str:
    """A figure as an ``<img>`` with the PNG inline (a small precomputed picture for one setting)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}" />'


def number(name: str, value: float, fmt: str = "{:+.4f}") -> str:
    """A number in a view, marked so the browser tests can read it back (``data-kaigai-number``)."""
    return f'<b data-kaigai-number="{html.escape(name)}">{fmt.format(value)}</b>'


# --------------------------------------------------------------------------------------------------
# Answer keys and their judge (the same rules as judge() in static/widget.js)


def _with_unit(value: float, unit: str) -> str:
    text = f"{float(f'{value:.6g}'):g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith("%") else f"{text} {unit}"


def _is_percent(unit: str) -> bool:
    return unit.strip().startswith("%") or unit.strip().lower() in {"percent", "per cent"}


def _is_log_points(unit: str) -> bool:
    return unit.strip().lower().replace("-", " ") in {"log points", "log point", "対数ポイント"}


def answer_key(truth: float, tolerance: float, unit: str, *, naive: float | None = None) -> dict[str, Any]:
    """The truth, the tolerance and the slips a trainee commonly makes, each with the value it would give.

    Slips (each only where it makes sense for ``unit``): the answer in percent where log points are asked
    (both 100·τ and 100·(e^τ − 1)) or in log
    points where percent is asked; the naive estimate (starters minus non-starters, selection bias
    included); the right size with the wrong sign. A slip is only listed when it lies outside the
    tolerance (it would otherwise be a correct answer).
    """
    truth, tolerance = float(truth), float(tolerance)
    slips: list[dict[str, Any]] = []

    def add(value: float, verdict: str, message: str, slip_tolerance: float) -> None:
        if math.isfinite(value) and abs(value - truth) > tolerance + slip_tolerance:
            slips.append({"value": float(value), "tolerance": float(slip_tolerance), "verdict": verdict,
                          "message": message})

    if _is_percent(unit):
        if truth > -100:
            add(math.log1p(truth / 100), "unit slip",
                "That looks like log points: the answer is asked in percent (a change of x log points is "
                "100·(exp(x) − 1) %).", tolerance / 100)
    elif _is_log_points(unit) and abs(truth) < 700:  # counts, SDs, yen: no percent/log-point slip to make
        message = ("That looks like percent: the answer is asked in log points (0.10 log points is "
                   "about 10.5 %; divide a percentage by 100 and take log(1 + p/100)).")
        add(100 * truth, "unit slip", message, 100 * tolerance)
        add(100 * math.expm1(truth), "unit slip", message, 100 * tolerance)
    if naive is not None:
        add(float(naive), "naive estimate",
            "That is (close to) the naive difference between starters and non-starters: it includes the "
            "selection bias. Compare like with like (matching, a difference in differences).", tolerance)
    add(-truth, "sign error", "The size is right but the sign is wrong: check which group is subtracted "
                               "from which.", tolerance)
    return {"truth": truth, "tolerance": tolerance, "slips": slips}


@dataclass(frozen=True)
class Verdict:
    """The judge's answer: ``verdict`` is correct, too high, too low, not a number or a slip's name."""

    correct: bool
    verdict: str
    message: str


def judge(answer: float | None, key: Mapping[str, Any], unit: str) -> Verdict:
    """Judge ``answer`` against an :func:`answer_key` (what the page's JavaScript does, for tests)."""
    if answer is None or not math.isfinite(answer):
        return Verdict(False, "not a number", f"Enter a number{f' (in {unit})' if unit else ''}.")

    def within(a: float, b: float, tol: float) -> bool:
        return abs(a - b) <= tol * (1 + 1e-9) + 1e-12

    tol = _with_unit(key["tolerance"], unit)
    if within(answer, key["truth"], key["tolerance"]):
        return Verdict(True, "correct", f"Correct: {_with_unit(answer, unit)} is within ±{tol} of the true "
                                        f"value, {_with_unit(key['truth'], unit)}.")
    for slip in key.get("slips", []):
        if within(answer, slip["value"], slip["tolerance"]):
            return Verdict(False, slip["verdict"], slip["message"])
    high = answer > key["truth"]
    return Verdict(False, "too high" if high else "too low",
                   f"{'Too high' if high else 'Too low'}: {_with_unit(answer, unit)} is more than {tol} "
                   f"{'above' if high else 'below'} the true value.")


# --------------------------------------------------------------------------------------------------
# The widget


@dataclass
class Control:
    """A slider (``kind="slider"``) or drop-down (``"select"``) over ``options`` (labels shown), starting at
    ``value``. ``mapping`` gives the Python value behind a label (default: the label as a number)."""

    name: str
    label: str
    options: list[str]
    value: str
    kind: str = "slider"
    mapping: dict[str, Any] = field(default_factory=dict)
    option_labels: list[str] | None = None

    def __post_init__(self) -> None:
        if self.value not in self.options:
            raise ValueError(f"{self.name}: the start value {self.value!r} is not one of {self.options}.")

    def python_value(self, label: str) -> Any:
        if label in self.mapping:
            return self.mapping[label]
        try:
            return float(label)
        except ValueError:
            return label

    def label_of(self, value: Any) -> str:
        for label, v in self.mapping.items():
            if v == value:
                return label
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for label in self.options:
                if label not in self.mapping and math.isclose(float(label), float(value), abs_tol=1e-9):
                    return label
            return f"{value:g}"
        return str(value)

    def as_json(self) -> dict[str, Any]:
        out = {"name": self.name, "label": self.label, "options": self.options, "kind": self.kind}
        if self.option_labels:
            out["option_labels"] = self.option_labels
        return out


def numeric_options(values: Iterable[float], fmt: str = "{:g}") -> list[str]:
    return [fmt.format(v) for v in values]


class StaticWidget(anywidget.AnyWidget):
    """A widget whose views (and answer keys) are computed over its controls' grid; see the module doc.

    Subclasses implement :meth:`compute` (one setting → view, answer key). ``current`` holds the
    numbers shown now; :meth:`set` moves controls (also off the grid); ``view_html`` is what is drawn.
    """

    _esm = traitlets.Unicode(_asset("widget.js")).tag(sync=True)
    _css = traitlets.Unicode(_asset("widget.css")).tag(sync=True)
    setup = traitlets.Dict().tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    views = traitlets.Dict().tag(sync=True)
    answer_keys = traitlets.Dict().tag(sync=True)
    live = traitlets.Dict().tag(sync=True)

    def __init__(self, controls: Sequence[Control] = (), *, kind: str, title: str = "", intro: str = "",
                 check: Mapping[str, Any] | None = None, precompute: bool = True,
                 keep_key_in_course: bool = False, course: bool | None = None,
                 translations: Mapping[str, Mapping[str, str]] | None = None) -> None:
        super().__init__()
        self.controls = {c.name: c for c in controls}
        # the course edition (default: KAIGAI_HIDE_SOLUTIONS) computes no answer key
        self.course = (hide_solutions() if course is None else course) and not keep_key_in_course
        self._cache: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
        spec: dict[str, Any] = {"kaigai": 1, "kind": kind, "title": title, "intro": intro,
                                "controls": [c.as_json() for c in controls],
                                "keep_key_in_course": keep_key_in_course,
                                "edition": "course" if self.course else "public",
                                "language": widget_language(),
                                "translations": {lang: dict(texts) for lang, texts in (translations or {}).items()}}
        if check is not None:
            unit = check.get("unit", "")
            spec["check"] = {"submit": SUBMIT_NOTE.format(unit=f" (a number, in {unit})" if unit else ""),
                             **check}
        self.setup = spec
        start = {c.name: c.value for c in controls}
        if precompute:
            views, keys = {}, {}
            for labels in itertools.product(*(c.options for c in controls)):
                setting = dict(zip(self.controls, labels, strict=True))
                view, key = self._entry(setting)
                views[self.key(setting)] = view
                if key is not None and not self.course:
                    keys[self.key(setting)] = key
            self.views, self.answer_keys = views, keys
        self.values = start
        self.observe(self._moved, names="values")
        self._moved()
        self._add_catalog_translations()

    def _add_catalog_translations(self) -> None:
        """Made in another language than English (``KAIGAI_LANGUAGE``): carry the catalog's translations of
        this widget's texts, for Jupyter, where no page gives them (the widget's own take precedence)."""
        language = self.setup["language"]
        catalog = widget_catalog(language)
        if not catalog:
            return
        wanted = [*widget_messages(self.state()), *ui_messages()]
        own = self.setup["translations"].get(language, {})
        found = {text: catalog[text] for text in wanted if text in catalog}
        self.setup = {**self.setup, "translations": {**self.setup["translations"], language: {**found, **own}}}

    # to implement
    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The view ``{"html": …, "numbers": {…}}`` and the answer key (or None) of one setting, given as
        Python values by control name."""
        raise NotImplementedError

    def key(self, labels: Mapping[str, str]) -> str:
        return "|".join(labels[name] for name in self.controls)

    def _entry(self, labels: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        key = self.key(labels)
        if key not in self._cache:
            setting = {name: c.python_value(labels[name]) for name, c in self.controls.items()}
            self._cache[key] = self.compute(setting)
        return self._cache[key]

    def _moved(self, _: object = None) -> None:
        key = self.key(self.values)
        view, answer = self._entry(self.values)
        if key not in self.views:  # off the precomputed grid (a live kernel): send this setting alone
            self.live = {"key": key, "view": view, **({"answer_key": answer} if answer and not self.course else {})}

    def set(self, **values: Any) -> None:
        """Move controls to Python values (a value off the grid is computed, in a live kernel)."""
        labels = dict(self.values)
        for name, value in values.items():
            if name not in self.controls:
                raise KeyError(f"{name!r} is not a control of this widget; controls: {list(self.controls)}")
            labels[name] = self.controls[name].label_of(value)
        self.values = labels

    @property
    def setting(self) -> dict[str, Any]:
        """The current setting, as Python values."""
        return {name: c.python_value(self.values[name]) for name, c in self.controls.items()}

    @property
    def current(self) -> dict[str, Any]:
        """The numbers shown now."""
        return dict(self._entry(self.values)[0].get("numbers", {}))

    @property
    def view_html(self) -> str:
        return self._entry(self.values)[0]["html"]

    @property
    def current_answer_key(self) -> dict[str, Any] | None:
        return self._entry(self.values)[1]

    def state(self) -> dict[str, Any]:
        """The synced state (what a saved page carries), ``_esm`` and ``_css`` included."""
        return {name: getattr(self, name) for name in ("_esm", "_css", "setup", "values", "views", "answer_keys",
                                                         "live")}


# --------------------------------------------------------------------------------------------------
# Checks without controls: a numeric answer, a concept check


class AnswerCheck(StaticWidget):
    """A question with a numeric answer, judged in the page (no controls).

    The widget of :meth:`NumericExercise.widget <kaigai_lib.exercises.spec.NumericExercise.widget>`
    and :func:`numeric_concept_check`.

    Parameters
    ----------
    question : str
        The question.
    key : mapping or None
        The answer key (truth, tolerance and common slips, from ``answer_key``);
        None in the course edition, where the page asks to submit instead.
    unit : str
        The answer's unit.
    hints : sequence of str, optional
        Shown one by one after wrong attempts.
    kind : str, default "answer"
        "answer" (an exercise) or "concept" (a self-assessment).
    keep_key_in_course : bool, default False
        Keep the key in the course edition (self-assessment).

    Examples
    --------
    >>> from kaigai_lib import numeric_concept_check
    >>> widget = numeric_concept_check("0.1 log points in percent?", answer=10.52, tolerance=0.05, unit="%")
    >>> type(widget).__name__, widget.check(10.9).verdict
    ('AnswerCheck', 'too high')
    """

    def __init__(self, question: str, key: Mapping[str, Any] | None, unit: str, hints: Sequence[str] = (), *,
                 kind: str = "answer", keep_key_in_course: bool = False) -> None:
        self._key = dict(key) if key is not None else None
        super().__init__((), kind=kind, check={"question": question, "unit": unit, "hints": list(hints)},
                         keep_key_in_course=keep_key_in_course)

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        return {"html": "", "numbers": {}}, self._key

    def check(self, answer: float | None) -> Verdict:
        # no docstring: the reference would show it, and Verdict (its return type) is not public
        if self._key is None:
            raise ValueError("This widget carries no answer key (course edition).")
        return judge(answer, self._key, self.setup["check"]["unit"])


class ConceptCheck(StaticWidget):
    """A short multiple-choice question at the start of a chapter, answered in the page.

    ``why_not`` maps a wrong choice's index to what it misses. Concept checks are self-assessment, not
    graded exercises: they keep their key in the course edition. Made by :func:`concept_check`.

    Parameters
    ----------
    question : str
        The question.
    choices : sequence of str
        The possible answers, in the order shown.
    answer : int
        The index of the right choice (0-based).
    explanation : str, optional
        Why the right choice is right.
    why_not : mapping of int to str or None, optional
        For a wrong choice's index, what it misses.

    Raises
    ------
    ValueError
        If ``answer`` is not the index of a choice.

    Examples
    --------
    >>> from kaigai_lib import concept_check
    >>> widget = concept_check("Which one?", ["a", "b", "c"], answer=2, why_not={0: "Not a."})
    >>> type(widget).__name__, widget.answer_keys[""]["choice"]
    ('ConceptCheck', 2)
    """

    def __init__(self, question: str, choices: Sequence[str], answer: int, explanation: str = "",
                 why_not: Mapping[int, str] | None = None) -> None:
        if not 0 <= answer < len(choices):
            raise ValueError(f"answer={answer}: the index of the right choice, 0 to {len(choices) - 1}.")
        self._key = {"choice": answer, "explanation": explanation,
                     "why_not": {str(i): text for i, text in (why_not or {}).items()}}
        super().__init__((), kind="concept", title="Check your understanding",
                         check={"question": question, "choices": list(choices), "hints": []},
                         keep_key_in_course=True)

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        return {"html": "", "numbers": {}}, self._key


def concept_check(question: str, choices: Sequence[str], answer: int, explanation: str = "",
                  why_not: Mapping[int, str] | None = None) -> ConceptCheck:
    """A multiple-choice concept check, answered in the page (no kernel).

    A short self-assessment question at the start of a chapter; it keeps its
    key in the course edition (it is not a graded exercise).

    Parameters
    ----------
    question : str
        The question.
    choices : sequence of str
        The possible answers, in the order shown.
    answer : int
        The index of the right choice (0-based).
    explanation : str, optional
        Why the right choice is right, shown once answered.
    why_not : mapping of int to str or None, optional
        For a wrong choice's index, what it misses.

    Returns
    -------
    ConceptCheck
        The widget (an ``anywidget.AnyWidget``).

    Raises
    ------
    ValueError
        If ``answer`` is not the index of a choice.

    See Also
    --------
    numeric_concept_check : The same with a numeric answer.

    Examples
    --------
    >>> from kaigai_lib import concept_check
    >>> widget = concept_check("Which comparison removes a firm's fixed level?",
    ...                        ["levels at t + h", "changes from t − 1"], answer=1,
    ...                        explanation="Differencing removes it.", why_not={0: "Levels keep it."})
    >>> widget.setup["kind"], widget.setup["check"]["choices"]
    ('concept', ['levels at t + h', 'changes from t − 1'])
    >>> concept_check("Which one?", ["a", "b"], answer=2)
    Traceback (most recent call last):
    ...
    ValueError: answer=2: the index of the right choice, 0 to 1.
    """
    return ConceptCheck(question, choices, answer, explanation, why_not)


def numeric_concept_check(question: str, answer: float, tolerance: float, unit: str = "",
                          hints: Sequence[str] = ()) -> AnswerCheck:
    """A numeric concept check (self-assessment, kept in the course edition).

    The page judges a typed answer against ``answer ± tolerance`` and names
    the common slips (a unit slip between log points and percent, a sign
    error) when the answer matches one.

    Parameters
    ----------
    question : str
        The question.
    answer : float
        The right answer, in ``unit``.
    tolerance : float
        Answers within ``± tolerance`` (absolute, in ``unit``) are correct.
    unit : str, optional
        The answer's unit, e.g. "%" or "log points".
    hints : sequence of str, optional
        Shown one by one after wrong attempts.

    Returns
    -------
    AnswerCheck
        The widget (an ``anywidget.AnyWidget``); its ``check`` judges an answer as the page does.

    See Also
    --------
    concept_check : The same with choices.

    Examples
    --------
    >>> from kaigai_lib import numeric_concept_check
    >>> widget = numeric_concept_check("A change of 0.1 log points is how many percent?", answer=10.52,
    ...                                tolerance=0.05, unit="%", hints=["e^0.1 ≈ 1.105"])
    >>> widget.setup["kind"], widget.setup["check"]["unit"]
    ('concept', '%')
    >>> widget.check(10.5).message
    'Correct: 10.5% is within ±0.05% of the true value, 10.52%.'
    >>> widget.check(0.1).verdict
    'unit slip'
    """
    return AnswerCheck(question, answer_key(answer, tolerance, unit), unit, hints, kind="concept",
                       keep_key_in_course=True)


# --------------------------------------------------------------------------------------------------
# Course edition and pages without Jupyter


def redact_model_state(state: dict[str, Any]) -> dict[str, Any]:
    """One kaigai widget's state without answer keys (the course edition); other widgets unchanged."""
    setup = state.get("setup")
    if not isinstance(setup, dict) or not setup.get("kaigai") or setup.get("keep_key_in_course"):
        return state
    state = dict(state)
    state["answer_keys"] = {}
    state["live"] = {k: v for k, v in (state.get("live") or {}).items() if k != "answer_key"}
    state["setup"] = {**setup, "edition": "course"}
    return state


def redact_state(widget_state: dict[str, Any]) -> dict[str, Any]:
    """A notebook's saved widget state (``application/vnd.jupyter.widget-state+json``) without answer keys."""
    models = widget_state.get("state", {})
    return {**widget_state, "state": {model_id: {**model, "state": redact_model_state(model.get("state", {}))}
                                      for model_id, model in models.items()}}


def _script_json(data: Any) -> str:
    # inside <script>: "</" would end the element
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def widget_script(widget: StaticWidget, *, course: bool) -> str:
    """One widget as a ``<script type="application/vnd.kaigai-widget+json">`` that host.js runs."""
    state = widget.state()
    esm, css = state.pop("_esm"), state.pop("_css")
    if course:
        state = redact_model_state(state)
    return f'<script type="{MIME_TYPE}">{_script_json({"esm": esm, "css": css, "state": state})}</script>'


def host_script() -> str:
    """The JavaScript that runs kaigai widgets without Jupyter (kaigai_lib/teaching/static/host.js)."""
    return _asset("host.js")


def messages_script(language: str, locale_dir: Path = LOCALE_DIR) -> str:
    """The widget catalog of ``language`` as the page's ``<script id="kaigai-widget-messages">`` (widget.js)."""
    return (f'<script type="application/json" id="{MESSAGES_ID}" data-language="{html.escape(language)}">'
            f"{_script_json(widget_catalog(language, locale_dir))}</script>")


def standalone_html(title: str, body: str, widgets: Sequence[StaticWidget], *, course: bool,
                    after: str = "", language: str = SOURCE_LANGUAGE) -> str:
    """One self-contained HTML page (no file or host besides itself): ``body`` HTML, the widgets, then
    ``after`` HTML; the widgets speak ``language`` (the page's ``lang``)."""
    scripts = "\n".join([messages_script(language), *(widget_script(w, course=course) for w in widgets)])
    return (
        f"<!DOCTYPE html>\n<html lang=\"{html.escape(language)}\">\n<head>\n<meta charset=\"utf-8\" />\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n"
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:system-ui,sans-serif;max-width:52em;margin:1.5em auto;padding:0 1em;"
        "line-height:1.45}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "code{background:#f3f3f3;padding:0 .2em}</style>\n</head>\n<body>\n"
        f"{body}\n{scripts}\n{after}\n<script>{host_script()}</script>\n</body>\n</html>\n")

