"""The book's API reference (book/api/, issue 15): every public name documented once, on its layer's page, every
page reachable from the table of contents, examples that run in the build (tools/kaigai_api.py)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from test_book import _toc_files

import kaigai_lib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import kaigai_api  # noqa: E402

API = ROOT / "book" / "api"
AUTODOC = re.compile(r"^\.\. auto(?:function|class|exception)::\s+(\S+)", re.MULTILINE)
AUTOSUMMARY = re.compile(r"^\.\. autosummary::\n((?:[ \t]+.*\n|\n)+)", re.MULTILINE)


def _pages() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(API.glob("*.md"))
            if not path.name.startswith("_")}


def _documented() -> dict[str, list[str]]:
    """page -> the names its autodoc directives document."""
    return {page: AUTODOC.findall(text) for page, text in _pages().items()}


def test_every_public_name_is_documented_once_on_its_layers_page() -> None:
    documented = Counter(name for names in _documented().values() for name in names)
    public = {f"kaigai_lib.{name}" for name in kaigai_lib.__all__}
    missing = sorted(public - set(documented))
    twice = sorted(name for name, count in documented.items() if count > 1)
    unknown = sorted(set(documented) - public)
    assert not missing, f"public names missing from book/api/: {missing}"
    assert not twice, f"documented more than once: {twice}"
    assert not unknown, f"documented but not in kaigai_lib.__all__ (use the public name): {unknown}"
    for page, names in _documented().items():
        for name in names:
            layer = kaigai_lib._EXPORTS[name.removeprefix("kaigai_lib.")].split(".")[1]
            assert layer == page, f"{name} (kaigai_lib.{layer}) is documented on book/api/{page}.md"


def test_each_pages_summary_table_lists_what_the_page_documents() -> None:
    for page, text in _pages().items():
        tables = AUTOSUMMARY.findall(text)
        listed = [line.strip() for table in tables for line in table.splitlines()
                  if line.strip() and not line.strip().startswith(":")]
        assert sorted(f"kaigai_lib.{name}" for name in listed) == sorted(_documented()[page]), page
        # autosummary generates no page of its own: every page of the reference is in _toc.yml
        assert ":toctree:" not in text, f"book/api/{page}.md: autosummary :toctree: pages would not be in the toc"


def test_every_reference_page_is_in_the_table_of_contents() -> None:
    toc = set(_toc_files())
    assert {f"book/api/{page}" for page in _pages()} <= toc
    assert "book/changelog" in toc
    # each layer of kaigai_lib has its page
    layers = {module.split(".")[1] for module in kaigai_lib._EXPORTS.values()} | {"replication"}
    assert layers <= set(_pages()), sorted(layers - set(_pages()))


def test_references_to_a_defining_module_go_to_the_public_name() -> None:
    assert kaigai_api.public_target("kaigai_lib.estimators.did.EventChanges", "class") == "kaigai_lib.EventChanges"
    assert kaigai_api.public_target("kaigai_lib.estimators.did.EventChanges.tidy", "meth") == \
        "kaigai_lib.EventChanges.tidy"
    assert kaigai_api.public_target("MatchResult.counts", "meth") == "kaigai_lib.MatchResult.counts"
    assert kaigai_api.public_target("propensity_match", "func") == "kaigai_lib.propensity_match"
    assert kaigai_api.public_target("kaigai_lib.exercises.classroom", "mod") == "kaigai_lib.exercises"
    # not public: the reference has no entry, the warning stays
    assert kaigai_api.public_target("kaigai_lib.estimators.did._small_sample", "func") is None
    assert kaigai_api.public_target("kaigai_lib.no_such_module", "mod") is None
    assert kaigai_api.public_target("support_truth", "func") is None


def _documented_function(x: float) -> float:
    """The square root of ``x``.

    Examples
    --------
    >>> from math import sqrt
    >>> sqrt(16)
    5.0
    >>> int(sqrt(16))
    4
    >>> sqrt(-1)
    0.0
    """
    return x**0.5


def test_a_failing_example_names_the_object_and_the_line() -> None:
    run = kaigai_api.run_examples("_documented_function", _documented_function)
    assert run.statements == 4 and len(run.failures) == 2
    # the failing lines of this file, as an editor numbers them
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    assert [lines[failure.line - 1].strip() for failure in run.failures] == [">>> sqrt(16)", ">>> sqrt(-1)"]
    assert [(f.expected.strip(), f.got.strip()) for f in run.failures] == [
        ("5.0", "4.0"), ("0.0", "ValueError: math domain error")]
    assert run.problems == [f"_documented_function: example {failure}" for failure in run.failures]
    assert f"line {run.failures[0].line}: >>> sqrt(16)" in run.problems[0]


def test_an_example_without_output_check_or_section_is_a_problem() -> None:
    def one_statement() -> None:
        """Nothing.

        Examples
        --------
        >>> 1 + 1
        2
        """

    def no_section() -> None:
        """Nothing, and an example outside any section.

        >>> 1 + 1
        2
        """

    assert kaigai_api.run_examples("one_statement", one_statement).problems == [
        f"one_statement: its Examples section has 1 statement(s), fewer than {kaigai_api.MIN_STATEMENTS}"]
    assert kaigai_api.run_examples("no_section", no_section).problems == ["no_section has no numpydoc Examples section"]


def test_the_command_line_page_shows_every_command() -> None:
    from kaigai_lib.replication.cli import build_parser

    shown = dict(kaigai_api.cli_help())
    assert shown["kaigai"].startswith("usage: kaigai") and build_parser().description in shown["kaigai"]
    for command in ("replicate", "check-disclosure", "generate", "exercises make", "course grade"):
        assert f"kaigai {command}" in shown, command
        assert shown[f"kaigai {command}"].startswith(f"usage: kaigai {command}")
    assert all(max(map(len, text.splitlines())) <= 96 for text in shown.values())


def test_only_other_packages_types_go_unlinked() -> None:
    """The build is offline (no intersphinx): pandas', numpy's … types in signatures have no page to link to and are
    ignored by name; kaigai_lib's own names are not (one exception, named exactly), so a broken link to the library
    still fails the build."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    patterns = [(re.compile(kind), re.compile(target)) for kind, target in config["nitpick_ignore_regex"]]

    def ignored(kind: str, target: str) -> bool:
        return any(k.fullmatch(kind) and t.fullmatch(target) for k, t in patterns)

    assert ignored("py:class", "pandas.core.frame.DataFrame") and ignored("py:class", "pd.DataFrame")
    assert ignored("py:class", "matplotlib.axes._axes.Axes") and ignored("py:class", "numpy.ndarray")
    assert ignored("py:class", "kaigai_lib.data.schema.TableSchema")
    for target in ("kaigai_lib.EventChanges", "kaigai_lib.estimators.did.EventChanges", "kaigai_lib.data.schema.X",
                   "EventChanges", "propensity_match", "kaigai_lib.data.schema.TableSchemaX"):
        for kind in ("py:class", "py:func", "py:meth", "py:obj"):
            assert not ignored(kind, target), (kind, target)


@pytest.mark.book
def test_the_built_reference_has_every_public_name_once(built_site: Path) -> None:
    from bs4 import BeautifulSoup

    for site in (built_site, built_site / "ja"):
        ids: Counter = Counter()
        for page in _pages():
            soup = BeautifulSoup((site / "book" / "api" / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
            ids.update(tag["id"] for tag in soup.select("dl.py > dt[id]") if tag["id"].count(".") == 1)
        assert sorted(ids) == sorted(f"kaigai_lib.{name}" for name in kaigai_lib.__all__)
        assert set(ids.values()) == {1}
        cli = BeautifulSoup((site / "book" / "api" / "replication.html").read_text(encoding="utf-8"), "html.parser")
        assert len(cli.select("pre")) == len(kaigai_api.cli_help())
