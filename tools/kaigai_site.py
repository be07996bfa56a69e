"""Sphinx extension for the kaigai book: an offline site, course builds, notebooks to download and launch.

Loaded by ``_config.yml`` (``sphinx.local_extensions``). It does five things:

1. **Offline assets.** MathJax, require.js and the Jupyter widgets HTML manager are taken from the npm
   packages pinned in ``tools/web/package-lock.json`` (installed by ``make`` with ``npm ci``) and copied
   into the site's ``_static/vendor/``; ``_config.yml`` points ``mathjax_path`` and ``nb_ipywidgets_js``
   there, so no page loads anything from another host. The build fails, saying what to run, if the
   packages are not installed or a page refers to a vendored file that was not copied.
2. **Course builds.** ``KAIGAI_HIDE_SOLUTIONS=1`` (``make book SOLUTIONS=hide``) removes every exercise
   solution from the pages, the search index, the downloadable sources and notebooks. (sphinx-exercise's
   own ``hide_solutions`` cannot be used: in 1.2.1 it crashes on gated ``solution-start``/``solution-end``
   solutions, which the chapters use.)
3. **Notebooks to download.** Every chapter under ``notebooks/`` offers itself as a notebook (.ipynb,
   inputs only, as ``jupytext --to ipynb`` makes it) in the page's download menu, with a first code cell
   that installs ``kaigai_lib`` where it is missing (Colab, a bare Jupyter). The chapters themselves are
   not edited: the cell is added to the download only.
4. **Launch buttons.** When the repository is known -- ``KAIGAI_REPOSITORY=owner/name`` in the
   environment, or ``kaigai_repository`` in ``_config.yml`` -- each chapter gets an *Open in Colab*
   button and the page header a repository button. Colab opens the notebook from the branch the site is
   published to (``gh-pages``, see ``.github/workflows/pages.yml``). With no repository the book builds
   without them (and the install cell explains how to install the library by hand).
5. **Widgets without a kernel.** Every widget is an anywidget (``kaigai_lib/static_widgets.py``) whose
   views and answer keys were computed over its controls' grid at build time; ``anywidget``'s AMD bundle
   is vendored next to the widget manager and found by require.js. In a course build every answer key is
   taken out of the saved widget state (the execution cache is shared with the public build). The
   ``{kaigai-exercise} path.yml`` directive puts an instructor's exercise on any page, run by
   ``_static/kaigai/widget-host.js``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import nbformat
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "tools" / "web"
NODE_MODULES = WEB / "node_modules"
VENDOR_DIR = "vendor"  # under _static/
FONTS = ("woff2", "woff", "ttf", "eot", "svg")

# What is copied from each npm package into _static/vendor/<name>/: (package, folder in it, patterns).
VENDORED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # the whole es5 tree: tex-mml-chtml.js loads its fonts, TeX extensions and menu components from it
    "mathjax": ("mathjax", "es5", ("**/*",)),
    "requirejs": ("requirejs", "", ("require.js",)),
    # embed-amd.js is self-contained (all of @jupyter-widgets/base, controls, output). Its AMD modules ask
    # for their Font Awesome files relative to their require.js module ids (@jupyter-widgets/html-manager/
    # dist/... and @jupyter-widgets/...), so the files are laid out as on a CDN under _static/vendor/, which
    # becomes require.js' baseUrl on pages with widgets (see _page_widgets)
    "@jupyter-widgets/html-manager/dist": ("@jupyter-widgets/html-manager", "dist",
                                           ("embed-amd.js", *(f"*.{ext}" for ext in FONTS))),
    "@jupyter-widgets": ("@jupyter-widgets/html-manager", "dist", tuple(f"*.{ext}" for ext in FONTS)),
    # anywidget's AMD bundle (every kaigai widget is an anywidget; its ES module travels in the saved
    # widget state): require.js finds it as the module "anywidget" (REQUIRE_PATHS)
    "anywidget": ("anywidget", "dist", ("index.js",)),
}
# require.js module ids -> paths under _static/vendor/ (without .js)
REQUIRE_PATHS = {"anywidget": "anywidget/index"}
# under _static/: runs {kaigai-exercise} widgets (kaigai_lib/teaching/static/host.js)
WIDGET_HOST = "kaigai/widget-host.js"

CHAPTER_PREFIX = "notebooks/"  # documents that are chapters (download + launch)
NOTEBOOKS_BRANCH = "gh-pages"  # the branch .github/workflows/pages.yml publishes _build/html to
COLAB_URL = "https://colab.research.google.com"
INSTALL_TAG = "kaigai-install"
INSTRUCTOR_ONLY_CLASS = "tag_instructor-only"  # myst-nb's class for a cell tagged instructor-only
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


# --------------------------------------------------------------------------------------------------
# Version-specific fixes: each names the package and the version it was written for, and the build fails
# loudly on any other version, so an upgrade is a decision (is the fix still needed? still right?), not a
# silent change. After checking, update the version here (and in requirements.lock / package-lock.json).

@dataclass(frozen=True)
class VersionFix:
    package: str  # a Python distribution, or "npm:<name>" for a package in tools/web/node_modules
    version: str  # the version the fix was written for and tested with
    fix: str  # what the fix works around, and where it lives

    def installed(self) -> str | None:
        if self.package.startswith("npm:"):
            manifest = NODE_MODULES / self.package.removeprefix("npm:") / "package.json"
            return json.loads(manifest.read_text(encoding="utf-8"))["version"] if manifest.exists() else None
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            return None


VERSION_FIXES = (
    VersionFix("sphinx-exercise", "1.2.1", "its hide_solutions crashes on gated solutions: kept off, and "
               "RemoveSolutions runs at priority 11, after its MergeGatedSolutions (10) (_config_inited)"),
    VersionFix("myst-nb", "1.4.0", "the course build redacts the saved widget state before myst-nb adds it "
               "(html-page-context priority 450 < 500) with NbMetadataCollector.get_js_files and "
               "sanitize_script_content (_page_course_widgets, _page_widgets)"),
    VersionFix("jupyter-book", "1.0.4.post1", "it fills in its own repository button when none is given: "
               "switched off without a repository (_config_inited)"),
    VersionFix("sphinx-book-theme", "1.3.0", "header buttons go into its html-page-context 'header_buttons' "
               "list, as groups of links (add_header_buttons, used by kaigai_i18n too)"),
    VersionFix("pydata-sphinx-theme", "0.17.1", "'Got invalid theme mode' on a first visit: THEME_MODE sets auto"),
    VersionFix("npm:mathjax", "3.2.2", "the widget manager calls MathJax 2's Hub.Queue: MATHJAX_HUB_SHIM maps "
               "it to MathJax 3's typesetPromise"),
    VersionFix("npm:@jupyter-widgets/html-manager", "1.0.15", "embed-amd.js asks for its fonts by require.js "
               "module ids: VENDORED lays them out as on a CDN"),
)


class VersionMismatch(ExtensionError):
    pass


def check_versions(fixes: tuple[VersionFix, ...] = VERSION_FIXES) -> None:
    """Fail, naming the fix and both versions, when an installed package is not the one a fix was written for."""
    problems = []
    for fix in fixes:
        found = fix.installed()
        if found is not None and found != fix.version:
            problems.append(f"{fix.package} {found} is installed, but tools/kaigai_site.py has a fix written for "
                            f"{fix.version}: {fix.fix}. Check whether the fix is still needed and right on "
                            f"{found}, then update VERSION_FIXES.")
    if problems:
        raise VersionMismatch("\n".join(problems))


# --------------------------------------------------------------------------------------------------
# Configuration


def repository(config: Config) -> str:
    """``owner/name`` of the GitHub repository, or "" when it is not known (local builds)."""
    value = (os.environ.get("KAIGAI_REPOSITORY") or config.kaigai_repository or "").strip()
    value = value.removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if value and not _REPOSITORY.match(value):
        raise ExtensionError(
            f"KAIGAI_REPOSITORY / kaigai_repository must be a GitHub 'owner/name' (got {value!r})")
    return value


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "hide", "hidden", "on"}


def _config_inited(app: Sphinx, config: Config) -> None:
    if _truthy(os.environ.get("KAIGAI_HIDE_SOLUTIONS")) or getattr(config, "hide_solutions", False):
        config.kaigai_hide_solutions = True
    # sphinx-exercise's own switch crashes on gated solutions; this extension does the hiding
    config.hide_solutions = False
    config.kaigai_repository = repository(config)
    config.kaigai_repository_ref = (os.environ.get("KAIGAI_REPOSITORY_REF")
                                    or config.kaigai_repository_ref or "").strip()
    options = config.html_theme_options
    if config.kaigai_repository:
        options["repository_url"] = f"https://github.com/{config.kaigai_repository}"
        options["use_repository_button"] = True
    else:
        # jupyter-book fills in its own repository when none is given: show no repository at all
        options["repository_url"] = ""
        for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            options[key] = False


# --------------------------------------------------------------------------------------------------
# Solutions: removed from the page (a transform) and from the downloadable sources (text)

_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}")
_SOLUTION_DIRECTIVES = {"solution", "solution-start", "solution-end"}


def strip_solutions_text(text: str) -> str:
    """MyST source without its solutions: ``{solution}`` blocks, and everything from a gated
    ``{solution-start}`` to the end of its ``{solution-end}`` (code cells included)."""
    kept: list[str] = []
    closing: str | None = None  # the fence that closes the solution directive being skipped
    gated = False  # between solution-start and solution-end
    for line in text.splitlines(keepends=True):
        if closing is not None:
            stripped = line.strip()
            if stripped and set(stripped) == {closing[0]} and len(stripped) >= len(closing):
                closing = None
            continue
        match = _FENCE.match(line)
        if match and match["name"] in _SOLUTION_DIRECTIVES:
            closing = match["fence"]
            gated = {"solution-start": True, "solution-end": False}.get(match["name"], gated)
            continue
        if not gated:
            kept.append(line)
    return "".join(kept)


class RemoveSolutions(SphinxTransform):
    """In a course build, remove every solution (after sphinx-exercise has merged the gated ones)."""

    default_priority = 11  # sphinx_exercise.transforms.MergeGatedSolutions is 10

    def apply(self, **kwargs: Any) -> None:
        if not self.config.kaigai_hide_solutions:
            return
        from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

        for cls in (solution_node, solution_start_node, solution_end_node):
            for node in list(self.document.findall(cls)):
                for ident in node["ids"]:
                    self.document.ids.pop(ident, None)
                for name in node["names"]:
                    self.document.nameids.pop(name, None)
                    self.document.nametypes.pop(name, None)
                node.parent.remove(node)


class RemoveInstructorOnly(SphinxTransform):
    """In a course build, remove the cells tagged ``instructor-only`` (e.g. a demo class's answer key)."""

    default_priority = 11

    def apply(self, **kwargs: Any) -> None:
        if not self.config.kaigai_hide_solutions:
            return
        for node in list(self.document.findall(nodes.Element)):
            if INSTRUCTOR_ONLY_CLASS in node.get("classes", []) and node.parent is not None:
                node.parent.remove(node)


# --------------------------------------------------------------------------------------------------
# Downloadable notebooks with an install cell, and the Colab button


def install_cell_source(repo: str, ref: str = "") -> str:
    """The code of the cell that installs kaigai_lib where it is missing."""
    head = ("#@title Install kaigai_lib if it is missing (Colab, a bare Jupyter)\n"
            "# Added when the book was built; in the kaigai repository's own environment it does nothing.\n"
            "try:\n"
            "    import kaigai_lib  # noqa: F401\n"
            "    import myst_nb  # noqa: F401  (glue)\n"
            "except ImportError:\n")
    if not repo:
        return head + (
            "    raise ImportError(\n"
            "        \"kaigai_lib is not installed. This notebook was built without a repository address, \"\n"
            "        \"so it cannot install the library itself: from a clone of the kaigai repository run \"\n"
            "        \"`make book` (which creates .venv) or `pip install -e . myst-nb`.\")\n")
    source = f"git+https://github.com/{repo}" + (f"@{ref}" if ref else "")
    return head + (
        f"    %pip install --quiet \"kaigai_lib @ {source}\" \"myst-nb>=1.1\"\n"
        "    try:  # ipywidgets 8 on Colab\n"
        "        from google.colab import output\n"
        "        output.enable_custom_widget_manager()\n"
        "    except ImportError:\n"
        "        pass\n")


def downloadable_notebook(source: Path, repo: str, ref: str, hide_solutions: bool) -> nbformat.NotebookNode:
    """The chapter as a notebook (inputs only, as `jupytext --to ipynb` makes it), with the install cell after
    its title, and without solutions in a course build."""
    import jupytext

    if source.suffix == ".md":
        text = source.read_text(encoding="utf-8")
    else:  # an .ipynb chapter: through its MyST form, where the solutions are found
        text = jupytext.writes(jupytext.read(source), fmt="md:myst")
    if hide_solutions:
        text = strip_solutions_text(text)
    nb = jupytext.reads(text, fmt="md:myst")
    note = nbformat.v4.new_markdown_cell(
        "*Running this notebook outside the kaigai repository (e.g. on Colab)?* The next cell installs "
        "the `kaigai_lib` library if it is missing; it does nothing where the library is installed.",
        metadata={"tags": [INSTALL_TAG]})
    code = nbformat.v4.new_code_cell(install_cell_source(repo, ref),
                                     metadata={"tags": [INSTALL_TAG], "cellView": "form"})
    at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
    nb.cells[at:at] = [note, code]
    nbformat.validate(nb)
    return nb


def colab_url(repo: str, pagename: str) -> str:
    return f"{COLAB_URL}/github/{repo}/blob/{NOTEBOOKS_BRANCH}/_sources/{pagename}.ipynb"


def _is_chapter(app: Sphinx, pagename: str) -> bool:
    return pagename.startswith(CHAPTER_PREFIX) and "kernelspec" in app.env.metadata.get(pagename, {})


def _page_notebook(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Write the chapter's downloadable notebook and offer it in the download menu (before the theme's)."""
    if doctree is None or not _is_chapter(app, pagename):
        return
    # the .md source, not myst-nb's executed copy in jupyter_execute/: that copy has no outputs when the
    # outputs came from the execution cache, so it would differ from build to build
    nb = downloadable_notebook(Path(app.env.doc2path(pagename)), app.config.kaigai_repository,
                               app.config.kaigai_repository_ref, app.config.kaigai_hide_solutions)
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _page_launch_button(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Add the Colab launch button (after sphinx-book-theme has made its header buttons)."""
    repo = app.config.kaigai_repository
    if doctree is None or not repo or not _is_chapter(app, pagename):
        return
    add_header_buttons(context, tooltip="Launch interactive content", icon="fas fa-rocket", label="launch-buttons",
                       buttons=[{"text": "Colab", "tooltip": "Open this chapter as a notebook on Colab",
                                 "icon": "_static/images/logo_colab.png", "url": colab_url(repo, pagename),
                                 "label": "colab-button"}])


def add_header_buttons(context: dict, *, tooltip: str, icon: str, label: str, buttons: list[dict[str, str]]) -> None:
    """Put a group of link buttons first in sphinx-book-theme's page header (pages without a header: nothing).

    ``buttons``: each a link's ``text``, ``tooltip``, ``icon``, ``url`` and ``label`` (also used by
    ``kaigai_i18n`` for the language switch).
    """
    if "header_buttons" not in context:
        return
    context["header_buttons"].insert(0, {"type": "group", "tooltip": tooltip, "icon": icon, "label": label,
                                         "buttons": [{"type": "link", **button} for button in buttons]})


# @jupyter-widgets 8 typesets widget labels with MathJax 2's MathJax.Hub.Queue (a TypeError under the
# MathJax 3 the site loads): route those calls to MathJax 3's typesetPromise. MathJax (deferred) has run by
# DOMContentLoaded; the widgets render on `load`.
MATHJAX_HUB_SHIM = """document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || !mj.startup || mj.Hub) return;
  mj.Hub = {Queue: function () {
    Array.prototype.forEach.call(arguments, function (job) {
      if (Array.isArray(job) && job[0] === "Typeset") {
        mj.startup.promise.then(function () { return mj.typesetPromise(job[2] ? [job[2]] : undefined); });
      }
    });
  }};
});"""

# pydata-sphinx-theme logs a console error ("Got invalid theme mode") on a first visit, when neither the
# reader nor sphinx-book-theme (which has no default_mode option) chose a mode: choose "auto", as it then does
THEME_MODE = 'document.documentElement.dataset.mode = document.documentElement.dataset.mode || "auto";'


def _page_widgets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """On a page with widgets, make require.js resolve the widget manager's modules under _static/vendor/."""
    from myst_nb.sphinx_ import NbMetadataCollector

    if doctree is None or not any(key.startswith("ipywidgets_")
                                  for key in NbMetadataCollector.get_js_files(app.env, pagename)):
        return
    base = context["pathto"](f"_static/{VENDOR_DIR}/", 1)
    # a global `require` object set before require.js loads is its configuration
    config = {"baseUrl": base, "paths": REQUIRE_PATHS}
    app.add_js_file(None, body=f"var require = {json.dumps(config)};", priority=400)
    app.add_js_file(None, body=MATHJAX_HUB_SHIM, priority=400)


def _page_course_widgets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """In a course build, take every answer key out of the page's saved widget state (before myst-nb adds
    it to the page): the execution cache is shared with the public build, so the state was saved with them."""
    from myst_nb.core.render import sanitize_script_content
    from myst_nb.sphinx_ import NbMetadataCollector

    from kaigai_lib.teaching.static_widgets import redact_state

    if doctree is None or not app.config.kaigai_hide_solutions:
        return
    js_files = NbMetadataCollector.get_js_files(app.env, pagename)
    if "ipywidgets_state" not in js_files:
        return
    uri, kwargs = js_files["ipywidgets_state"]
    state = redact_state(json.loads(kwargs["body"]))
    js_files["ipywidgets_state"] = (uri, {**kwargs, "body": sanitize_script_content(json.dumps(state))})


def _page_widget_host(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Pages with a {kaigai-exercise} directive load the script that runs its widget."""
    if doctree is not None and pagename in getattr(app.env, "kaigai_exercise_pages", set()):
        app.add_js_file(WIDGET_HOST)


# --------------------------------------------------------------------------------------------------
# {kaigai-exercise} path/to/exercise.yml: an instructor's exercise as a widget on any page


class ExerciseDirective(SphinxDirective):
    """```{kaigai-exercise} path/to/exercise.yml``` (relative to the page; ``/…`` from the book's root),
    with ``:seed:`` optional: the exercise's question, data tables and widget (sliders, answer box, hints),
    computed when the book is built and working with no kernel. A course build carries no answer key."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"seed": directives.nonnegative_int}

    def run(self) -> list[nodes.Node]:
        from kaigai_lib.exercises.pages import exercise_intro_html
        from kaigai_lib.exercises.spec import ExerciseError, ExerciseWidget, load_exercise
        from kaigai_lib.teaching.static_widgets import widget_script

        relative, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        self.env.note_dependency(relative)
        try:
            spec = load_exercise(path)
        except (ExerciseError, FileNotFoundError) as error:
            raise self.error(f"kaigai-exercise: {error}") from None
        course = bool(self.config.kaigai_hide_solutions)
        widget = ExerciseWidget(spec, seed=self.options.get("seed"), course=course)
        if not hasattr(self.env, "kaigai_exercise_pages"):
            self.env.kaigai_exercise_pages = set()
        self.env.kaigai_exercise_pages.add(self.env.docname)
        html_text = exercise_intro_html(spec) + widget_script(widget, course=course)
        return [nodes.raw("", html_text, format="html")]


def _env_merge(app: Sphinx, env: Any, docnames: set[str], other: Any) -> None:
    if not hasattr(env, "kaigai_exercise_pages"):
        env.kaigai_exercise_pages = set()
    env.kaigai_exercise_pages |= getattr(other, "kaigai_exercise_pages", set())


def _env_purge(app: Sphinx, env: Any, docname: str) -> None:
    getattr(env, "kaigai_exercise_pages", set()).discard(docname)


def _page_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop duplicated inline scripts.

    Sphinx 7.4 lists an inline script added after the builder started (sphinx-thebe's, sphinx-togglebutton's)
    twice, once with the file name None and once with "", and sphinx-thebe's declares a `const`: the second
    copy is a SyntaxError in the console of every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        filename = getattr(script, "filename", script) or ""
        key = (filename, getattr(script, "priority", None),
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


# --------------------------------------------------------------------------------------------------
# Vendored browser assets


def vendored_files() -> dict[str, Path]:
    """Every vendored file: its path under _static/ -> its file in tools/web/node_modules."""
    files: dict[str, Path] = {}
    for name, (package, folder, patterns) in VENDORED.items():
        base = NODE_MODULES / package / folder
        if not base.is_dir():
            raise ExtensionError(
                f"the browser assets are not installed ({base} is missing): run `make book` (or "
                f"`cd tools/web && npm ci --ignore-scripts`) so the site can serve MathJax, require.js and "
                f"the widget manager itself")
        for pattern in patterns:
            for path in base.glob(pattern):
                if path.is_file():
                    files[f"{VENDOR_DIR}/{name}/{path.relative_to(base).as_posix()}"] = path
        licence = NODE_MODULES / package / "LICENSE"
        if licence.exists():
            files[f"{VENDOR_DIR}/{name}/LICENSE"] = licence
    return files


def _builder_inited(app: Sphinx) -> None:
    if app.builder.format == "html":
        vendored_files()  # fail early, saying what to run, if the npm packages are not installed


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    static = outdir / "_static"
    for relative, source in vendored_files().items():
        target = static / relative
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime \
                or target.stat().st_size != source.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    # every local script the configuration names must now be in the site
    wanted = [app.config.mathjax_path, *app.config.nb_ipywidgets_js]
    for path in wanted:
        if "://" in path:
            raise ExtensionError(f"{path} is loaded from another host: the site must work offline")
        if not (static / path).exists():
            raise ExtensionError(f"{path} is configured but was not copied into _static/")
    host = static / WIDGET_HOST
    host.parent.mkdir(parents=True, exist_ok=True)
    from kaigai_lib.teaching.static_widgets import host_script

    host.write_text(host_script(), encoding="utf-8")
    if app.config.kaigai_hide_solutions:
        for source in (outdir / "_sources").rglob("*"):
            if source.suffix == ".md" or source.name.endswith(".md.txt"):
                source.write_text(strip_solutions_text(source.read_text(encoding="utf-8")), encoding="utf-8")
    # GitHub Pages from a branch: serve _static, _sources and _images as they are
    (outdir / ".nojekyll").touch()
    (outdir / "kaigai-build.json").write_text(json.dumps({
        "solutions": "hidden" if app.config.kaigai_hide_solutions else "shown",
        "repository": app.config.kaigai_repository,
        "repository_ref": app.config.kaigai_repository_ref,
    }, indent=2) + "\n", encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    check_versions()
    app.add_config_value("kaigai_hide_solutions", False, "env", [bool])
    app.add_config_value("kaigai_repository", "", "html", [str])
    app.add_config_value("kaigai_repository_ref", "", "html", [str])
    app.connect("config-inited", _config_inited, priority=900)  # after sphinx-exercise and jupyter-book
    app.connect("builder-inited", _builder_inited)
    app.add_transform(RemoveSolutions)
    app.add_transform(RemoveInstructorOnly)
    app.add_js_file(None, body=THEME_MODE, priority=100)
    app.connect("html-page-context", _page_notebook, priority=400)
    app.connect("html-page-context", _page_launch_button, priority=900)
    app.connect("html-page-context", _page_course_widgets, priority=450)  # before myst-nb adds the state (500)
    app.connect("html-page-context", _page_widgets, priority=600)  # after myst-nb's widget scripts (500)
    app.connect("html-page-context", _page_widget_host, priority=600)
    app.add_directive("kaigai-exercise", ExerciseDirective)
    app.connect("env-merge-info", _env_merge)
    app.connect("env-purge-doc", _env_purge)
    app.connect("html-page-context", _page_scripts, priority=990)
    app.connect("build-finished", _build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
