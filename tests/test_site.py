"""The published site: links, offline assets, status page, notebooks to download and launch, course builds,
and every page of the table of contents in a real browser (Debian's Chromium, driven by Playwright).

The public build and the course build (no solutions) are the session fixtures `built_site` and
`course_site` (tests/conftest.py). Browser tests need /usr/bin/chromium (`apt-get install chromium`,
which .ci/run does) and the `playwright` Python package (requirements.lock; it never downloads a browser
here); without them they are skipped, saying so (KAIGAI_CHROMIUM=<path> picks another Chromium).
Screenshots of every page go to tests/artifacts/screenshots/, and what each page requested, typeset and
rendered to tests/artifacts/browser-report.json. KAIGAI_TEST_SITE / KAIGAI_TEST_COURSE_SITE=<html folder>
reuse existing builds instead of building (for quick iterations).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import sys
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jupytext
import nbformat
import pytest
import snowballstemmer
from bs4 import BeautifulSoup
from conftest import CHROMIUM, TEST_REPOSITORY
from test_book import _toc_files
from widget_driver import drive_widgets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import kaigai_site  # noqa: E402

ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
SEARCH_TERM = "propensity"

PAGES = _toc_files()
CHAPTERS = [page for page in PAGES if page.startswith(kaigai_site.CHAPTER_PREFIX)]
# pages Sphinx makes besides the toc's (index.html only redirects to the root page; py-modindex: the API
# reference's module index)
GENERATED_PAGES = ["genindex", "py-modindex", "search"]


def _is_notebook(page: str) -> bool:
    """A toc page whose source is a notebook (executed at build time)."""
    source = ROOT / f"{page}.md"
    if not source.exists():
        return (ROOT / f"{page}.ipynb").exists()
    text = source.read_text(encoding="utf-8")
    return text.startswith("---") and "kernelspec:" in text.split("---", 2)[1]


def _html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------------------------------
# Links and assets (static checks of the built HTML)

RESOURCE_ATTRIBUTES = {"img": "src", "script": "src", "iframe": "src", "source": "src", "video": "src",
                       "audio": "src", "embed": "src", "link": "href"}


@functools.cache
def _anchors(page: Path) -> frozenset[str]:
    soup = _soup(page)
    return frozenset([tag["id"] for tag in soup.find_all(id=True)]
                     + [tag["name"] for tag in soup.find_all("a", attrs={"name": True})])


def broken_links(site: Path) -> list[str]:
    """Every internal href/src of every page that does not resolve to a file (and an anchor in it)."""
    site = site.resolve()
    broken = []
    for page in _html_pages(site):
        soup = _soup(page)
        for tag in soup.find_all(["a", *RESOURCE_ATTRIBUTES]):
            url = tag.get("href" if tag.name in {"a", "link"} else "src")
            if not url:
                continue
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue  # another host (or mailto:, javascript:, data:): not an internal link
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            where = f"{page.relative_to(site)}: {url}"
            if not target.is_relative_to(site):
                broken.append(f"{where} (outside the site)")
            elif target.is_dir():
                if not (target / "index.html").exists():
                    broken.append(f"{where} (a folder without index.html)")
            elif not target.exists():
                broken.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _anchors(target):
                broken.append(f"{where} (no such anchor)")
    return broken


@pytest.mark.book
def test_no_broken_internal_link_or_anchor(built_site: Path) -> None:
    broken = broken_links(built_site)
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:50])


@pytest.mark.book
def test_no_broken_internal_link_in_the_course_build(course_site: Path) -> None:
    broken = broken_links(course_site)
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:50])


@pytest.mark.book
def test_pages_load_nothing_from_another_host(built_site: Path) -> None:
    """No script, style sheet, image or frame comes from another host (links to other sites are fine)."""
    remote = []
    for page in _html_pages(built_site):
        for tag in _soup(page).find_all(list(RESOURCE_ATTRIBUTES)):
            url = tag.get(RESOURCE_ATTRIBUTES[tag.name]) or ""
            if tag.name == "link" and not {"stylesheet", "preload", "modulepreload", "icon", "prefetch"} \
                    & set(tag.get("rel", [])):
                continue
            if urlsplit(url).scheme in {"http", "https"} or url.startswith("//"):
                remote.append(f"{page.relative_to(built_site)}: <{tag.name}> {url}")
    for sheet in (built_site / "_static").rglob("*.css"):
        css = re.sub(r"/\*.*?\*/", "", sheet.read_text(encoding="utf-8", errors="replace"), flags=re.S)
        found = re.findall(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)|@import\s+['\"](?:https?:)?//[^'\"]*", css)
        remote += [f"{sheet.relative_to(built_site)}: {m}" for m in found]
    assert not remote, "\n".join(remote)


@pytest.mark.book
def test_maths_and_widget_manager_are_served_by_the_site(built_site: Path) -> None:
    html = (built_site / "notebooks" / "productivity.html").read_text(encoding="utf-8")
    assert 'src="../_static/vendor/mathjax/tex-mml-chtml.js"' in html
    for page in _html_pages(built_site):
        text = page.read_text(encoding="utf-8")
        if "application/vnd.jupyter.widget-state+json" in text:
            assert "_static/vendor/requirejs/require.js" in text, page
            assert "_static/vendor/@jupyter-widgets/html-manager/dist/embed-amd.js" in text, page
            assert '"paths": {"anywidget": "anywidget/index"}' in text, page  # require.js finds anywidget here
        if "application/vnd.kaigai-widget+json" in text:
            assert f"_static/{kaigai_site.WIDGET_HOST}" in text, page
    static = built_site / "_static" / "vendor"
    assert (static / "anywidget" / "index.js").is_file() and (static / "anywidget" / "LICENSE").is_file()
    assert (static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()  # MathJax's own fonts


# --------------------------------------------------------------------------------------------------
# Status page


@pytest.mark.book
def test_status_page_lists_every_chapter_and_the_versions(built_site: Path) -> None:
    soup = _soup(built_site / "book" / "status.html")
    tables = soup.select("article table")
    execution = next(t for t in tables if "Run Time" in t.get_text())
    rows = {}
    for tr in execution.select("tbody tr"):
        cells = [_normal(td.get_text()) for td in tr.find_all("td")]
        rows[cells[0]] = cells
    notebooks = [page for page in PAGES if _is_notebook(page)]
    assert set(CHAPTERS) <= set(notebooks)
    for page in notebooks:
        assert page in rows, f"{page} is missing from the execution table"
        assert rows[page][-1] == "✅", rows[page]
        float(rows[page][3])  # run time in seconds
    versions = _normal(next(t for t in tables if "Run Time" not in t.get_text()).get_text(" "))
    for package in ("kaigai_lib", "jupyter-book", "myst-nb", "numpy", "pandas"):
        assert f"{package} {metadata.version(package)}" in versions, package
    lock = json.loads((ROOT / "tools" / "web" / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    for package in ("mathjax", "requirejs", "@jupyter-widgets/html-manager", "anywidget"):
        assert f"{package} {lock[f'node_modules/{package}']['version']}" in versions, package


# --------------------------------------------------------------------------------------------------
# Notebooks to download and launch


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_offers_its_notebook_with_an_install_cell_and_colab(built_site: Path, chapter: str) -> None:
    soup = _soup(built_site / f"{chapter}.html")
    download = soup.select_one("a.btn-download-notebook-button")
    assert download is not None and download["href"].endswith(f"_sources/{chapter}.ipynb")
    notebook = nbformat.read(built_site / "_sources" / f"{chapter}.ipynb", as_version=4)
    nbformat.validate(notebook)
    install = [cell for cell in notebook.cells if kaigai_site.INSTALL_TAG in cell.metadata.get("tags", [])]
    assert [cell.cell_type for cell in install] == ["markdown", "code"]
    assert notebook.cells.index(install[1]) < next(
        i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and cell is not install[1])
    assert f"git+https://github.com/{TEST_REPOSITORY}" in install[1].source
    source_code = [c.source for c in jupytext.read(ROOT / f"{chapter}.md").cells if c.cell_type == "code"]
    assert [c.source for c in notebook.cells if c.cell_type == "code"] == [install[1].source, *source_code]
    colab = soup.select_one("a.btn-colab-button")
    assert colab is not None and colab["href"] == kaigai_site.colab_url(TEST_REPOSITORY, chapter)
    assert colab["href"].endswith(f"/blob/{kaigai_site.NOTEBOOKS_BRANCH}/_sources/{chapter}.ipynb")


def _run_install_cell(source: str, have_library: bool) -> list[tuple[str, str]]:
    """Run the install cell as IPython would, with a fake `get_ipython` that records magics."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls: list[tuple[str, str]] = []

    class FakeShell:
        def run_line_magic(self, name: str, line: str) -> None:
            calls.append((name, line))

    saved = {name: sys.modules.get(name) for name in ("kaigai_lib", "google", "google.colab")}
    try:
        if not have_library:
            sys.modules["kaigai_lib"] = None  # type: ignore[assignment]  # import raises ImportError
        sys.modules["google"] = sys.modules["google.colab"] = None  # type: ignore[assignment]  # not Colab
        exec(TransformerManager().transform_cell(source), {"get_ipython": FakeShell})
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return calls


def test_install_cell_installs_the_library_only_where_it_is_missing() -> None:
    source = kaigai_site.install_cell_source("owner/kaigai", "0123abc")
    assert _run_install_cell(source, have_library=True) == []
    calls = _run_install_cell(source, have_library=False)
    assert calls == [("pip", 'install --quiet "kaigai_lib @ git+https://github.com/owner/kaigai@0123abc" '
                             '"myst-nb>=1.1"')]
    without_repository = kaigai_site.install_cell_source("")
    assert _run_install_cell(without_repository, have_library=True) == []
    with pytest.raises(ImportError, match="built without a repository address"):
        _run_install_cell(without_repository, have_library=False)


def test_repository_setting_is_one_owner_name_value(monkeypatch: pytest.MonkeyPatch) -> None:
    class Config:
        kaigai_repository = ""

    monkeypatch.delenv("KAIGAI_REPOSITORY", raising=False)
    assert kaigai_site.repository(Config()) == ""
    monkeypatch.setenv("KAIGAI_REPOSITORY", "https://github.com/owner/name.git")
    assert kaigai_site.repository(Config()) == "owner/name"
    monkeypatch.setenv("KAIGAI_REPOSITORY", "not a repository")
    with pytest.raises(Exception, match="owner/name"):
        kaigai_site.repository(Config())


def test_every_version_specific_fix_matches_the_installed_package() -> None:
    # the pinned set (requirements.lock, package-lock.json) is the one each fix was written for
    for fix in kaigai_site.VERSION_FIXES:
        assert fix.installed() == fix.version, fix
    kaigai_site.check_versions()


@pytest.mark.parametrize("package", ["sphinx-exercise", "npm:mathjax"])
def test_an_upgrade_fails_naming_the_fix_and_both_versions(package: str) -> None:
    real = next(f for f in kaigai_site.VERSION_FIXES if f.package == package)
    stale = kaigai_site.VersionFix(package, "0.0.1", real.fix)
    with pytest.raises(kaigai_site.VersionMismatch) as caught:
        kaigai_site.check_versions((stale, real))
    message = str(caught.value)
    assert f"{package} {real.version} is installed" in message and "written for 0.0.1" in message
    assert real.fix in message and "VERSION_FIXES" in message
    assert message.count("\n") == 0  # only the stale fix is reported
    # a package that is not installed at all is left to the build's own error (e.g. `make` runs npm ci)
    kaigai_site.check_versions((kaigai_site.VersionFix("npm:not-a-package-kaigai", "1.0", "none"),))


# --------------------------------------------------------------------------------------------------
# Course build: no solutions anywhere


MYST_WITH_SOLUTIONS = """\
# Title

```{exercise}
:label: ex-a
Question A.
```

````{solution} ex-a
:class: dropdown
Answer A, with code:
```python
x = 1
```
````

```{exercise-start}
:label: ex-b
```
Question B.
```{exercise-end}
```

```{solution-start} ex-b
:class: dropdown
```
Answer B.
```{code-cell} ipython3
answer_b = 2
```
More of answer B.
```{solution-end}
```

After the exercises.
"""


def test_strip_solutions_from_myst_text() -> None:
    stripped = kaigai_site.strip_solutions_text(MYST_WITH_SOLUTIONS)
    assert "Answer" in MYST_WITH_SOLUTIONS
    assert "Answer" not in stripped and "answer_b" not in stripped and "x = 1" not in stripped
    assert "Question A." in stripped and "Question B." in stripped and "After the exercises." in stripped
    assert "{exercise-end}" in stripped


def test_downloadable_notebook_of_a_course_build_has_no_solution(tmp_path: Path) -> None:
    source = tmp_path / "chapter.md"
    source.write_text("---\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n" + MYST_WITH_SOLUTIONS)
    shown = kaigai_site.downloadable_notebook(source, "owner/kaigai", "", hide_solutions=False)
    assert any("answer_b" in cell.source for cell in shown.cells)
    hidden = kaigai_site.downloadable_notebook(source, "owner/kaigai", "", hide_solutions=True)
    text = "\n".join(cell.source for cell in hidden.cells)
    assert "Answer" not in text and "answer_b" not in text
    assert "Question B." in text and "After the exercises." in text
    assert hidden.cells[0].source.startswith("# Title")
    assert kaigai_site.INSTALL_TAG in hidden.cells[2].metadata["tags"] and hidden.cells[2].cell_type == "code"


def _solution_needles(site: Path) -> tuple[list[str], list[str], list[str], set[str]]:
    """Text only the solutions of the public build have: their paragraphs, their code lines, runs of plain
    words of their paragraphs (what the MyST sources have verbatim between markup), and the search terms
    (stemmed words) that appear in solutions and nowhere else."""
    stem = snowballstemmer.stemmer("porter").stemWord
    needles: list[str] = []
    code: list[str] = []
    solution_words: set[str] = set()
    other_text: list[str] = []
    for page in _html_pages(site):
        soup = _soup(page)
        for solution in soup.select("div.solution"):
            for block in solution.select("p, li, td"):
                text = _normal(block.get_text())
                if len(text) >= 40:
                    needles.append(text)
            for pre in solution.select("pre"):
                code += [_normal(line) for line in pre.get_text().splitlines() if len(line.strip()) >= 30]
            solution_words |= set(re.findall(r"\w+", solution.get_text().lower()))
            solution.decompose()
        other_text.append(_normal(soup.get_text(" ")))
    everywhere_else = " ".join(other_text)
    other_stems = {stem(word) for word in re.findall(r"\w+", everywhere_else.lower())}
    needles = [needle for needle in dict.fromkeys(needles) if needle not in everywhere_else]
    # a code line may also be in a cell the page does not show (remove-cell): looked for in pages only
    code = [line for line in dict.fromkeys(code) if line not in everywhere_else]
    runs = (run.strip(" ,") for needle in needles for run in re.split(r"[^\w\s,'’-]", needle))
    fragments = [run for run in dict.fromkeys(runs) if len(run.split()) >= 6 and run not in everywhere_else]
    stems = {stem(word) for word in solution_words if len(word) >= 4 and not word.isdigit()}
    return needles, code, fragments, stems - other_stems


def _search_terms(site: Path) -> set[str]:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    return set(index["terms"])


def _source_texts(site: Path) -> dict[str, str]:
    texts = {}
    for path in (site / "_sources").rglob("*"):
        if path.suffix == ".ipynb":
            notebook = nbformat.read(path, as_version=4)
            texts[str(path)] = _normal("\n".join(cell.source for cell in notebook.cells))
        elif path.is_file():
            texts[str(path)] = _normal(path.read_text(encoding="utf-8"))
    return texts


@pytest.mark.book
def test_course_build_contains_no_solution_text(built_site: Path, course_site: Path) -> None:
    needles, code, fragments, solution_stems = _solution_needles(built_site)
    assert len(needles) >= 20 and code, "the public build should show the solutions"
    # what the needles find in the public build: the test would see a leak
    public_sources = _source_texts(built_site)
    assert sum(any(f in t for t in public_sources.values()) for f in fragments) >= len(fragments) // 2
    assert len(solution_stems & _search_terms(built_site)) >= 10

    leaks = []
    for page in _html_pages(course_site):
        soup = _soup(page)
        assert not soup.select("div.solution"), page
        text = _normal(soup.get_text(" "))
        leaks += [f"{page.relative_to(course_site)}: {n[:80]}" for n in needles + code if n in text]
    for name, text in _source_texts(course_site).items():
        leaks += [f"{Path(name).relative_to(course_site)}: {f[:80]}" for f in fragments if f in text]
    leaks += [f"searchindex.js: the term {t!r}" for t in sorted(solution_stems & _search_terms(course_site))]
    assert not leaks, f"{len(leaks)} pieces of solution text in the course build:\n" + "\n".join(leaks[:40])
    assert json.loads((course_site / "kaigai-build.json").read_text())["solutions"] == "hidden"
    for chapter in CHAPTERS:
        html = (course_site / f"{chapter}.html").read_text(encoding="utf-8")
        assert "exercise" in html  # the exercises stay
        assert "btn-colab-button" not in html  # built without a repository: no launch button
        notebook = nbformat.read(course_site / "_sources" / f"{chapter}.ipynb", as_version=4)
        assert "built without a repository address" in notebook.cells[2].source


# --------------------------------------------------------------------------------------------------
# In a browser


def _browser_unavailable() -> str | None:
    if not CHROMIUM.exists():
        return (f"browser tests skipped: Chromium is not installed at {CHROMIUM} "
                "(install it with `apt-get install chromium`; .ci/run does this in CI)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests skipped: the `playwright` Python package is missing (make test installs it)"
    return None


browser_test = pytest.mark.skipif(_browser_unavailable() is not None, reason=_browser_unavailable() or "")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server names it so)
        pass


@pytest.fixture(scope="session")
def server(built_site: Path) -> Iterator[str]:
    """The built site on http://127.0.0.1:<port>/."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_QuietHandler, directory=str(built_site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser_context(server: str, chromium) -> Iterator[tuple[object, dict]]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report: dict = {"server": server, "pages": {}}
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    context.set_default_timeout(60_000)
    local = urlsplit(server).netloc

    def route(request_route) -> None:
        if urlsplit(request_route.request.url).netloc == local:
            request_route.continue_()
        else:
            report.setdefault("foreign", []).append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    yield context, report
    context.close()
    (ARTIFACTS / "browser-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


class PageLog:
    """What a page did while it loaded: console errors, uncaught errors, failed or foreign requests."""

    def __init__(self, page, local: str) -> None:
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []

        def on_request(request) -> None:
            self.requests.append(request.url)
            if urlsplit(request.url).netloc != local and urlsplit(request.url).scheme in {"http", "https", "ws", "wss"}:
                self.foreign.append(request.url)

        def on_console(message) -> None:
            if message.type == "error":
                self.errors.append(f"console.error: {message.text}")
            elif message.type == "warning":
                self.warnings.append(f"console.warning: {message.text}")

        page.on("request", on_request)
        page.on("console", on_console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))


def follow_language_switch(page, server: str, page_name: str, language: str) -> None:
    """Open the header's language menu, click the link to the ``language`` edition and check that the same tab
    lands on the page's twin (only its HTML is awaited: the twin's own load is tested on its edition's pass)."""
    page.locator(".dropdown-language-switch button").first.click()
    link = page.locator(f".dropdown-language-switch a.btn-language-switch-{language}").first
    assert link.get_attribute("target") in (None, "_self"), "the language switch opens another tab"
    link.click()
    twin = server + ("" if language == "en" else f"{language}/") + f"{page_name}.html"
    page.wait_for_url(twin, wait_until="domcontentloaded")
    assert page.evaluate("() => document.documentElement.lang") == language


def test_every_page_of_both_editions_is_crawled(built_site: Path) -> None:
    """The browser tests visit every HTML page of the English and the Japanese edition."""
    crawled = {*PAGES, *GENERATED_PAGES, "index"}
    for site in (built_site, built_site / "ja"):
        pages = {p.relative_to(site).with_suffix("").as_posix() for p in _html_pages(site)
                 if p.relative_to(site).parts[0] not in {"ja", "_sources"}}
        assert pages == crawled, f"{site}: pages the browser tests do not visit: {sorted(pages - crawled)}"


def _screenshot_name(page: str) -> str:
    return page.replace("/", "__") + ".png"


@browser_test
@pytest.mark.book
@pytest.mark.browser
@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_a_browser(browser_context, server: str, page_name: str) -> None:
    context, report = browser_context
    page = context.new_page()
    log = PageLog(page, urlsplit(server).netloc)
    try:
        page.goto(server + f"{page_name}.html", wait_until="load")
        checks: dict = {}

        # maths: typeset by MathJax 3, with no TeX error and no raw TeX left
        n_math = page.locator(".math").count()
        checks["maths"] = n_math
        if n_math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            untypeset = page.evaluate("""() => [...document.querySelectorAll('.math')]
                .filter(e => !e.querySelector('mjx-container') && e.tagName !== 'MJX-CONTAINER')
                .map(e => e.textContent.slice(0, 80))""")
            assert not untypeset, f"maths left as TeX: {untypeset[:5]}"
            assert page.locator("mjx-merror").count() == 0, "MathJax reports a TeX error"
        if page_name in {"notebooks/productivity", "notebooks/did"}:
            assert n_math > 0, f"{page_name} should show typeset maths"

        # exercise solutions: every dropdown opens
        solutions = page.locator("div.solution.dropdown")
        checks["solutions"] = solutions.count()
        for i in range(solutions.count()):
            solution = solutions.nth(i)
            content = solution.locator("section").first
            assert not content.is_visible(), "a solution should start closed"
            solution.locator(".toggle-button").first.click()
            content.wait_for(state="visible")

        # saved widget state: every widget view is rendered by the widget manager
        n_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        checks["widgets"] = n_views
        if n_views:
            assert page.locator('script[type="application/vnd.jupyter.widget-state+json"]').count() == 1
            page.wait_for_function("""() => [...document.querySelectorAll(
                    'script[type="application/vnd.jupyter.widget-view+json"]')]
                .every(s => s.previousElementSibling
                    && s.previousElementSibling.classList.contains('widget-subarea')
                    && s.previousElementSibling.querySelector('.jupyter-widgets, .kaigai-widget'))""")

        # kaigai widgets: each control through at least 3 values, the numbers drawn equal Python's; each
        # Check with a right, a wrong and a unit-slip answer (tests/widget_driver.py)
        checks.update({f"kaigai_{k}": v for k, v in drive_widgets(page, course=False).items()})

        # figures: every image loaded
        page.evaluate("""() => Promise.all([...document.images].map(img => img.complete ? null
            : new Promise(done => { img.onload = img.onerror = done; })))""")
        images = page.evaluate("""() => [...document.querySelectorAll('article img')]
            .map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}))""")
        checks["images"] = len(images)
        assert all(image["ok"] for image in images), [i["src"] for i in images if not i["ok"]]
        if page_name in CHAPTERS:
            assert images, f"{page_name} has no figure"

        page.wait_for_timeout(300)  # let late console messages arrive
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
        page.screenshot(path=str(SCREENSHOTS / _screenshot_name(page_name)), full_page=True)
        report["pages"][page_name] = {**checks, "requests": len(log.requests), "foreign_requests": log.foreign,
                                      "errors": log.errors, "warnings": log.warnings}
        assert not log.foreign, f"requests to another host: {log.foreign}"
        assert not log.errors, "\n".join(log.errors)
        follow_language_switch(page, server, page_name, "ja")
    finally:
        page.close()


@browser_test
@pytest.mark.book
@pytest.mark.browser
@pytest.mark.parametrize("page_name", GENERATED_PAGES)
def test_generated_page_in_a_browser(browser_context, server: str, page_name: str) -> None:
    context, report = browser_context
    page = context.new_page()
    log = PageLog(page, urlsplit(server).netloc)
    try:
        page.goto(server + f"{page_name}.html", wait_until="load")
        page.wait_for_timeout(300)
        report["pages"][page_name] = {"errors": log.errors, "foreign_requests": log.foreign}
        assert not log.foreign, f"requests to another host: {log.foreign}"
        assert not log.errors, "\n".join(log.errors)
        follow_language_switch(page, server, page_name, "ja")
    finally:
        page.close()


@browser_test
@pytest.mark.book
@pytest.mark.browser
def test_search_finds_a_term(browser_context, server: str) -> None:
    context, report = browser_context
    page = context.new_page()
    log = PageLog(page, urlsplit(server).netloc)
    try:
        page.goto(server + f"search.html?q={SEARCH_TERM}", wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li').length > 0")
        results = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
        page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=True)
        report["search"] = {"term": SEARCH_TERM, "results": results}
        assert any("notebooks/matching.html" in url for url in results), results
        assert not log.foreign and not log.errors, log.foreign + log.errors
    finally:
        page.close()


# --------------------------------------------------------------------------------------------------
# Widgets in the course edition, and no truth in it


def _widget_states(site: Path) -> Iterator[tuple[str, dict]]:
    """Every kaigai widget's saved state on every page of ``site``: (page, state)."""
    for page in _html_pages(site):
        soup = _soup(page)
        for script in soup.find_all("script", attrs={"type": "application/vnd.jupyter.widget-state+json"}):
            for model in json.loads(script.string or "{}").get("state", {}).values():
                if (model.get("state", {}).get("setup") or {}).get("kaigai"):
                    yield str(page.relative_to(site)), model["state"]
        for script in soup.find_all("script", attrs={"type": "application/vnd.kaigai-widget+json"}):
            yield str(page.relative_to(site)), json.loads(script.string)["state"]


def exercise_truths(site: Path) -> dict[str, set[str]]:
    """The renderings (full, 6 significant digits, 6 decimals) of every graded widget's truth, by page."""
    truths: dict[str, set[str]] = {}
    for page, state in _widget_states(site):
        if state["setup"].get("keep_key_in_course"):
            continue  # concept checks: self-assessment, kept on purpose
        for key in state["answer_keys"].values():
            value = key["truth"]
            # renderings with at least 5 significant digits: a round truth (an effect set on a slider,
            # e.g. 0.12) cannot be told apart from any other 0.12 on the site
            found = {t for t in (repr(value), f"{value:.6g}", f"{value:.6f}") if _significant_digits(t) >= 5}
            if found:
                truths.setdefault(page, set()).update(found)
    return truths


def _significant_digits(text: str) -> int:
    mantissa = re.sub(r"e.*$", "", text.lstrip("+-")).replace(".", "").lstrip("0")
    return len(mantissa.rstrip("0"))


@pytest.mark.book
def test_course_edition_carries_no_exercise_truth(built_site: Path, course_site: Path) -> None:
    truths = exercise_truths(built_site)
    assert sum(len(v) for v in truths.values()) >= 30, "the public build should carry the exercises' answer keys"
    every = sorted({t for v in truths.values() for t in v}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(t) for t in every).encode())
    leaks = []
    for path in course_site.rglob("*"):
        if path.is_file():
            found = {m.group().decode() for m in pattern.finditer(path.read_bytes())}
            where = str(path.relative_to(course_site))
            leaks += [f"{where}: {t}" for t in sorted(found)]
    assert not leaks, f"{len(leaks)} exercise truths in the course edition:\n" + "\n".join(leaks[:40])
    states = list(_widget_states(course_site))
    assert states and all(not s["answer_keys"] for _, s in states if not s["setup"].get("keep_key_in_course"))


@pytest.fixture(scope="session")
def course_browser(course_site: Path, chromium) -> Iterator[tuple[object, str]]:
    """A browser context on the course edition."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_QuietHandler, directory=str(course_site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    server = f"http://127.0.0.1:{httpd.server_port}/"
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    context.set_default_timeout(60_000)
    local = urlsplit(server).netloc
    context.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).netloc == local else r.abort())
    yield context, server
    context.close()
    httpd.shutdown()
    httpd.server_close()


@browser_test
@pytest.mark.book
@pytest.mark.browser
@pytest.mark.parametrize("page_name", [p for p in PAGES if _is_notebook(p) or p == "book/exercise_pages"])
def test_course_edition_widgets_in_a_browser(course_browser, page_name: str) -> None:
    context, server = course_browser
    page = context.new_page()
    log = PageLog(page, urlsplit(server).netloc)
    try:
        page.goto(server + f"{page_name}.html", wait_until="load")
        drive_widgets(page, course=True)
        page.wait_for_timeout(300)
        assert not log.foreign, f"requests to another host: {log.foreign}"
        assert not log.errors, "\n".join(log.errors)
    finally:
        page.close()


def test_pages_workflow_builds_with_make_book_and_publishes_the_branch_colab_reads() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["publish"]["steps"]
    build = next(step for step in steps if "make book" in step.get("run", ""))
    assert build["env"]["KAIGAI_REPOSITORY"] == "${{ github.repository }}"
    publish = next(step for step in steps if "git push" in step.get("run", ""))
    assert publish["working-directory"] == "_build/html"
    assert f"--initial-branch {kaigai_site.NOTEBOOKS_BRANCH}" in publish["run"]
    assert publish["run"].rstrip().endswith(kaigai_site.NOTEBOOKS_BRANCH)
