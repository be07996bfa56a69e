"""The Japanese edition (日本語版): catalogs in step with the English pages, translation coverage per page,
markup kept in translations, and the built editions (language switch, glue values, exercises, search).

Staleness guard. `test_catalogs_follow_the_english_pages` extracts the messages of the current English pages
(the gettext builder, no chapter runs) and fails when a catalog lacks one: run `make update-po`, which turns
changed messages fuzzy. `test_translation_coverage` reports every page's coverage
(tests/artifacts/translation-coverage.json) and fails when any page of the table of contents has an
untranslated or fuzzy message: the translation is complete (100 %) and must stay so.

The built site is the session fixture `built_site` (tests/conftest.py), which holds both editions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from test_book import _toc_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import kaigai_i18n  # noqa: E402
import test_site  # noqa: E402

# test_site.py's server (the site holds both editions) and browser, for this module only: Playwright's sync
# API allows one running instance, so this one is closed before test_site.py's session-wide one starts
server = pytest.fixture(scope="module", name="server")(test_site.server.__wrapped__)
browser_context = pytest.fixture(scope="module", name="browser_context")(test_site.browser_context.__wrapped__)

ARTIFACTS = ROOT / "tests" / "artifacts"
PAGES = _toc_files()
JA = "ja"


def _catalog(page: str):
    with kaigai_i18n.catalog_path(page).open("rb") as handle:
        return read_po(handle, abort_invalid=True)


def _messages(page: str) -> list:
    return [m for m in _catalog(page) if m.id]


# --------------------------------------------------------------------------------------------------
# Catalogs (no build of the book)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The messages of the current English pages (`make gettext` into a temporary folder)."""
    out = tmp_path_factory.mktemp("gettext")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGAI_")}
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--builder", "custom", "--custom-builder",
                             "gettext", "--path-output", str(out)], capture_output=True, text=True, timeout=900,
                            env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out / "_build" / "gettext"


def test_catalogs_follow_the_english_pages(extracted: Path) -> None:
    stale = []
    for page in PAGES:
        with (extracted / f"{page}.pot").open("rb") as handle:
            wanted = {m.id for m in read_po(handle) if m.id}
        path = kaigai_i18n.catalog_path(page)
        if not path.exists():
            stale.append(f"{page}: no catalog {path.relative_to(ROOT)}")
            continue
        missing = wanted - {m.id for m in _messages(page)}
        stale += [f"{page}: {text[:90]!r}" for text in sorted(missing)]
    assert not stale, (f"{len(stale)} English messages are not in the Japanese catalogs: run `make update-po` "
                       "(changed messages become fuzzy), then translate them:\n" + "\n".join(stale[:40]))


def test_translation_coverage() -> None:
    """Per-page coverage, written to tests/artifacts/; pages declared complete must stay complete."""
    rows = {page: kaigai_i18n.page_coverage(page) for page in PAGES}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = {page: {"messages": c.total, "translated": c.translated, "fuzzy": c.fuzzy,
                     "untranslated": c.untranslated} for page, c in rows.items()}
    report["all"] = {key: sum(r[key] for r in report.values()) for key in ("messages", "translated", "fuzzy",
                                                                          "untranslated")}
    (ARTIFACTS / "translation-coverage.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("\n".join(f"{page:34} {r['translated']:4}/{r['messages']:4} fuzzy {r['fuzzy']:3}"
                    for page, r in report.items()))
    failures = []
    for page in PAGES:
        if not rows[page].complete:
            left = [m.id[:80] for m in _messages(page) if m.fuzzy or not m.string] if rows[page].total else []
            failures.append(f"{page}: {rows[page].translated}/{rows[page].total} translated, "
                            f"{rows[page].fuzzy} fuzzy: {left[:5]}")
    assert not failures, ("pages of the Japanese edition have untranslated or fuzzy messages (translate them in "
                          "locales/ja/LC_MESSAGES/<page>.po):\n" + "\n".join(failures))
    assert report["all"]["translated"] == report["all"]["messages"] > 0


# MyST markup that must reach the Japanese page unchanged: roles (their target; a {term}'s or {doc}'s link text
# may be translated), inline maths and inline code
_ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<body>[^`]*)`")
_MATH = re.compile(r"(?<![\\$])\$[^$]+\$")
_CODE = re.compile(r"(?<!`)(`+)([^`]+?)\1(?!`)")


def markup(text: str) -> Counter:
    """The roles (name and target), inline maths and inline code of a message."""
    found: Counter = Counter()
    for match in _ROLE.finditer(text):
        body = match["body"]
        target = re.search(r"<([^<>]+)>\s*$", body)
        found[f"{{{match['name']}}}`{target[1] if target else body}`"] += 1
    without_roles = _ROLE.sub("", text)
    found.update(f"math {m}" for m in _MATH.findall(without_roles))
    found.update(f"code {m[1]}" for m in _CODE.findall(_MATH.sub("", without_roles)))
    return found


def test_markup_of_a_message_is_checked_as_a_reader_would_see_it() -> None:
    english = "Gap {glue:text}`gap:.2f` in $\\beta_l$ with `naive_difference`; {term}`ATT <ATT (処置群)>`."
    assert markup(english) == markup("差は{glue:text}`gap:.2f`（$\\beta_l$）、`naive_difference`、"
                                     "{term}`処置群 <ATT (処置群)>`。")
    assert markup(english) != markup("差は{glue:text}`gap:.3f`（$\\beta_l$）、`naive_difference`、"
                                     "{term}`処置群 <ATT (処置群)>`。")  # a changed format
    assert markup(english) != markup("差は{glue}`gap:.2f`（$\\beta_l$）、`naive_difference`、"
                                     "{term}`ATT (処置群)`。")  # another role and a bare term
    assert markup(english) != markup("差は{glue:text}`gap:.2f`（β）、`naive_difference`、"
                                     "{term}`処置群 <ATT (処置群)>`。")  # maths dropped


@pytest.mark.parametrize("page", PAGES)
def test_translations_keep_roles_maths_and_code(page: str) -> None:
    """A glue key, citation, cross-reference, formula or code name changed or lost in translation would show a
    wrong number or a broken link on the Japanese page only."""
    if not kaigai_i18n.catalog_path(page).exists():
        pytest.skip(f"{page} has no catalog yet")
    wrong = []
    for message in _messages(page):
        if message.string and not message.fuzzy and markup(message.id) != markup(message.string):
            wrong.append(f"{message.id[:70]!r}: English {sorted(markup(message.id) - markup(message.string))}, "
                         f"Japanese {sorted(markup(message.string) - markup(message.id))}")
    assert not wrong, f"{kaigai_i18n.catalog_path(page)}:\n" + "\n".join(wrong)


def test_glossary_terms_keep_their_bilingual_form() -> None:
    """Every {term} reference names an entry "English (日本語)": a translated term would leave them unresolved."""
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    terms = [line.strip() for line in block.splitlines() if line and not line.startswith((" ", ":"))]
    catalog = {m.id: m for m in _messages("book/glossary")}
    assert terms and all(term in catalog for term in terms)
    changed = [term for term in terms if catalog[term].string not in ("", term)]
    assert not changed, f"glossary terms must be translated as themselves: {changed}"


def test_a_glued_phrase_is_one_message_in_both_editions() -> None:
    """Smart quotes turn a glued phrase's "kit's" into "kit’s" in the English edition, not in the Japanese one
    (Sphinx excludes ja): the message extracted from the one must be the key looked up in the other."""
    from docutils import nodes
    from docutils.utils.smartquotes import smartyPants

    glued = "the kit's estimates differ from the published ones by at most 0.0005"
    english, japanese = (nodes.inline(glued, glued, classes=["pasted-text"]) for _ in range(2))
    english.replace(english.children[0], nodes.Text(smartyPants(glued, language="en")))
    assert english.astext() != japanese.astext()  # what the two editions show
    assert kaigai_i18n.glued_words(english) == [english]
    assert kaigai_i18n.glued_text(english) == kaigai_i18n.glued_text(japanese) == glued


def test_cell_outputs_are_not_messages() -> None:
    """A Markdown output (the productivity chapter's note naming where it looked for the reference file) is shared
    by both editions: extracted, it would be a message that differs from machine to machine."""
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document
    from sphinx.util.nodes import extract_messages

    document = new_document("notebooks/productivity.md", get_default_settings(Parser))
    prose, note = (nodes.paragraph(text, text) for text in (  # (raw source, text), as the parser makes them
        "The data are not ours to redistribute.",
        "Not run here: prodest_chilean.csv not found at /home/analyst/shared/reference-data."))
    output = nodes.container("", note, classes=["cell_output"], nb_element="cell_code_output")
    for node in (prose, note):
        node.source, node.line = document["source"], 1
    document += [prose, nodes.container("", output, classes=["cell"])]
    kaigai_i18n.OutputsAreNotMessages(document).apply()
    assert [message for _, message in extract_messages(document)] == ["The data are not ours to redistribute."]


def test_coverage_counts_fuzzy_and_untranslated_messages(tmp_path: Path) -> None:
    folder = tmp_path / JA / "LC_MESSAGES" / "book"
    folder.mkdir(parents=True)
    (folder / "x.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                 'msgid "One"\nmsgstr "一"\n\n#, fuzzy\nmsgid "Two"\nmsgstr "二"\n\n'
                                 'msgid "Three"\nmsgstr ""\n', encoding="utf-8")
    coverage = kaigai_i18n.page_coverage("book/x", JA, tmp_path)
    assert (coverage.total, coverage.translated, coverage.fuzzy, coverage.untranslated) == (3, 1, 1, 1)
    assert not coverage.complete
    assert kaigai_i18n.page_coverage("book/none", JA, tmp_path).total == 0
    (folder / "x.po").write_text('msgid "One"\nmsgstr "一"\nmsgtext "?"\n', encoding="utf-8")  # a broken catalog
    with pytest.raises(Exception, match=r"x\.po: not a readable gettext catalog"):
        kaigai_i18n.page_coverage("book/x", JA, tmp_path)


def test_make_gettext_marks_the_messages_of_docstrings_only() -> None:
    """A message of the API reference that comes from a docstring (autodoc) or an autosummary table gets a location
    naming the Python file or the table, without a line number; every other message gets none."""
    from sphinx.builders.gettext import MsgOrigin

    catalog = kaigai_i18n.ApiLocations()
    for text, source in [
        ("Changes from the base year.", "/r/kaigai_lib/estimators/did.py:docstring of kaigai_lib.EventChanges"),
        ("Nearest-neighbour matching.", "/r/book/api/estimators.md:12:<autosummary>"),
        ("Estimators", "/r/book/api/estimators.md"),
        ("Examples", "/r/kaigai_lib/data/schema.py:docstring of kaigai_lib.validate"),
        ("Examples", "/r/book/api/estimators.md"),  # also in the page's own prose: translated like any prose
        ("Parameters", "/r/kaigai_lib/data/schema.py:docstring of kaigai_lib.validate"),
        ("Parameters", "/r/kaigai_lib/estimators/did.py:docstring of kaigai_lib.event_changes"),
    ]:
        catalog.add(text, MsgOrigin(source, 7))
    assert {m.text: m.locations for m in catalog} == {
        "Changes from the base year.": [("/r/kaigai_lib/estimators/did.py", 0)],
        "Nearest-neighbour matching.": [("/r/book/api/estimators.md#autosummary", 0)],
        "Estimators": [], "Examples": [],
        "Parameters": [("/r/kaigai_lib/data/schema.py", 0), ("/r/kaigai_lib/estimators/did.py", 0)]}


def test_coverage_leaves_out_the_messages_of_docstrings(tmp_path: Path) -> None:
    """The .pot that `make gettext` writes (Sphinx's own template), merged as `make update-po` does (babel, as
    sphinx-intl), counts only the pages' own prose."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po
    from sphinx.builders.gettext import GettextRenderer, MsgOrigin

    pot_dir = tmp_path / "_build" / "gettext" / "book" / "api"
    pot_dir.mkdir(parents=True)
    catalog = kaigai_i18n.ApiLocations()
    for text, source in [("Estimators", f"{ROOT}/book/api/estimators.md"),
                         ("The methods of the book.", f"{ROOT}/book/api/estimators.md"),
                         ("One row per input.", f"{ROOT}/kaigai_lib/estimators/tfp.py:docstring of kaigai_lib.ols"),
                         ("Pooled OLS.", f"{ROOT}/book/api/estimators.md:30:<autosummary>")]:
        catalog.add(text, MsgOrigin(source, 3))
    pot = GettextRenderer(outdir=str(pot_dir.parent)).render("message.pot.jinja", {
        "messages": list(catalog), "display_location": True, "display_uuid": False, "version": "", "copyright": "",
        "project": "kaigai", "last_translator": "", "language_team": "", "ctime": "2026-11-30 09:00+0000"})
    assert pot.count("#: ") == 2 and ":docstring of" not in pot and ":<autosummary>" not in pot
    with (pot_dir / "estimators.pot").open("w", encoding="utf-8") as handle:
        handle.write(pot)
    with (pot_dir / "estimators.pot").open("rb") as handle:
        template = read_po(handle)
    po = Catalog(locale=JA)
    po.update(template)
    po["Estimators"].string = "推定量"
    folder = tmp_path / JA / "LC_MESSAGES" / "book" / "api"
    folder.mkdir(parents=True)
    with (folder / "estimators.po").open("wb") as handle:
        write_po(handle, po, width=100)
    text = (folder / "estimators.po").read_text(encoding="utf-8")
    # a location without a line number (an edit elsewhere in the file changes no entry)
    locations = [line for line in text.splitlines() if line.startswith("#: ")]
    assert [line.rsplit("/", 1)[-1] for line in locations] == ["tfp.py", "estimators.md#autosummary"]
    coverage = kaigai_i18n.page_coverage("book/api/estimators", JA, tmp_path)
    assert (coverage.total, coverage.translated, coverage.untranslated) == (2, 1, 1)  # prose only
    with (folder / "estimators.po").open("rb") as handle:
        assert sorted(m.id for m in read_po(handle) if m.id and kaigai_i18n.from_docstrings(m)) == [
            "One row per input.", "Pooled OLS."]


def test_twin_urls_lead_to_the_same_page_in_the_other_edition() -> None:
    assert kaigai_i18n.twin_url("index", "en", "ja") == "ja/index.html"
    assert kaigai_i18n.twin_url("notebooks/did", "en", "ja") == "../ja/notebooks/did.html"
    assert kaigai_i18n.twin_url("notebooks/did", "ja", "en") == "../../notebooks/did.html"
    assert kaigai_i18n.twin_url("search", "ja", "en") == "../search.html"


def test_unknown_language_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIGAI_LANGUAGE", "fr")
    with pytest.raises(Exception, match="KAIGAI_LANGUAGE must be one of en, ja"):
        kaigai_i18n.edition_language()


def test_the_library_knows_the_editions_languages(capsys: pytest.CaptureFixture[str]) -> None:
    """`kaigai exercises page --language` and the library's pages offer the book's editions."""
    from kaigai_lib.replication.cli import main
    from kaigai_lib.teaching.static_widgets import LANGUAGES

    assert tuple(kaigai_i18n.EDITIONS) == LANGUAGES
    assert main(["exercises", "page", "x.yml", "--out", "x.html", "--language", "xx"]) == 2
    assert f"(choose from {', '.join(map(repr, LANGUAGES))})" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (needed by `make book` for the site's assets) "
                    "is not installed")
def test_search_page_splits_a_japanese_query_as_the_index_was_split(tmp_path: Path) -> None:
    from sphinx.search.ja import DefaultSplitter

    # every page's Japanese text, as Sphinx indexed it, and queries a reader would type
    texts = [m.string for page in PAGES if kaigai_i18n.catalog_path(page).exists()
             for m in _messages(page) if m.string and not m.fuzzy][:400]
    texts += ["傾向スコア", "差の差分析", "全要素生産性", "外資系企業", "海外生産比率", "周辺地域"]
    script = tmp_path / "split.js"
    script.write_text(kaigai_i18n.japanese_splitter_js() + f"\nconst texts = {json.dumps(texts)};\n"
                      "console.log(JSON.stringify(texts.map((text) => splitQuery(text))));\n", encoding="utf-8")
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    python = [[word for word in DefaultSplitter({}).split(text) if len(word) > 1] for text in texts]
    assert json.loads(result.stdout) == python


# --------------------------------------------------------------------------------------------------
# The built editions


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _switch(soup: BeautifulSoup, language: str) -> str:
    link = soup.select_one(f'link[rel="alternate"][hreflang="{language}"]')
    assert link is not None, f"no link to the {language} edition"
    button = soup.find("a", href=link["href"])
    assert button is not None, "no language button in the header"
    return link["href"]


@pytest.mark.book
@pytest.mark.parametrize("page", PAGES)
def test_every_page_links_to_its_twin(built_site: Path, page: str) -> None:
    english, japanese = built_site / f"{page}.html", built_site / JA / f"{page}.html"
    assert _soup(english).html["lang"] == "en" and _soup(japanese).html["lang"] == JA
    assert (english.parent / _switch(_soup(english), JA)).resolve() == japanese.resolve()
    assert (japanese.parent / _switch(_soup(japanese), "en")).resolve() == english.resolve()


def _pasted(soup: BeautifulSoup) -> tuple[Counter, int]:
    """Values that myst-nb's glue roles pasted into the page: the numbers, and how many values in all (glued
    words are translated in the Japanese edition)."""
    values = [" ".join(tag.get_text().split()) for tag in soup.select("article .pasted-text")]
    return Counter(v for v in values if not re.search(r"[A-Za-z]{2}|[^\x00-\x7f]", v)), len(values)


@pytest.mark.book
@pytest.mark.parametrize("page", PAGES)
def test_translated_page_keeps_numbers_exercises_and_figures(built_site: Path, page: str) -> None:
    english, japanese = _soup(built_site / f"{page}.html"), _soup(built_site / JA / f"{page}.html")
    prose = [p for p in japanese.select("article p") if not p.find_parent(class_="cell")]
    for paragraph in prose:
        for code in paragraph.find_all("code"):
            code.decompose()
    left = [p.get_text()[:100] for p in prose if re.search(r"\{(glue|term|cite|doc|ref)[:}]", p.get_text())]
    assert not left, f"MyST markup left as text: {left}"
    assert not japanese.select("article .problematic, article .system-message")
    assert _pasted(japanese) == _pasted(english), "glued values differ from the English page"
    for selector in ("div.exercise", "div.solution", "article img", "article table", "div.cell_output"):
        assert len(japanese.select(selector)) == len(english.select(selector)), selector


@pytest.mark.book
def test_japanese_course_edition_has_exercises_and_no_solution(built_site: Path, course_site: Path) -> None:
    assert json.loads((course_site / JA / "kaigai-build.json").read_text())["solutions"] == "hidden"
    for page in PAGES:
        public, course = _soup(built_site / JA / f"{page}.html"), _soup(course_site / JA / f"{page}.html")
        assert not course.select("div.solution"), page
        assert len(course.select("div.exercise")) == len(public.select("div.exercise")), page
        for solution in public.select("div.solution section p"):  # the translated solutions too
            text = " ".join(solution.get_text().split())
            if len(text) > 60:
                assert text not in " ".join(course.get_text().split()), f"{page}: {text[:60]}"


@pytest.mark.book
def test_complete_pages_are_in_japanese(built_site: Path) -> None:
    for page in PAGES:
        article = _soup(built_site / JA / f"{page}.html").select_one("article")
        for message in _messages(page):
            if kaigai_i18n.from_docstrings(message):  # docstrings stay English in both editions
                continue
            if message.string != message.id and len(message.id) > 40 and "{" not in message.id \
                    and "`" not in message.id and "$" not in message.id and "*" not in message.id:
                assert " ".join(message.id.split()) not in " ".join(article.get_text().split()), \
                    f"{page}: English left on the Japanese page: {message.id[:80]!r}"


@pytest.mark.book
def test_every_widget_text_of_the_book_has_a_japanese_translation(built_site: Path) -> None:
    """Every text the book's widgets show (collected from the built English site, as `make gettext` does) has a
    finished, not fuzzy, translation in locales/ja/LC_MESSAGES/widgets.po, with the same {fields}."""
    from kaigai_lib.teaching.static_widgets import widget_catalog

    catalog = widget_catalog(JA)
    shown = kaigai_i18n.site_widget_messages(built_site)
    assert len(shown) > 50, f"only {len(shown)} widget texts found in the built site"
    missing = [f"{text[:90]!r} ({', '.join(pages)})" for text, pages in shown.items() if not catalog.get(text)]
    assert not missing, (f"{len(missing)} widget texts have no Japanese translation: run `make update-po`, then "
                         "translate them in locales/ja/LC_MESSAGES/widgets.po:\n" + "\n".join(missing[:40]))
    fields = [text for text in shown if set(re.findall(r"\{\w+\}", text)) != set(re.findall(r"\{\w+\}",
                                                                                          catalog[text]))]
    assert not fields, f"translations that lose or add a {{field}}: {fields}"
    coverage = kaigai_i18n.page_coverage(kaigai_i18n.WIDGET_CATALOG)
    assert coverage.complete, coverage


@pytest.mark.book
def test_the_exercise_directive_follows_the_edition(built_site: Path) -> None:
    """{kaigai-exercise}: the English page's intro unchanged byte for byte, the Japanese one in Japanese."""
    from test_exercise_pages import EXERCISE, GOLDEN, english_phrases

    from kaigai_lib.exercises.pages import exercise_intro_html
    from kaigai_lib.exercises.spec import load_exercise

    english = (built_site / "book" / "exercise_pages.html").read_text(encoding="utf-8")
    japanese = (built_site / JA / "book" / "exercise_pages.html").read_text(encoding="utf-8")
    assert english.count(GOLDEN[f"intro:{EXERCISE}"]) == 1
    intro = exercise_intro_html(load_exercise(EXERCISE), JA)
    assert japanese.count(intro) == 1 and english_phrases(intro) == []


def test_language_switch_is_made_to_open_in_the_same_tab() -> None:
    rendered = ('<li><a href="../ja/notebooks/did.html" target="_blank"\n   class="btn btn-sm btn-language-switch-ja '
                'dropdown-item"\n   title="x">\n<a href="https://example.org" target="_blank"\n   class="btn btn-sm '
                'btn-repository-button">')
    fixed = kaigai_i18n.switch_in_same_tab(rendered)
    assert '<a href="../ja/notebooks/did.html"\n   class="btn btn-sm btn-language-switch-ja' in fixed
    assert 'href="https://example.org" target="_blank"' in fixed  # other header links unchanged


@pytest.mark.book
def test_no_language_switch_opens_a_new_tab(built_site: Path) -> None:
    for path in test_site._html_pages(built_site):
        soup = _soup(path)
        links = soup.select('a[class*="btn-language-switch-"]')
        if path.name != "index.html" or path.parent not in (built_site, built_site / JA):  # it only redirects
            assert links, f"{path}: no language switch"
        assert all(link.get("target") is None for link in links), f"{path}: the switch opens a new tab"


@pytest.mark.book
def test_status_page_shows_translation_coverage(built_site: Path) -> None:
    for site in (built_site, built_site / JA):
        table = _soup(site / "book" / "status.html").select_one("table.kaigai-translation-coverage")
        assert table is not None
        rows = {tr.find_all(["td"])[0].get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
                for tr in table.select("tbody tr")}
        for page in [*PAGES, kaigai_i18n.WIDGET_CATALOG]:  # the widgets' catalog too
            coverage = kaigai_i18n.page_coverage(page)
            assert rows[page][1:4] == [str(coverage.total), str(coverage.translated), str(coverage.fuzzy)], page


def _search_index(site: Path) -> dict:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


@pytest.mark.book
def test_japanese_search_index_is_split_into_words(built_site: Path) -> None:
    """Sphinx's Japanese splitter (TinySegmenter, in Sphinx itself: nothing downloaded) indexes the Japanese
    edition by words, so 傾向スコア finds the matching chapter."""
    index = _search_index(built_site / JA)
    assert "ja" in (built_site / JA / "search.html").read_text(encoding="utf-8")
    docs = index["docnames"]
    for word in ("傾向", "スコア"):  # how searchtools.js splits the query 傾向スコア
        hits: list[int] = []
        for kind in ("terms", "titleterms"):  # a page is found when every word is in its text or its titles
            found = index[kind].get(word, [])
            hits += found if isinstance(found, list) else [found]
        assert docs.index("notebooks/matching") in hits, (word, [docs[i] for i in hits])


# --------------------------------------------------------------------------------------------------
# In a browser (the machinery of test_site.py)


_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# words of widget.js's and the answer keys' English feedback, none of which may reach a Japanese page
_ENGLISH_FEEDBACK = ("true value", "Too high", "Too low", "Correct", "Not this one", "looks like", "Enter a number",
                     "Pick one", "Course edition")


def _check_widgets_speak_japanese(page, site_page: str) -> int:
    """Every kaigai widget of a Japanese page shows Japanese and no English sentence of its own; the first
    checkable one answers a wrong answer in Japanese. Returns how many widgets were read."""
    from widget_driver import _FIND_WIDGETS, count_widget_scripts

    from kaigai_lib.teaching.static_widgets import widget_messages

    expected = count_widget_scripts(page)
    if not expected:
        return 0
    page.wait_for_function(f"() => document.querySelectorAll('.kaigai-widget').length >= {expected}")
    widgets = page.evaluate(_FIND_WIDGETS)
    checked = False
    for index, widget in enumerate(widgets):
        root = page.locator(f'[data-test-index="{index}"]')
        shown = " ".join(root.inner_text().split())
        assert root.get_attribute("lang") == JA and _JAPANESE.search(shown), (site_page, shown[:200])
        sentences = [t for t in widget_messages(widget["state"]) if len(t.split()) >= 5 and "<" not in t]
        left = [t for t in sentences if " ".join(t.split()) in shown]
        assert not left, f"{site_page}: English left in a widget: {left[:3]}"
        check = widget["state"]["setup"].get("check")
        if check and not checked:
            if check.get("choices"):
                root.locator('.kaigai-choices input[value="0"]').check()
            else:
                root.locator("input.kaigai-answer").fill("-987654.321")
            root.locator("button.kaigai-check-button").click()
            feedback = " ".join(root.locator(".kaigai-feedback").inner_text().split())
            english = [w for w in _ENGLISH_FEEDBACK if w in feedback]
            assert _JAPANESE.search(feedback) and not english, (site_page, feedback)
            checked = True
    return len(widgets)


@test_site.browser_test
@pytest.mark.book
@pytest.mark.browser
@pytest.mark.parametrize("page_name", [*PAGES, *test_site.GENERATED_PAGES])
def test_japanese_page_in_a_browser(browser_context, server: str, page_name: str) -> None:
    """Every page of the Japanese edition: no console error, no request to another host, its widgets in
    Japanese (feedback too), and its language switch leads, in the same tab, to the English twin."""
    context, report = browser_context
    page = context.new_page()
    log = test_site.PageLog(page, urlsplit(server).netloc)
    try:
        page.goto(server + f"{JA}/{page_name}.html", wait_until="load")
        assert page.evaluate("() => document.documentElement.lang") == JA
        widgets = _check_widgets_speak_japanese(page, page_name)
        page.wait_for_timeout(300)
        report.setdefault("japanese", {})[page_name] = {"errors": log.errors, "foreign_requests": log.foreign,
                                                        "widgets": widgets}
        assert not log.foreign, f"requests to another host: {log.foreign}"
        assert not log.errors, "\n".join(log.errors)
        test_site.follow_language_switch(page, server, page_name, "en")
    finally:
        page.close()


@test_site.browser_test
@pytest.mark.book
@pytest.mark.browser
def test_japanese_search_finds_the_matching_chapter(browser_context, server: str) -> None:
    context, report = browser_context
    page = context.new_page()
    log = test_site.PageLog(page, urlsplit(server).netloc)
    try:
        page.goto(server + f"{JA}/search.html?q=傾向スコア", wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li').length > 0")
        results = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
        report["search_ja"] = {"term": "傾向スコア", "results": results}
        assert any(f"/{JA}/notebooks/matching.html" in url for url in results), results
        assert not log.foreign and not log.errors, log.foreign + log.errors
    finally:
        page.close()


