"""The book builds with every chapter executed and no warning (the same command as `make book`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-n", "-W", "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return out / "_build" / "html"


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
