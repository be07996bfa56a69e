"""An exercise's page in the page's language (kaigai_lib.exercises.pages): the intro, the firms' data dictionary
and the standalone page's header come from the widget catalog (locales/ja/LC_MESSAGES/widgets.po) and the
exercise file's own ``ja:`` texts; the English output is unchanged byte for byte; `kaigai exercises page
--language en|ja` (default KAIGAI_LANGUAGE, else en).

tests/golden/exercise_pages_en.json holds the English intros of the shipped exercises and the head of the
standalone page, as written before the page followed the language. A deliberate change of the English texts
(or of the firms schema) changes them: regenerate the file from the new output and say so in the commit."""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import kaigai_lib.exercises.pages as pages
from kaigai_lib.data import schema
from kaigai_lib.exercises.pages import exercise_intro_html, exercise_page, intro_messages
from kaigai_lib.exercises.spec import EXERCISE_DIR, exercise_files, load_exercise, parse_exercise
from kaigai_lib.replication.cli import main
from kaigai_lib.teaching.static_widgets import LOCALE_DIR, MESSAGES_ID, WIDGET_CATALOG, page_translator, widget_catalog

GOLDEN = json.loads((Path(__file__).parent / "golden" / "exercise_pages_en.json").read_text(encoding="utf-8"))
EXERCISE = "selection-bias-export-tfp"  # the exercise on the book's page (book/exercise_pages.md)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# two Latin words in a row (a space, comma, colon between): an English phrase; single words (True, JETRO, km)
# and names joined by a dash (Levinsohn–Petrin) are not
ENGLISH_PHRASE = re.compile(r"[A-Za-z]{2,}(?:[ ,;:]+[A-Za-z]{2,})+")
MESSAGES_MARK = f'\n<script type="application/json" id="{MESSAGES_ID}"'


def english_phrases(page_html: str) -> list[str]:
    """The English phrases a reader sees in ``page_html``, code (column names, file names, calls) aside."""
    text = re.sub(r"<code>.*?</code>", " ", page_html, flags=re.S)
    text = re.sub(r"<(script|style|title)\b.*?</\1>", " ", text, flags=re.S)
    return ENGLISH_PHRASE.findall(html.unescape(re.sub(r"<[^>]+>", " ", text)))


def head_of(page: str) -> str:
    """A standalone page up to its widget catalog: head, title, header line, intro (the widgets after)."""
    assert MESSAGES_MARK in page
    return page.split(MESSAGES_MARK, 1)[0]


# --------------------------------------------------------------------------------------------------
# English: unchanged


@pytest.mark.parametrize("name", sorted(exercise_files()))
def test_english_intro_is_unchanged_byte_for_byte(name: str) -> None:
    assert exercise_intro_html(load_exercise(name)) == GOLDEN[f"intro:{name}"]
    assert exercise_intro_html(load_exercise(name), "en") == GOLDEN[f"intro:{name}"]


# --------------------------------------------------------------------------------------------------
# Japanese: no English left


@pytest.mark.parametrize("name", sorted(exercise_files()))
def test_japanese_intro_has_no_english_sentence(name: str) -> None:
    spec = load_exercise(name)
    intro = exercise_intro_html(spec, "ja")
    # an exercise's own unit is its author's text, translated by its ja: block or (the book's exercises) the
    # catalog, else shown as written; everything else on the intro is the page's
    untranslated_unit = spec.unit and not spec.ja.get("unit") and not widget_catalog("ja").get(spec.unit)
    shown = intro.replace(html.escape(spec.unit), "") if untranslated_unit else intro
    assert english_phrases(shown) == [], english_phrases(shown)
    assert JAPANESE.search(intro)
    for table in spec.tables:  # file names and attributes kept as code
        assert f"<code>.{table}</code>" in intro
    if "firms" in spec.tables:
        for column in schema.SCHEMAS["firms"].columns:
            assert f"<code>{column.name}</code>" in intro


def test_japanese_data_dictionary_translates_every_meaning_and_worded_unit() -> None:
    intro = exercise_intro_html(load_exercise(EXERCISE), "ja")
    rows = re.findall(r"<tr><td><code>(\w+)</code></td><td>(.*?)</td><td>(.*?)</td></tr>", intro)
    columns = schema.SCHEMAS["firms"].columns
    assert [name for name, _, _ in rows] == [c.name for c in columns]
    for (name, unit, meaning), column in zip(rows, columns, strict=True):
        assert JAPANESE.search(meaning), (name, meaning)
        assert meaning != html.escape(column.description)
        if re.search(r"[a-z]{3,}", column.unit):  # a unit in words ("persons", "percent"), not km: no word left
            assert not re.search(r"[a-z]{3,}", unit), (name, unit)
    assert re.search(r"<th>[^<]*[\u3040-\u9fff][^<]*</th>", intro)


def test_the_standalone_page_in_japanese(ja_pages: dict[str, str]) -> None:
    for edition, page in ja_pages.items():
        head = head_of(page)
        assert '<html lang="ja">' in head and f'id="{MESSAGES_ID}" data-language="ja"' in page, edition
        assert english_phrases(head) == [], (edition, english_phrases(head))
        title = widget_catalog("ja")[load_exercise(EXERCISE).title]
        assert f"<title>{html.escape(title)}</title>" in head and f"<h1>{html.escape(title)}</h1>" in head
    # the two editions say different things on their header line
    public, course = (re.search(r"<p><i>(.*?)</i></p>", head_of(ja_pages[e])).group(1) for e in ("ja", "ja-course"))
    assert public != course and JAPANESE.search(public) and JAPANESE.search(course)


# --------------------------------------------------------------------------------------------------
# The exercise file's own Japanese texts


def test_the_exercise_files_own_japanese_texts_are_used(tmp_path: Path) -> None:
    data = yaml.safe_load((EXERCISE_DIR / f"{EXERCISE}.yml").read_text(encoding="utf-8"))
    data.update(unit="log points per decade", id="my-exercise", title="My own exercise")
    data["ja"] = {"title": "自前の演習", "unit": "10年当たり対数ポイント"}
    spec = parse_exercise(data, str(tmp_path / "mine.yml"))
    japanese = exercise_page(spec, course=True, language="ja")
    assert "<h1>自前の演習</h1>" in japanese and "<title>自前の演習</title>" in japanese
    assert "10年当たり対数ポイント" in head_of(japanese) and english_phrases(head_of(japanese)) == []
    english = exercise_intro_html(spec, "en")
    assert "Answer in log points per decade." in english and "自前" not in english
    # with no ja: unit and none in the catalog, the English unit stays (the author's text, shown as written)
    del data["ja"]["unit"]
    bare = exercise_intro_html(parse_exercise(data, "mine.yml"), "ja")
    assert "log points per decade" in bare


def test_no_unit_is_said_in_the_page_language() -> None:
    spec = load_exercise("lp-labour-machinery")  # a coefficient: no unit
    assert spec.unit == ""
    t = page_translator("ja")
    assert t(pages.ANSWER_IN, unit=t(pages.NO_UNIT)) in exercise_intro_html(spec, "ja")
    assert "Answer in the unit asked for." in exercise_intro_html(spec, "en")


# --------------------------------------------------------------------------------------------------
# The catalog holds the new texts


def test_the_catalog_covers_every_text_of_the_intro() -> None:
    catalog = widget_catalog("ja")
    texts = intro_messages()
    columns = schema.SCHEMAS["firms"].columns
    assert {pages.HEADER, pages.DICTIONARY, *(c.description for c in columns), *(c.unit for c in columns)} <= set(texts)
    missing = [text for text in texts if not catalog.get(text)]
    assert not missing, (f"{LOCALE_DIR}/ja/LC_MESSAGES/{WIDGET_CATALOG}.po: no finished translation of {missing}; "
                         "run `make update-po` and translate them")
    for text in texts:
        assert set(re.findall(r"\{\w+\}", catalog[text])) == set(re.findall(r"\{\w+\}", text)), text


def test_make_gettext_extracts_the_intro_texts(tmp_path: Path) -> None:
    """`make gettext` writes widgets.pot from site_widget_messages: the intro's texts are in it even on a site
    with no exercise page, located in the module that writes them."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import kaigai_i18n

    found = kaigai_i18n.site_widget_messages(tmp_path)
    for text in intro_messages():
        assert text in found, text
    assert found[pages.HEADER] == ["kaigai_lib/exercises/pages.py"]


def test_a_fuzzy_or_missing_translation_shows_the_english(tmp_path: Path) -> None:
    """A changed English text arrives fuzzy (make update-po): the page shows the English until it is translated."""
    folder = tmp_path / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / f"{WIDGET_CATALOG}.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        f'msgid "{pages.EXERCISE}"\nmsgstr "演習 {{id}}。"\n\n'
        f'#, fuzzy\nmsgid "{pages.DICTIONARY}"\nmsgstr "データ辞書：{{table}}"\n', encoding="utf-8")
    t = page_translator("ja", tmp_path)
    assert t(pages.EXERCISE, id="<code>x</code>") == "演習 <code>x</code>。"
    assert t(pages.DICTIONARY, table="firms") == "Data dictionary: columns of firms"
    assert t(pages.HEADER, edition="e") == pages.HEADER.format(edition="e")


# --------------------------------------------------------------------------------------------------
# `kaigai exercises page --language`


def _page(tmp_path: Path, name: str, args: list[str], monkeypatch: pytest.MonkeyPatch, language_env: str | None,
          ) -> str:
    if language_env is None:
        monkeypatch.delenv("KAIGAI_LANGUAGE", raising=False)
    else:
        monkeypatch.setenv("KAIGAI_LANGUAGE", language_env)
    out = tmp_path / f"{name}.html"
    assert main(["exercises", "page", EXERCISE, "--out", str(out), *args]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cli_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Pages written by the command: the flag beats KAIGAI_LANGUAGE; without it, KAIGAI_LANGUAGE, else en."""
    folder = tmp_path_factory.mktemp("pages")
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield {"en": _page(folder, "en", ["--language", "en"], monkeypatch, "ja"),
               "en-course": _page(folder, "en-course", ["--course"], monkeypatch, None),
               "ja": _page(folder, "ja", ["--language", "ja"], monkeypatch, "fr"),
               "ja-course": _page(folder, "ja-course", ["--course"], monkeypatch, "ja")}


@pytest.fixture(scope="module")
def ja_pages(cli_pages: dict[str, str]) -> dict[str, str]:
    return {edition: page for edition, page in cli_pages.items() if edition.startswith("ja")}


def test_the_english_page_is_unchanged_byte_for_byte(cli_pages: dict[str, str]) -> None:
    assert head_of(cli_pages["en"]) == GOLDEN[f"page:{EXERCISE}:public"]
    assert head_of(cli_pages["en-course"]) == GOLDEN[f"page:{EXERCISE}:course"]
    assert f'id="{MESSAGES_ID}" data-language="en">{{}}</script>' in cli_pages["en"]


@pytest.mark.parametrize(("args", "env", "says"), [
    (["--language", "fr"], None, "argument --language: invalid choice: 'fr'"),
    (["--language", "JA"], None, "argument --language: invalid choice: 'JA'"),
    (["--language="], None, "argument --language: invalid choice: ''"),
    ([], "fr", "KAIGAI_LANGUAGE='fr' is not a language of the pages (en, ja)"),
])
def test_a_bad_language_is_exit_2_naming_the_flag(args: list[str], env: str | None, says: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    if env is None:
        monkeypatch.delenv("KAIGAI_LANGUAGE", raising=False)
    else:
        monkeypatch.setenv("KAIGAI_LANGUAGE", env)
    out = tmp_path / "page.html"
    status = main(["exercises", "page", EXERCISE, "--out", str(out), *args])
    error = capsys.readouterr().err
    assert status == 2 and says in error and "--language" in error, error
    assert "Traceback" not in error and not out.exists()


@pytest.mark.parametrize("name", [Path(f).stem for f in exercise_files()])
def test_every_shipped_exercise_makes_its_page_in_both_languages(name: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """An exercise on TFP or spillovers has no starters: its page once stopped with KeyError '_start_year'."""
    source = EXERCISE_DIR / f"{name}.yml"
    for language in ("en", "ja"):
        out = tmp_path / f"{name}-{language}.html"
        assert main(["exercises", "page", str(source), "--out", str(out), "--language", language]) == 0, \
            capsys.readouterr().err
        shown = out.read_text(encoding="utf-8")
        assert "firm-years in" in shown if language == "en" else "の企業・年は" in shown


def test_an_out_path_ending_in_a_slash_is_a_folder_not_a_file_name(tmp_path: Path, capsys) -> None:
    # Path("newdir/") is Path("newdir"): the page was written as a file called newdir
    out = f"{tmp_path / 'newdir'}/"
    status = main(["exercises", "page", EXERCISE, "--out", out])
    error = capsys.readouterr().err
    assert status != 0 and "is a folder: give a file name such as" in error, error
    assert "Traceback" not in error and not (tmp_path / "newdir").exists()
