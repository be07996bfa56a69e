"""Drive every kaigai widget of a page in Chromium (Playwright): each control through at least 3 values,
checking the numbers drawn against the ones Python computed for that setting, and each Check with a
right, a wrong and a unit-slip answer, checking the page's verdict against kaigai_lib's judge.

Used by tests/test_site.py (every page of the book, public and course editions) and
tests/test_static_widgets.py (a page made by `kaigai exercises page`).
"""

from __future__ import annotations

import math
from typing import Any

from kaigai_lib.teaching.static_widgets import judge

# Tags each rendered kaigai widget with data-test-index and returns its saved state, in page order: widgets
# in a chapter (the Jupyter widget manager: the view script follows the rendered subarea) and widgets run by
# host.js (its JSON script precedes the rendered element).
_FIND_WIDGETS = """() => {
  const found = [];
  const stateScript = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  const models = stateScript ? JSON.parse(stateScript.textContent).state : {};
  document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').forEach((s) => {
    const model = models[JSON.parse(s.textContent).model_id];
    if (!model || model.model_module !== "anywidget") return;
    const root = s.previousElementSibling && s.previousElementSibling.querySelector(".kaigai-widget");
    found.push({state: model.state, root: root});
  });
  document.querySelectorAll('script[type="application/vnd.kaigai-widget+json"]').forEach((s) => {
    const host = s.nextElementSibling;
    const hosted = host && host.classList.contains("kaigai-widget-host");
    found.push({state: JSON.parse(s.textContent).state, root: hosted ? host.querySelector(".kaigai-widget") : null});
  });
  return found.map((f, i) => {
    if (f.root) f.root.dataset.testIndex = String(i);
    return {state: f.state, rendered: !!f.root};
  });
}"""

_READ_VIEW = """(root) => ({
  setting: root.querySelector(".kaigai-view").dataset.setting,
  numbers: Object.fromEntries([...root.querySelectorAll(".kaigai-view [data-kaigai-number]")]
                              .map((e) => [e.dataset.kaigaiNumber, e.textContent])),
})"""

_MOVE = """(root, [name, option, index]) => {
  const input = root.querySelector(`[data-control="${name}"]`);
  if (input.tagName === "SELECT") { input.value = option; input.dispatchEvent(new Event("change", {bubbles: true})); }
  else { input.value = String(index); input.dispatchEvent(new Event("input", {bubbles: true})); }
}"""


def count_widget_scripts(page: Any) -> int:
    """How many kaigai widgets the page's HTML holds (before any JavaScript ran)."""
    return page.evaluate("""() => {
      const s = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
      const models = s ? JSON.parse(s.textContent).state : {};
      const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
        .filter((v) => (models[JSON.parse(v.textContent).model_id] || {}).model_module === "anywidget").length;
      return views + document.querySelectorAll('script[type="application/vnd.kaigai-widget+json"]').length;
    }""")


def _shown_equals(text: str, value: float) -> bool:
    """A number as drawn ("+0.1234", "1,234", "12.5") equals ``value`` to the digits shown."""
    cleaned = text.replace(",", "").replace("\u2212", "-").strip()
    shown = float(cleaned)
    decimals = len(cleaned.split(".")[1]) if "." in cleaned else 0
    return math.isclose(shown, value, abs_tol=0.51 * 10 ** -decimals + 1e-12)


def _pick(options: list[str], start: str) -> list[str]:
    """At least 3 options (all when there are 3 or fewer): the first, the middle, the last, then back."""
    chosen = list(options) if len(options) <= 3 else [options[0], options[len(options) // 2], options[-1]]
    return [*chosen, start] if start not in chosen[-1:] else chosen


def drive_widgets(page: Any, *, course: bool) -> dict[str, int]:
    """Drive every kaigai widget on ``page``; return counts of what was checked."""
    expected = count_widget_scripts(page)
    if expected:
        page.wait_for_function(f"() => document.querySelectorAll('.kaigai-widget').length >= {expected}")
    widgets = page.evaluate(_FIND_WIDGETS)
    assert len(widgets) == expected and all(w["rendered"] for w in widgets), \
        f"{sum(w['rendered'] for w in widgets)} of {expected} kaigai widgets were drawn"
    counts = {"widgets": len(widgets), "settings": 0, "checks": 0}
    for index, widget in enumerate(widgets):
        state = widget["state"]
        setup = state["setup"]
        root = page.locator(f'[data-test-index="{index}"]')
        values = dict(state["values"])
        for control in setup["controls"]:
            seen = []
            for option in _pick(control["options"], values[control["name"]]):
                root.evaluate(_MOVE, [control["name"], option, control["options"].index(option)])
                values[control["name"]] = option
                key = "|".join(values[c["name"]] for c in setup["controls"])
                shown = root.evaluate(_READ_VIEW)
                assert shown["setting"] == key, (setup.get("title"), shown["setting"], key)
                numbers = state["views"][key]["numbers"]
                assert set(shown["numbers"]) <= set(numbers), (key, shown["numbers"], numbers)
                for name, text in shown["numbers"].items():
                    assert _shown_equals(text, numbers[name]), (key, name, text, numbers[name])
                seen.append(tuple(sorted(shown["numbers"].items())))
                counts["settings"] += 1
            if len(control["options"]) >= 3 and any(numbers for numbers in seen):
                assert len(set(seen)) >= 2, f"{control['name']}: the numbers drawn never change: {seen}"
        if setup.get("check"):
            _drive_check(root, state, values, course=course)
            counts["checks"] += 1
    return counts


def _verdict(root: Any, answer: str | None = None, choice: int | None = None) -> str:
    if choice is not None:
        root.locator(f'.kaigai-choices input[value="{choice}"]').check()
    else:
        root.locator("input.kaigai-answer").fill(answer)
    root.locator("button.kaigai-check-button").click()
    return root.locator(".kaigai-feedback [data-verdict]").get_attribute("data-verdict")


def _drive_check(root: Any, state: dict, values: dict, *, course: bool) -> None:
    setup, check = state["setup"], state["setup"]["check"]
    key = "|".join(values[c["name"]] for c in setup["controls"])
    answer_key = state["answer_keys"].get(key)
    graded = not setup.get("keep_key_in_course")
    if course and graded:
        assert not state["answer_keys"] and setup["edition"] == "course", "an answer key in the course edition"
        assert _verdict(root, "0.1") == "submit"
        assert "Submit your answer" in root.locator(".kaigai-feedback").inner_text()
        return
    assert answer_key is not None, f"no answer key for setting {key!r} of {setup.get('title')!r}"
    if check.get("choices"):
        right = answer_key["choice"]
        wrong = next(i for i in range(len(check["choices"])) if i != right)
        assert _verdict(root, choice=wrong) == "wrong"
        assert _verdict(root, choice=right) == "correct"
        return
    unit = check.get("unit", "")
    truth, tolerance = answer_key["truth"], answer_key["tolerance"]
    slips = {s["verdict"]: s for s in answer_key["slips"]}
    # a far answer outside every slip's window (with a wide tolerance, e.g. 0.06 on a truth of 0.10, a value
    # near 100 × the truth reads as a percent-for-log-points slip, which is the feedback it should get)
    step = max(10 * tolerance, 0.5 * abs(truth), 1e-3)
    far = next(value for value in (truth + step * k for k in (7.3, 23.1, 61.7, 173.9, -7.3, -23.1))
               if judge(value, answer_key, unit).verdict in {"too high", "too low"})
    cases = {f"{truth!r}": "correct", f"{far!r}": judge(far, answer_key, unit).verdict}
    if "unit slip" in slips:
        cases[repr(slips["unit slip"]["value"])] = "unit slip"
    for slip in ("naive estimate", "sign error"):
        if slip in slips and judge(slips[slip]["value"], answer_key, unit).verdict == slip:
            cases[repr(slips[slip]["value"])] = slip
    hints = len(check.get("hints") or [])
    for answer, expected in [(f"{far!r}", cases[f"{far!r}"]),
                             *((a, v) for a, v in cases.items() if v not in {"correct", "too high", "too low"}),
                             (f"{truth!r}", "correct")]:
        verdict = _verdict(root, answer)
        assert verdict == expected == judge(float(answer), answer_key, unit).verdict, (answer, verdict, expected)
    shown_hints = root.locator(".kaigai-hint").count()
    assert shown_hints == min(hints, len(cases) - 1), (shown_hints, hints)
    assert _verdict(root, "twelve") == "not a number"
