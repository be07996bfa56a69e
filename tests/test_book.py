"""The book builds with every chapter executed and no warning (the same command as `make book`).

The build itself is the session fixture `built_site` (tests/conftest.py), shared with test_site.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _toc_files() -> list[str]:
    """Every file of _toc.yml, in reading order (root, parts, chapters and their nested sections)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters", []) + entry.get("sections", []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return files


@pytest.mark.book
def test_every_page_in_the_toc_is_built(built_site: Path) -> None:
    assert (built_site / "index.html").exists()
    for page in _toc_files():
        assert (built_site / f"{page}.html").exists(), page


@pytest.mark.book
def test_chapters_are_executed_with_outputs_and_no_errors(built_site: Path) -> None:
    chapters = [p for p in _toc_files() if p.startswith("notebooks/")]
    assert chapters
    for chapter in chapters:
        html = (built_site / f"{chapter}.html").read_text(encoding="utf-8")
        assert "cell_output" in html, f"{chapter} has no executed output"
        assert re.search(r"<img[^>]+src=\"[^\"]*_images/", html), f"{chapter} has no figure"
        # an error output (myst-nb renders tracebacks in an "output traceback" block); code that merely
        # mentions an exception, e.g. `except FileNotFoundError`, is fine
        assert 'class="output traceback' not in html, f"{chapter} shows an error"


@pytest.mark.book
def test_citations_and_glossary_render(built_site: Path) -> None:
    bibliography = (built_site / "book" / "bibliography.html").read_text(encoding="utf-8")
    assert "Levinsohn" in bibliography and "Rosenbaum" in bibliography
    glossary = (built_site / "book" / "glossary.html").read_text(encoding="utf-8")
    assert "傾向スコアマッチング" in glossary
