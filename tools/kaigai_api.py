"""Sphinx extension for the book's API reference (``book/api/*.md``): examples that run in the build.

Loaded by ``_config.yml`` (``sphinx.local_extensions``) next to ``sphinx.ext.autodoc``,
``sphinx.ext.autosummary`` and ``numpydoc``. It does three things:

1. **Examples run in the build.** When autodoc renders the docstring of a public name (one of
   ``kaigai_lib.__all__``, documented as ``kaigai_lib.<name>``), the English HTML build runs the doctest of its
   numpydoc ``Examples`` section. A failing line, a missing ``Examples`` section or one with fewer than
   :data:`MIN_STATEMENTS` statements is a Sphinx warning naming the object and the line, so the ``-n -W``
   build fails. ``tests/test_docstring_examples.py`` runs the same check (:func:`run_examples`) without a build.
2. **One place per public name.** Autodoc and the type hints name the module that defines an object
   (``kaigai_lib.estimators.did.EventChanges``); the reference documents it once, under its public name
   (``kaigai_lib.EventChanges``). A cross-reference to the defining path, or to a bare public name, is sent
   there; a reference to a module (``kaigai_lib.exercises.classroom``) goes to its layer's page. A reference
   to anything that is not public stays a warning: write it as ``code``, not as a role.
3. **The command line.** ``{kaigai-cli-help}`` shows ``kaigai --help`` and every sub-command's help, taken
   from the parser (``kaigai_lib.replication.cli.build_parser``) at build time, so the page cannot drift.

The docstrings are English in both editions (the Japanese edition translates the pages' own prose only;
``tools/kaigai_i18n.py`` leaves the messages that come from docstrings out of the translation coverage).
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import inspect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "kaigai_lib"
MIN_STATEMENTS = 2  # an example shows at least a call and what it gives
# the doctest flags of every example (the same in the build and in tests/test_docstring_examples.py)
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# pandas prints wide frames to fit the terminal; the examples' printed tables must not depend on it
PANDAS_DISPLAY = {"display.width": 100, "display.max_columns": 20, "display.max_rows": 60}
EXAMPLES_HEADING = re.compile(r"^\s*Examples\s*\n\s*-{8,}\s*$", re.MULTILINE)

logger = logging.getLogger(__name__)


def public_names() -> list[str]:
    """``kaigai_lib.__all__``: the names the reference documents."""
    return list(importlib.import_module(PACKAGE).__all__)


# --------------------------------------------------------------------------------------------------
# Examples


@dataclass
class ExampleFailure:
    """One example line that did not give what its docstring shows."""

    line: int  # in the source file (1-based), or in the docstring when the file is unknown
    source: str
    expected: str
    got: str

    def __str__(self) -> str:
        return (f"line {self.line}: >>> {self.source.strip()}\n    expected: {self.expected.strip() or '(nothing)'}"
                f"\n    got: {self.got.strip() or '(nothing)'}")


@dataclass
class ExampleRun:
    """The outcome of a public name's ``Examples`` section."""

    name: str
    file: str
    line: int  # of the object's definition
    has_section: bool
    statements: int = 0
    failures: list[ExampleFailure] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """What is wrong, in words (empty when the examples are fine)."""
        if not self.has_section:
            return [f"{self.name} has no numpydoc Examples section"]
        found = [f"{self.name}: example {failure}" for failure in self.failures]
        if self.statements < MIN_STATEMENTS:
            found.append(f"{self.name}: its Examples section has {self.statements} statement(s), "
                         f"fewer than {MIN_STATEMENTS}")
        return found


class _Recorder(doctest.DocTestRunner):
    """A doctest runner that keeps its failures instead of printing them."""

    def __init__(self) -> None:
        super().__init__(optionflags=OPTIONFLAGS, verbose=False)
        self.found: list[ExampleFailure] = []

    def _line(self, test: doctest.DocTest, example: doctest.Example) -> int:
        return (test.lineno or 0) + example.lineno + 1

    def report_failure(self, out: Any, test: doctest.DocTest, example: doctest.Example, got: str) -> None:
        self.found.append(ExampleFailure(self._line(test, example), example.source, example.want, got))

    def report_unexpected_exception(self, out: Any, test: doctest.DocTest, example: doctest.Example,
                                    exc_info: Any) -> None:
        error = exc_info[1]
        self.found.append(ExampleFailure(self._line(test, example), example.source, example.want,
                                            f"{type(error).__name__}: {error}"))


@contextlib.contextmanager
def _example_settings() -> Iterator[None]:
    """Figures drawn off screen; pandas tables as wide as the docstrings show them."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    with pd.option_context(*[item for pair in PANDAS_DISPLAY.items() for item in pair]):
        yield
    import matplotlib.pyplot as plt

    plt.close("all")


def run_examples(name: str, obj: Any | None = None) -> ExampleRun:
    """Run the doctest of the ``Examples`` section of the public name ``name`` (``kaigai_lib.<name>``)."""
    if obj is None:
        obj = getattr(importlib.import_module(PACKAGE), name)
    docstring = inspect.getdoc(obj) or ""
    try:
        file, line = inspect.getsourcefile(obj) or "<unknown>", inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        file, line = "<unknown>", 0
    run = ExampleRun(name, file, line, bool(EXAMPLES_HEADING.search(docstring)))
    # recurse=False: the object's own docstring (a class's methods have their own)
    tests = doctest.DocTestFinder(recurse=False).find(obj, f"{PACKAGE}.{name}", globs={})
    run.statements = sum(len(test.examples) for test in tests)
    runner = _Recorder()
    with _example_settings():
        for test in tests:
            runner.run(test, clear_globs=True)
    run.failures = runner.found
    return run


def _relative(file: str) -> str:
    path = Path(file)
    return str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else file


def _check_examples(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """autodoc-process-docstring: run a public name's examples once per build (English HTML build only)."""
    if not app.config.kaigai_api_run_examples or app.builder.name not in ("html", "dirhtml"):
        return
    if app.config.language != "en" or not name.startswith(f"{PACKAGE}."):
        return
    public = name.removeprefix(f"{PACKAGE}.")
    done: set[str] = app.env.temp_data.setdefault("kaigai_api_examples_run", set())
    if public not in public_names() or public in done:
        return
    done.add(public)
    run = run_examples(public, obj)
    for problem in run.problems:
        # "file:line" (a location without a colon would be taken for a docname)
        logger.warning(problem, location=f"{_relative(run.file)}:{run.line}", type="kaigai", subtype="example")


# --------------------------------------------------------------------------------------------------
# Cross-references to public names


def _public_index() -> dict[int, str]:
    package = importlib.import_module(PACKAGE)
    return {id(getattr(package, name)): name for name in package.__all__}


def _import_dotted(target: str) -> tuple[Any, list[str]] | None:
    """The longest importable prefix of ``target`` (a module, then attributes) and what is left of it."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        rest = parts[cut:]
        while rest and hasattr(obj, rest[0]) and not inspect.ismodule(getattr(obj, rest[0])):
            obj, rest = getattr(obj, rest[0]), rest[1:]
        return obj, rest
    return None


def public_target(target: str, reftype: str) -> str | None:
    """Where the reference documents ``target``: ``kaigai_lib.<public name>[.member]``, a layer's module, or None
    (not public)."""
    if not target.startswith(f"{PACKAGE}."):
        head = target.split(".", 1)[0]
        return f"{PACKAGE}.{target}" if head in public_names() else None
    parts = target.split(".")
    if reftype == "mod":  # a module: its layer's page (kaigai_lib.<layer>, declared there with py:module)
        try:
            importlib.import_module(target)
        except ImportError:
            return None
        return ".".join(parts[:2])
    # the object itself, or the class of a member (EventChanges.tidy): the longest prefix that is public
    index = _public_index()
    for cut in range(len(parts), 1, -1):
        found = _import_dotted(".".join(parts[:cut]))
        if found and not found[1] and id(found[0]) in index:
            return ".".join([PACKAGE, index[id(found[0])], *parts[cut:]])
    return None


def _missing_reference(app: Sphinx, env: BuildEnvironment, node: nodes.Element,
                       contnode: nodes.Element) -> nodes.Element | None:
    if node.get("refdomain") != "py":
        return None
    target = public_target(node["reftarget"], node["reftype"])
    if target is None or target == node["reftarget"]:
        return None
    domain = env.get_domain("py")
    reftype = "mod" if node["reftype"] == "mod" else "obj"  # a property cited as :meth:, a class as :func:
    return domain.resolve_xref(env, node.get("refdoc", env.docname), app.builder, reftype, target, node, contnode)


# --------------------------------------------------------------------------------------------------
# The command line


def cli_help() -> list[tuple[str, str]]:
    """``(command, help text)`` for ``kaigai`` and each of its sub-commands, from the parser itself."""
    import argparse

    from kaigai_lib.replication.cli import build_parser

    pages: list[tuple[str, str]] = []

    def walk(parser: argparse.ArgumentParser, command: str) -> None:
        parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=96)
        pages.append((command, parser.format_help()))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{command} {name}")

    with _columns(96):
        walk(build_parser(), "kaigai")
    return pages


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before


class CliHelp(SphinxDirective):
    """``{kaigai-cli-help}``: the help of ``kaigai`` and of every sub-command, as literal blocks."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        blocks: list[nodes.Node] = []
        for command, text in cli_help():
            shown = f"$ {command} --help\n{text.rstrip()}"
            block = nodes.literal_block(shown, shown, language="text", classes=["kaigai-cli-help"])
            block["ids"] = [nodes.make_id(f"cli-{command}")]
            blocks.append(block)
        return blocks


def setup(app: Sphinx) -> dict[str, Any]:
    # KAIGAI_API_EXAMPLES=0 skips running the examples (a quick look at the pages); `make book` runs them
    app.add_config_value("kaigai_api_run_examples", os.environ.get("KAIGAI_API_EXAMPLES", "1") != "0", "env",
                         [bool])
    app.connect("autodoc-process-docstring", _check_examples, priority=100)  # before numpydoc rewrites it (500)
    app.connect("missing-reference", _missing_reference)
    app.add_directive("kaigai-cli-help", CliHelp)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
