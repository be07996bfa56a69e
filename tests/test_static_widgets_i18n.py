"""Widgets in the page's language (kaigai_lib.teaching.static_widgets: msg templates, the widget catalog
locales/ja/LC_MESSAGES/widgets.po, an exercise file's own ``ja:`` texts), and a Japanese page driven in
Chromium: the widget's visible text and its feedback after a Check are Japanese.

The catalog's coverage of every text the book's widgets show is checked on the built site
(tests/test_i18n.py::test_every_widget_text_of_the_book_has_a_japanese_translation)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import yaml
from test_site import PageLog, browser_test

from kaigai_lib.exercises.spec import (
    EXERCISE_DIR,
    ExerciseError,
    ExerciseWidget,
    exercise_widget,
    load_exercise,
    parse_exercise,
)
from kaigai_lib.teaching.static_widgets import (
    LOCALE_DIR,
    WIDGET_CATALOG,
    AnswerCheck,
    answer_key,
    concept_check,
    library_messages,
    msg,
    number,
    standalone_html,
    ui_messages,
    widget_catalog,
    widget_messages,
)

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
CATALOG = LOCALE_DIR / "ja" / "LC_MESSAGES" / f"{WIDGET_CATALOG}.po"


def test_msg_shows_english_and_keeps_its_template_and_fields() -> None:
    shown = msg("ATT {estimate} (s.e. {se})", estimate=number("estimate", 0.1234), se="0.0100")
    assert ">ATT <b data-kaigai-number=\"estimate\">+0.1234</b> (s.e. 0.0100)</span>" in shown
    template = re.search(r'data-kaigai-msg="([^"]*)"', shown).group(1)
    fields = json.loads(html.unescape(re.search(r'data-kaigai-args="([^"]*)"', shown).group(1)))
    assert html.unescape(template) == "ATT {estimate} (s.e. {se})"
    assert fields == {"estimate": number("estimate", 0.1234), "se": "0.0100"}


def test_widget_messages_lists_what_a_reader_sees_and_no_number() -> None:
    box = AnswerCheck("What is the <b>ATT</b>?", answer_key(0.1, 0.02, "log points", naive=0.3), "log points",
                      ["Look at the matched pairs."])
    texts = widget_messages(box.state())
    assert texts[:3] == ["What is the <b>ATT</b>?", "log points", box.setup["check"]["submit"]]
    assert "Look at the matched pairs." in texts
    assert all(slip["message"] in texts for slip in box.current_answer_key["slips"])
    check = concept_check("Which?", ["one", "two"], 1, "Because.", {0: "Not one."})
    assert set(widget_messages(check.state())) == {"Check your understanding", "Which?", "one", "two",
                                                   "Because.", "Not one.", check.setup["check"]["submit"]}
    state = {"setup": {"controls": [{"label": "caliper (SD)", "options": ["none", "0.2", "1e-3"]}]},
             "views": {"0.2": {"html": "<p>" + msg("{n} of {m} matched", n="1", m="2") + " 0.25</p>"}}}
    assert widget_messages(state) == ["caliper (SD)", "none", "{n} of {m} matched"]


def test_the_texts_of_widget_js_are_translated() -> None:
    catalog = widget_catalog("ja")
    texts = ui_messages()
    assert {"Check", "Hint", "Correct: {answer} is within ±{tolerance} of the true value, {truth}."} <= set(texts)
    missing = [t for t in texts if not catalog.get(t)]
    assert not missing, f"{CATALOG}: no finished translation of {missing}"
    for text in texts:  # the fields survive the translation
        assert set(re.findall(r"\{\w+\}", catalog[text])) == set(re.findall(r"\{\w+\}", text)), text


def test_the_view_templates_of_the_library_are_translated() -> None:
    """Every msg("…") template of kaigai_lib (found in the source, so also those shown in Jupyter only)."""
    catalog = widget_catalog("ja")
    templates = library_messages()
    assert "radius = {radius} km" in templates and "the world of trainee {trainee}" in templates
    missing = [f"{t!r} ({module})" for t, module in templates.items() if not catalog.get(t)]
    assert not missing, f"{CATALOG}: no finished translation of {missing}; run `make update-po`"
    for text in templates:
        assert set(re.findall(r"\{\w+\}", catalog[text])) == set(re.findall(r"\{\w+\}", text)), text


def test_fuzzy_translations_are_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / f"{WIDGET_CATALOG}.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Check"\nmsgstr "確認"\n\n#, fuzzy\nmsgid "Hint"\nmsgstr "ヒント"\n\nmsgid "Answer"\nmsgstr ""\n',
        encoding="utf-8")
    assert widget_catalog("ja", tmp_path) == {"Check": "確認"}
    assert widget_catalog("en", tmp_path) == {} and widget_catalog("fr", tmp_path) == {}


def test_a_widget_made_in_japanese_carries_its_translations(monkeypatch: pytest.MonkeyPatch) -> None:
    """In Jupyter no page gives the catalog: a widget made with KAIGAI_LANGUAGE=ja carries it."""
    monkeypatch.setenv("KAIGAI_LANGUAGE", "ja")
    box = AnswerCheck("<p>q</p>", answer_key(0.1, 0.02, "log points"), "log points")
    assert box.setup["language"] == "ja"
    carried = box.setup["translations"]["ja"]
    catalog = widget_catalog("ja")
    assert carried["Check"] == catalog["Check"] and carried["log points"] == catalog["log points"]
    assert "<p>q</p>" not in carried  # no translation, none carried
    monkeypatch.delenv("KAIGAI_LANGUAGE")
    english = AnswerCheck("<p>q</p>", answer_key(0.1, 0.02, "log points"), "log points")
    assert english.setup["language"] == "en" and english.setup["translations"] == {}


# --------------------------------------------------------------------------------------------------
# An exercise file's own Japanese texts (ja:)


def _exercise_data() -> dict:
    return yaml.safe_load((EXERCISE_DIR / "selection-bias-export-tfp.yml").read_text(encoding="utf-8"))


def test_exercise_file_may_carry_japanese_texts() -> None:
    data = _exercise_data()
    data["ja"] = {"title": "自前の演習", "question": "選択バイアスはいくらか（対数ポイント）。", "unit": "対数ポイント",
                  "hints": [f"ヒント{i + 1}" for i in range(len(data.get("hints", [])))],
                  "labels": {name: "選択の強さ" for name in data["world"]["trainee_may_change"]}}
    spec = parse_exercise(data, "mine.yml")
    assert spec.ja["title"] == "自前の演習"
    widget = ExerciseWidget(spec, precompute=False)
    own = widget.setup["translations"]["ja"]
    assert own[spec.title] == "自前の演習" and own[html.escape(spec.question)] == html.escape(data["ja"]["question"])
    assert own[spec.unit] == "対数ポイント"
    assert all(own[html.escape(h)] == f"ヒント{i + 1}" for i, h in enumerate(spec.hints))
    assert own[next(iter(spec.trainee_may_change))] == "選択の強さ"
    assert load_exercise("selection-bias-export-tfp").ja == {}


@pytest.mark.parametrize(("ja", "where", "says"), [
    ({"titel": "x"}, "ja.titel", "unknown field (did you mean 'title'?)"),
    ({"hints": ["only one", "two", "three", "four", "five", "six"]}, "ja.hints", "give one for each"),
    ({"labels": {"no_such_slider": "x"}}, "ja.labels", "not a slider"),
    ({"question": ""}, "ja.question", "non-empty text"),
    ("日本語", "ja", "must be a mapping"),
])
def test_bad_japanese_texts_are_named(ja: object, where: str, says: str) -> None:
    data = {**_exercise_data(), "ja": ja}
    with pytest.raises(ExerciseError) as error:
        parse_exercise(data, "mine.yml")
    text = str(error.value)
    assert where in text and says in text and "mine.yml" in text, text


# --------------------------------------------------------------------------------------------------
# In a browser: a Japanese page


@browser_test
@pytest.mark.browser
def test_widgets_speak_the_language_of_a_japanese_page(chromium, tmp_path: Path) -> None:
    """A page with <html lang="ja"> and the Japanese widget catalog (as the Japanese edition's pages): the
    widget's labels, buttons, question and view are Japanese, and so is its feedback after each Check."""
    catalog = widget_catalog("ja")
    exercise = exercise_widget("selection-bias-export-tfp")
    # a concept check whose texts are catalog messages (the book's own are checked on the built site)
    check = concept_check("Which?", ["Check", "Hint"], 0, "Correct.", {1: "Hint"})
    page_file = tmp_path / "ja.html"
    page_file.write_text(standalone_html("演習", "<h1>演習</h1>", [exercise, check], course=False, language="ja"),
                         encoding="utf-8")
    context = chromium.new_context()
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    try:
        page = context.new_page()
        log = PageLog(page, "")
        page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('.kaigai-widget').length === 2")
        first = page.locator(".kaigai-widget").nth(0)
        shown = first.inner_text()
        assert first.get_attribute("lang") == "ja"
        for english in ("Check", "Hint", "Answer:", "Your world", "starters", "log points"):
            assert english not in shown, (english, shown)
        for text in (exercise.setup["title"], "Check", "Hint"):
            assert catalog[text] in shown, (text, shown)
        # feedback after a wrong and a right answer, in Japanese
        key = exercise.current_answer_key
        for answer in (key["truth"] + 1000 * key["tolerance"] + 7, key["truth"]):
            first.locator("input.kaigai-answer").fill(repr(answer))
            first.locator("button.kaigai-check-button").click()
            feedback = first.locator(".kaigai-feedback").inner_text()
            assert JAPANESE.search(feedback) and "true value" not in feedback, feedback
        assert first.locator(".kaigai-feedback [data-verdict]").get_attribute("data-verdict") == "correct"
        # a slider moved: the view's template is Japanese, its numbers still those Python computed
        name = exercise.setup["controls"][0]["name"]
        first.locator(f'[data-control="{name}"]').evaluate(
            "(input) => { input.value = '0'; input.dispatchEvent(new Event('input', {bubbles: true})); }")
        view = first.locator(".kaigai-view").inner_text()
        assert JAPANESE.search(view) and "firm-years" not in view, view
        numbers = first.locator(".kaigai-view [data-kaigai-number]").count()
        assert numbers >= 2
        feedback = first.locator(".kaigai-feedback").inner_text()
        assert JAPANESE.search(feedback) and "setting has changed" not in feedback, feedback
        second = page.locator(".kaigai-widget").nth(1)
        second.locator('.kaigai-choices input[value="1"]').check()
        second.locator("button.kaigai-check-button").click()
        assert second.locator(".kaigai-feedback").inner_text().strip() == catalog["Hint"]
        page.wait_for_timeout(200)
    finally:
        context.close()
    assert not log.errors, log.errors
