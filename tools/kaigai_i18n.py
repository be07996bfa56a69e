"""Sphinx extension for the kaigai book: the Japanese edition (日本語版), built from the same sources.

Loaded by ``_config.yml`` (``sphinx.local_extensions``). One source, two editions:

* **English** (``_build/html/``) is the book as written. **Japanese** (``_build/html/ja/``) is the same
  sources built with ``KAIGAI_LANGUAGE=ja``: Sphinx's own internationalisation replaces every prose
  message by its translation from the gettext catalogs ``locales/ja/LC_MESSAGES/<page>.po`` (one catalog
  per page, ``gettext_compact = False``); code, outputs, figures and numbers are the English build's, read
  from the same execution cache (``KAIGAI_EXECUTION_CACHE``), so no chapter runs twice.
* ``make gettext`` extracts the messages (``_build/gettext/*.pot``); ``make update-po`` merges them into
  the catalogs with ``sphinx-intl update``: a new message arrives untranslated, a changed one arrives
  *fuzzy* with the old translation as a suggestion. A fuzzy or untranslated message shows in English in the
  Japanese edition, and the status page (directive ``kaigai-translation-coverage``) shows the coverage of
  every page; ``tests/test_i18n.py`` fails when any page of the table of contents has an untranslated or
  fuzzy message (the translation is complete and must stay so).
* **Japanese search.** Sphinx indexes the Japanese edition with its own TinySegmenter (``sphinx.search.ja``,
  nothing downloaded), but its search page splits a query only at spaces and punctuation, so 傾向スコア would be
  one word the index does not have. ``japanese_splitter_js`` gives the search page the same segmenter, written
  out from the model tables of Sphinx's Python one, so a query is split as the pages were.
* Every page links to its twin in the other language (a header button, which opens the twin in the same tab,
  and ``<link rel="alternate">``).
* **Widgets** show their texts in the page's language: a page with widgets carries the widget catalog of its
  edition (``locales/<lang>/LC_MESSAGES/widgets.po``, see ``kaigai_lib.teaching.static_widgets``). ``make gettext``
  collects every text the built English site's widgets show into ``widgets.pot`` (:func:`write_widget_pot`), so
  ``make update-po`` turns a changed one fuzzy like any page's; the status page lists the catalog's coverage.
* **Glue in translated paragraphs.** Sphinx parses a translated paragraph as a new, separate document,
  which has none of the notebook's glued outputs, so every ``{glue:text}`` in it would fail ("No key ... found
  in glue data"). ``_glue_from_the_page`` lets such a document read the glue data of its page.
  A glued value that is a word or a phrase ("rose", "China") rather than a number is a message of its own:
  ``make gettext`` adds it to the page's catalog (read from the execution cache), and the Japanese edition
  pastes its translation (``GluedWords``); numbers are pasted as they are. Glue a phrase as a str and paste it
  with ``{glue:text}``: ``{glue:md}`` cannot render in a translated paragraph.
* Cell outputs are the English build's in both editions, like code and figures: their text is no message
  (``OutputsAreNotMessages``), so a Markdown output naming a local path cannot enter a catalog.
* **The API reference** (``book/api/``) shows the library's docstrings, in English in both editions: only the
  pages' own prose is translated. ``make gettext`` gives a message that comes from a docstring (autodoc) or from
  an autosummary table a location comment naming the Python file (``#: ../kaigai_lib/estimators/did.py``) or
  the table (``#: ../book/api/estimators.md#autosummary``), and no other message a location (no line numbers:
  an edit elsewhere changes no catalog entry); the coverage counts only the messages without such a comment
  (:func:`from_docstrings`).
* Glossary terms are kept in their bilingual form "English (日本語)" in the catalogs (msgstr = msgid): the
  ``{term}`` references of every page name them so, and Sphinx skips a message whose translation equals
  it, so the glossary's anchors stay those of the English edition.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from kaigai_site import add_header_buttons  # a sibling extension in tools/ (both are local_extensions)
from sphinx.application import Sphinx
from sphinx.builders.gettext import Catalog, Message
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "locales"
SOURCE_LANGUAGE = "en"
# language -> (folder of its edition under the English site, label of the switch that leads to it)
EDITIONS: dict[str, tuple[str, str]] = {"en": ("", "English"), "ja": ("ja/", "日本語")}
# locales/<lang>/LC_MESSAGES/widgets.po: the texts widgets show (kaigai_lib.teaching.static_widgets)
WIDGET_CATALOG = "widgets"
# extensions whose interface messages come from their own catalogs (translations/locales/ in the package)
EXTENSION_CATALOGS = ("sphinx_exercise", "sphinx_togglebutton")


def edition_language() -> str:
    """The language of this build: ``KAIGAI_LANGUAGE`` (default English)."""
    language = (os.environ.get("KAIGAI_LANGUAGE") or SOURCE_LANGUAGE).strip().lower()
    if language not in EDITIONS:
        raise ExtensionError(f"KAIGAI_LANGUAGE must be one of {', '.join(EDITIONS)} (got {language!r})")
    return language


# --------------------------------------------------------------------------------------------------
# Translation coverage, read from the catalogs


@dataclass(frozen=True)
class Coverage:
    """The messages of one page's catalog."""

    page: str
    total: int
    translated: int
    fuzzy: int

    @property
    def untranslated(self) -> int:
        return self.total - self.translated - self.fuzzy

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.translated == self.total

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 0.0


def catalog_path(page: str, language: str = "ja", locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{page}.po"


# where a message of the API reference comes from: a docstring (autodoc's source "<file>.py:docstring of <name>")
# or an autosummary table (its rows' source "<page>:<line>:<autosummary>")
_DOCSTRING_SOURCE = re.compile(r"^(?P<file>.+?\.py):docstring of ")
_AUTOSUMMARY_SOURCE = re.compile(r"^(?P<file>.+?):\d+:<autosummary>$")
AUTOSUMMARY_MARK = "#autosummary"


def api_location(source: str | None) -> str | None:
    """The location ``make gettext`` writes for a message from a docstring (the Python file) or an autosummary
    table (``<page>#autosummary``), without a line number; None for any other message."""
    match = _DOCSTRING_SOURCE.match(source or "")
    if match:
        return match["file"]
    match = _AUTOSUMMARY_SOURCE.match(source or "")
    return f"{match['file']}{AUTOSUMMARY_MARK}" if match else None


def from_docstrings(message: Any) -> bool:
    """A catalog message (babel) that comes only from docstrings or autosummary tables: it stays English."""
    files = [filename for filename, _ in message.locations]
    return bool(files) and all(f.endswith((".py", AUTOSUMMARY_MARK)) for f in files)


def page_coverage(page: str, language: str = "ja", locale_dir: Path = LOCALE_DIR) -> Coverage:
    """Messages of ``page`` (a docname such as ``notebooks/matching``): total, translated, fuzzy.

    A page with no catalog has no translated message; its total is then unknown (0) and it is not complete.
    """
    from babel.messages.pofile import read_po

    path = catalog_path(page, language, locale_dir)
    if not path.exists():
        return Coverage(page, 0, 0, 0)
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, abort_invalid=True)
    except Exception as error:  # babel raises its own PoFileError and ValueErrors
        raise ExtensionError(f"{path}: not a readable gettext catalog ({error}); fix the file or restore it "
                             f"with `git checkout {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}`"
                             ) from error
    # the header has an empty id; docstrings stay English in both editions
    messages = [m for m in catalog if m.id and not from_docstrings(m)]
    fuzzy = sum(1 for m in messages if m.fuzzy)
    translated = sum(1 for m in messages if not m.fuzzy and m.string and
                     (all(m.string) if isinstance(m.string, tuple) else True))
    return Coverage(page, len(messages), translated, fuzzy)



class TranslationCoverage(Directive):
    """``{kaigai-translation-coverage}``: a table of the Japanese edition's coverage, page by page."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        pages = [doc for doc in env.found_docs if doc in _toc_order(env)]
        pages.sort(key=_toc_order(env).index)
        rows = [page_coverage(page) for page in [*pages, WIDGET_CATALOG]]
        total = Coverage("all", sum(r.total for r in rows), sum(r.translated for r in rows),
                         sum(r.fuzzy for r in rows))
        header = ["Page", "Messages", "Translated", "Fuzzy", "Untranslated", "Coverage"]
        body = [[r.page, str(r.total), str(r.translated), str(r.fuzzy), str(r.untranslated),
                 f"{r.percent:.0f} %"] for r in [*rows, total]]
        table = nodes.table(classes=["kaigai-translation-coverage"])
        group = nodes.tgroup(cols=len(header))
        table += group
        group.extend(nodes.colspec(colwidth=1) for _ in header)
        group += nodes.thead("", _row(header))
        group += nodes.tbody("", *(_row(cells) for cells in body))
        return [table]


def _row(cells: list[str]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", nodes.paragraph(text=cell))
    return row


def _toc_order(env: Any) -> list[str]:
    """Docnames in the order of the table of contents (sphinx-external-toc's site map)."""
    site_map = getattr(env, "external_site_map", None)
    if site_map is None:
        return sorted(env.found_docs)
    return [site_map.root.docname, *(name for name in site_map if name != site_map.root.docname)]


def _status_page_outdated(app: Sphinx, env: Any, added: set, changed: set, removed: set) -> list[str]:
    """Re-read every page with a coverage table on every build: the catalogs change without its source."""
    return [doc for doc in env.found_docs if doc in getattr(env, "kaigai_coverage_pages", set())]


def _translate_toc_captions(app: Sphinx, doctree: nodes.document) -> None:
    """The part captions of the table of contents, in this edition's language.

    sphinx-external-toc inserts the toctrees (priority 100) after Sphinx has translated the page (20), so their
    captions, extracted into the root page's catalog, are translated here.
    """
    from sphinx import addnodes

    if app.config.kaigai_language == SOURCE_LANGUAGE:
        return
    translations = _translations(app.env.docname, app.config.kaigai_language)
    for toctree in doctree.findall(addnodes.toctree):
        caption = toctree.get("caption")
        if caption and translations.get(caption):
            toctree["caption"] = toctree["rawcaption"] = translations[caption]


def _note_coverage_page(app: Sphinx, doctree: nodes.document) -> None:
    if any(isinstance(n, nodes.table) and "kaigai-translation-coverage" in n["classes"]
           for n in doctree.findall(nodes.table)):
        if not hasattr(app.env, "kaigai_coverage_pages"):
            app.env.kaigai_coverage_pages = set()
        app.env.kaigai_coverage_pages.add(app.env.docname)


# --------------------------------------------------------------------------------------------------
# Widgets: their texts, extracted from the built site; the catalog of the page's language in the page

_WIDGET_STATE = re.compile(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)
_KAIGAI_WIDGET = re.compile(r'<script type="application/vnd\.kaigai-widget\+json">(.*?)</script>', re.S)


def page_widget_states(page_html: str) -> list[dict[str, Any]]:
    """The saved state of every kaigai widget in a built page (a chapter's and the {kaigai-exercise} ones)."""
    states = []
    for block in _WIDGET_STATE.findall(page_html):
        for model in json.loads(block).get("state", {}).values():
            state = model.get("state", {})
            if isinstance(state.get("setup"), dict) and state["setup"].get("kaigai"):
                states.append(state)
    states += [json.loads(block)["state"] for block in _KAIGAI_WIDGET.findall(page_html)]
    return states


def site_widget_messages(site: Path) -> dict[str, list[str]]:
    """Every text the widgets of a built (English) site show, with the pages that show it; first the texts of
    widget.js itself and the view templates of the library (``ui_messages``, ``library_messages`` of
    ``kaigai_lib.teaching.static_widgets``), which a widget may show in Jupyter only, and the texts of an exercise's
    intro (``intro_messages`` of ``kaigai_lib.exercises.pages``)."""
    from kaigai_lib.exercises.pages import intro_messages
    from kaigai_lib.teaching.static_widgets import library_messages, ui_messages, widget_messages

    found: dict[str, list[str]] = {text: ["kaigai_lib/static/widget.js"] for text in ui_messages()}
    for text, module in library_messages().items():
        found.setdefault(text, [module])
    for text in intro_messages():  # the intro of an exercise's page, written by Python in the page's language
        found.setdefault(text, ["kaigai_lib/exercises/pages.py"])
    for path in sorted(site.rglob("*.html")):
        if path.relative_to(site).parts[0] in {"ja", "_static", "_sources"}:
            continue
        page = path.relative_to(site).with_suffix("").as_posix()
        for state in page_widget_states(path.read_text(encoding="utf-8")):
            for text in widget_messages(state):
                if page not in found.setdefault(text, []):
                    found[text].append(page)
    return found


def write_widget_pot(site: Path, out: Path) -> int:
    """``widgets.pot``: the widget texts of the built English site ``site``; returns how many."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(project="kaigai", header_comment="# The texts kaigai's widgets show (make gettext).")
    messages = site_widget_messages(site)
    for text, pages in messages.items():
        catalog.add(text, locations=[(page, 0) for page in pages])
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, include_lineno=False)
    return len(messages)


def _page_widget_messages(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """A page with widgets carries the widget catalog of its edition's language (read by widget.js)."""
    from kaigai_lib.teaching.static_widgets import MIME_TYPE, messages_script

    body = context.get("body", "")
    if "application/vnd.jupyter.widget-view+json" not in body and MIME_TYPE not in body:
        return
    context["body"] = f"{body}\n{messages_script(app.config.kaigai_language, LOCALE_DIR)}\n"


# --------------------------------------------------------------------------------------------------
# Configuration and the language switch


def _config_inited(app: Sphinx, config: Config) -> None:
    language = edition_language()
    config.locale_dirs = [str(LOCALE_DIR)]
    config.gettext_compact = False  # one catalog per page, so coverage and staleness are per page
    # locations only for the API reference's docstring messages, without line numbers (ApiLocations)
    config.gettext_location = True
    config.gettext_uuid = False
    config.kaigai_language = language
    cache = os.environ.get("KAIGAI_EXECUTION_CACHE", "").strip()
    if cache:  # the Japanese edition reads the English build's executed outputs
        config.nb_execution_cache_path = str(Path(cache).resolve())
    if language == "ja":
        from sphinx.search.ja import SearchJapanese

        SearchJapanese.js_splitter_code = japanese_splitter_js()
    if language != SOURCE_LANGUAGE:
        # the book's title (the root page's title in _config.yml) heads every page: take the root page's translation
        import yaml

        root = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
        config.html_title = _translations(root, language).get(config.html_title) or config.html_title
    if language != config.language:
        config.language = language
        # Sphinx loaded its own interface messages (search, "Contents" …), and the extensions theirs ("Exercise",
        # "Solution to", "Click to show"), for the configured language before this extension ran: load them
        # again for this edition's
        app._init_i18n()
        from sphinx import locale

        for module_name in EXTENSION_CATALOGS:
            module = sys.modules.get(module_name)
            if module is not None:
                folder = Path(module.__file__).parent / "translations" / "locales"
                locale.init([str(folder)], language, module.MESSAGE_CATALOG_NAME)


def japanese_splitter_js() -> str:
    """``splitQuery`` for the search page: Sphinx's Japanese TinySegmenter (``sphinx.search.ja.DefaultSplitter``),
    its model tables copied from the Python class, so the query is split exactly as the index was."""
    from sphinx.search.ja import DefaultSplitter

    tables = {name.removesuffix("__"): value for name, value in vars(DefaultSplitter).items()
              if name.endswith("__") and not name.startswith("_") and isinstance(value, dict | int)}
    patterns = [[pattern.pattern, value] for pattern, value in DefaultSplitter.patterns_.items()]
    model = json.dumps({"tables": tables, "patterns": patterns}, ensure_ascii=False, sort_keys=True)
    return JAPANESE_SPLITTER_JS.replace("MODEL", model)


# the loop of sphinx.search.ja.DefaultSplitter.split, line by line (its UQ1 term for p3 included)
JAPANESE_SPLITTER_JS = """var splitQuery = (function () {
  const model = MODEL;
  const t = model.tables;
  const patterns = model.patterns.map(([source, type]) => [new RegExp("^" + source, "u"), type]);
  const ctype = (ch) => { for (const [re, type] of patterns) if (re.test(ch)) return type; return "O"; };
  const ts = (table, key) => (table[key] || 0);
  function segment(input) {
    if (!input) return [];
    const chars = Array.from(input);
    const seg = ["B3", "B2", "B1", ...chars, "E1", "E2", "E3"];
    const ct = ["O", "O", "O", ...chars.map(ctype), "O", "O", "O"];
    const result = [];
    let word = seg[3], p1 = "U", p2 = "U", p3 = "U";
    for (let i = 4; i < seg.length - 3; i++) {
      const [w1, w2, w3, w4, w5, w6] = seg.slice(i - 3, i + 3);
      const [c1, c2, c3, c4, c5, c6] = ct.slice(i - 3, i + 3);
      let score = t.BIAS;
      score += ts(t.UP1, p1) + ts(t.UP2, p2) + ts(t.UP3, p3) + ts(t.BP1, p1 + p2) + ts(t.BP2, p2 + p3);
      score += ts(t.UW1, w1) + ts(t.UW2, w2) + ts(t.UW3, w3) + ts(t.UW4, w4) + ts(t.UW5, w5) + ts(t.UW6, w6);
      score += ts(t.BW1, w2 + w3) + ts(t.BW2, w3 + w4) + ts(t.BW3, w4 + w5);
      score += ts(t.TW1, w1 + w2 + w3) + ts(t.TW2, w2 + w3 + w4) + ts(t.TW3, w3 + w4 + w5) + ts(t.TW4, w4 + w5 + w6);
      score += ts(t.UC1, c1) + ts(t.UC2, c2) + ts(t.UC3, c3) + ts(t.UC4, c4) + ts(t.UC5, c5) + ts(t.UC6, c6);
      score += ts(t.BC1, c2 + c3) + ts(t.BC2, c3 + c4) + ts(t.BC3, c4 + c5);
      score += ts(t.TC1, c1 + c2 + c3) + ts(t.TC2, c2 + c3 + c4) + ts(t.TC3, c3 + c4 + c5) + ts(t.TC4, c4 + c5 + c6);
      score += ts(t.UQ1, p1 + c1) + ts(t.UQ2, p2 + c2) + ts(t.UQ1, p3 + c3);
      score += ts(t.BQ1, p2 + c2 + c3) + ts(t.BQ2, p2 + c3 + c4) + ts(t.BQ3, p3 + c2 + c3) + ts(t.BQ4, p3 + c3 + c4);
      score += ts(t.TQ1, p2 + c1 + c2 + c3) + ts(t.TQ2, p2 + c2 + c3 + c4);
      score += ts(t.TQ3, p3 + c1 + c2 + c3) + ts(t.TQ4, p3 + c2 + c3 + c4);
      let p = "O";
      if (score > 0) { result.push(word.trim()); word = ""; p = "B"; }
      p1 = p2; p2 = p3; p3 = p;
      word += seg[i];
    }
    result.push(word.trim());
    return result;
  }
  // the index keeps words of two characters or more (SearchJapanese.word_filter)
  return (query) => segment(query).filter((word) => Array.from(word).length > 1);
})();"""


def _builder_inited(app: Sphinx) -> None:
    if app.builder.name == "gettext":
        # message extraction needs the prose only: read outputs from the cache, never run a chapter for it
        # (with KAIGAI_EXECUTION_CACHE, as `make gettext` sets it, the glued words are read from the cache too)
        app.config.nb_execution_mode = "off" if not os.environ.get("KAIGAI_EXECUTION_CACHE") else "cache"
        app.builder.catalogs = defaultdict(ApiLocations)


class ApiLocations(Catalog):
    """A page's catalog (gettext builder) whose messages carry a location only when every occurrence comes from a
    docstring or an autosummary table (:func:`api_location`)."""

    def __iter__(self) -> Iterator[Message]:
        for message in super().__iter__():
            locations = [api_location(source) for source, _ in message.locations]
            message.locations = sorted({(loc, 0) for loc in locations}) if locations and all(locations) else []
            yield message


def twin_url(pagename: str, language: str, target: str) -> str:
    """Relative URL, from ``pagename`` of the ``language`` edition, of the same page in ``target``'s."""
    up = "../" * pagename.count("/")
    here, there = EDITIONS[language][0], EDITIONS[target][0]
    to_english_root = up + "../" * here.count("/")
    return f"{to_english_root}{there}{pagename}.html"


# the theme renders every header link with target="_blank": the language switch should navigate, not open a tab
_SWITCH_IN_NEW_TAB = re.compile(r'(<a href="[^"]*") target="_blank"(\s+class="btn btn-sm btn-language-switch-)')


def switch_in_same_tab(page_html: str) -> str:
    """A built page whose language switch opens the twin in the same tab."""
    return _SWITCH_IN_NEW_TAB.sub(r"\1\2", page_html)


def _switch_links_in_same_tab(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        fixed = switch_in_same_tab(text)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")


def _page_language_switch(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """A header button and ``<link rel="alternate">`` to the page's twin in every other edition."""
    language = app.config.kaigai_language
    others = [lang for lang in EDITIONS if lang != language]
    links = "".join(f'<link rel="alternate" hreflang="{lang}" href="{twin_url(pagename, language, lang)}" />\n'
                    for lang in others)
    context["metatags"] = context.get("metatags", "") + links
    add_header_buttons(context, tooltip="Language / 言語", icon="fas fa-language", label="language-switch",
                       buttons=[{"text": EDITIONS[lang][1],
                                 "tooltip": {"en": "Read this page in English", "ja": "このページを日本語で読む"}[lang],
                                 "icon": "fas fa-language", "url": twin_url(pagename, language, lang),
                                 "label": f"language-switch-{lang}"} for lang in others])


# --------------------------------------------------------------------------------------------------
# Cell outputs are shared, not translated


class OutputsAreNotMessages(SphinxTransform):
    """Text in a cell's output (a Markdown output, such as the productivity chapter's note naming the path where
    it looked for the reference file) is the English build's, shared by both editions like code, tables and
    figures: not a message. Extracted, it would be one that changes from machine to machine."""

    default_priority = 15  # before Sphinx translates the page (Locale, 20)

    def apply(self, **kwargs: Any) -> None:
        for output in self.document.findall(nodes.container):
            if "cell_output" in output["classes"]:
                for node in output.findall(nodes.TextElement):
                    node["translatable"] = False


# --------------------------------------------------------------------------------------------------
# Glue in translated paragraphs

def _page_glue_data(env: Any) -> dict[str, Any]:
    """The glue data of the page being read, which myst-nb wrote next to its executed notebook
    (``<docname>.glue.json`` in its output folder) before Sphinx translates the page."""
    folder = Path(env.mystnb_config.output_folder)
    path = folder.joinpath(*env.docname.split("/")[:-1], env.docname.split("/")[-1] + ".glue.json")
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _glue_from_the_page(retrieve):
    """myst-nb's ``retrieve_glue_data``, for a translated paragraph too.

    Sphinx parses a translated paragraph as a document of its own, named "<page>:<line>:<translated>", with
    the MyST parser: it has no notebook, hence no glue data. Read the page's. (``{glue:text}`` needs only the
    data; ``{glue:md}``, which renders through the notebook's renderer, is not supported in a translation: myst-nb
    stops with an AttributeError. Glue a phrase as a str and paste it with ``{glue:text}``: it is then a glued
    word, translated by ``GluedWords``.)
    """

    def retrieve_glue_data(document: nodes.document, key: str):
        env = getattr(document.settings, "env", None)
        if env is not None and str(document.get("source", "")).endswith(":<translated>"):
            data = _page_glue_data(env)
            if key in data:
                from myst_nb.core.variables import VariableOutput

                return VariableOutput(data=data[key]["data"], metadata=data[key].get("metadata", {}),
                                      nb_renderer=document.get("nb_renderer"), vtype="glue")
        return retrieve(document, key)

    retrieve_glue_data.kaigai_wrapped = True
    return retrieve_glue_data


def _patch_glue() -> None:
    from myst_nb.ext.glue import directives, roles

    for module in (roles, directives):
        if hasattr(module, "retrieve_glue_data") and not getattr(module.retrieve_glue_data, "kaigai_wrapped", False):
            module.retrieve_glue_data = _glue_from_the_page(module.retrieve_glue_data)


_WORD = re.compile(r"[A-Za-z]{2,}")


def glued_words(doctree: nodes.Node) -> list[nodes.inline]:
    """Glued values that are words or phrases, not numbers: they need a translation."""
    return [node for node in doctree.findall(nodes.inline)
            if "pasted-text" in node["classes"] and _WORD.search(node.astext())]


def glued_text(node: nodes.inline) -> str:
    """A glued word's message: the value as glued (the role's raw text). The English edition's smart quotes turn
    "kit's" into "kit’s" in the page, the Japanese edition's do not (Sphinx excludes ja), so the page's text
    would be a different message in each edition."""
    return node.rawsource or node.astext()


class GluedWords(SphinxPostTransform):
    """Glued words: extracted as messages of their page (gettext builder), translated in other editions."""

    default_priority = 900

    def run(self, **kwargs: Any) -> None:
        words = glued_words(self.document)
        if not words:
            return
        if self.app.builder.name == "gettext":
            from sphinx.builders.gettext import MsgOrigin
            from sphinx.util.i18n import docname_to_domain

            catalog = self.app.builder.catalogs[docname_to_domain(self.env.docname, self.config.gettext_compact)]
            for node in words:
                catalog.add(glued_text(node), MsgOrigin(node.source or self.env.doc2path(self.env.docname), 0))
            return
        if self.config.kaigai_language == SOURCE_LANGUAGE:
            return
        translations = _translations(self.env.docname, self.config.kaigai_language)
        for node in words:
            translated = translations.get(glued_text(node))
            if translated:
                node.replace(node.children[0], nodes.Text(translated)) if node.children else None
                node["classes"].append("kaigai-translated")


@functools.cache
def _translations(page: str, language: str) -> dict[str, str]:
    """The finished (not fuzzy) translations of a page's catalog."""
    from babel.messages.pofile import read_po

    path = catalog_path(page, language)
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and m.string and not m.fuzzy
                and isinstance(m.string, str)}


def setup(app: Sphinx) -> dict[str, Any]:
    _patch_glue()
    app.add_post_transform(GluedWords)
    app.add_transform(OutputsAreNotMessages)
    app.add_config_value("kaigai_language", SOURCE_LANGUAGE, "env", [str])
    app.connect("config-inited", _config_inited, priority=100)
    app.connect("builder-inited", _builder_inited, priority=100)  # before myst-nb reads its config (500)
    app.add_directive("kaigai-translation-coverage", TranslationCoverage)
    app.connect("env-get-outdated", _status_page_outdated)
    app.connect("doctree-read", _note_coverage_page)
    app.connect("doctree-read", _translate_toc_captions)
    app.connect("html-page-context", _page_language_switch, priority=950)  # after the theme's buttons (501)
    app.connect("html-page-context", _page_widget_messages, priority=960)
    app.connect("build-finished", _switch_links_in_same_tab)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """``python tools/kaigai_i18n.py widgets-pot SITE OUT``: write the widget texts of a built site to OUT."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "widgets-pot":
        print("usage: python tools/kaigai_i18n.py widgets-pot <built English site, e.g. _build/html> <out.pot>",
              file=sys.stderr)
        return 2
    site, out = Path(args[1]), Path(args[2])
    if not (site / "index.html").exists():
        print(f"{site}: not a built site (no index.html); run `make book` first", file=sys.stderr)
        return 1
    print(f"{out}: {write_widget_pot(site, out)} widget texts")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
