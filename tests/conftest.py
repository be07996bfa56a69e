from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kaigai_lib.world.synthetic import World, generate


@pytest.fixture(scope="session")
def tiny_world() -> World:
    return generate(preset="tiny", seed=0)


@pytest.fixture(scope="session")
def book_world() -> World:
    return generate(preset="book", seed=0)


# --------------------------------------------------------------------------------------------------
# The book, built once per test session and shared by test_book.py and test_site.py

ROOT = Path(__file__).resolve().parents[1]
# The public build is made with a repository set, so its launch buttons and install cells are tested;
# this value only appears in the test build (see tools/kaigai_site.py for the real setting).
TEST_REPOSITORY = "test-owner/kaigai-test"


def tiny_exercise(exercise_id: str) -> str:
    """A quick exercise file (a small tiny world, a naive difference): for tests of files, keys and ids."""
    return f"""\
id: {exercise_id}
question: "Naive difference in 5-year log sales growth of export starters vs non-starters."
world:
  preset: tiny
  seed: 5
  params: {{n_firms: 800}}
quantity: {{kind: naive_difference, analysis: export, outcome: sales, horizon: 5}}
tolerance: 0
tables: [foreign_demand]
"""


def build_book(out: Path, *, hide_solutions: bool, repository: str = "") -> Path:
    """`jupyter-book build` as `make book` does (-n -W --keep-going) into ``out``; returns the html folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGAI_REPOSITORY")}
    env["KAIGAI_HIDE_SOLUTIONS"] = "1" if hide_solutions else "0"
    if repository:
        env["KAIGAI_REPOSITORY"] = repository
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-n", "-W", "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, timeout=1800, env=env)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    html = out / "_build" / "html"
    # the Japanese edition, as `make book-ja` builds it: into html/ja, from the English build's execution cache
    env.update(KAIGAI_LANGUAGE="ja", KAIGAI_EXECUTION_CACHE=str(out / "_build" / ".jupyter_cache"))
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-n", "-W", "--keep-going", "--path-output", str(out / "ja")],
        capture_output=True, text=True, timeout=1800, env=env)
    assert result.returncode == 0, f"Japanese build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    shutil.copytree(out / "ja" / "_build" / "html", html / "ja")
    return html


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public site (solutions shown in dropdowns), built once. KAIGAI_TEST_SITE=<html folder> reuses one."""
    if os.environ.get("KAIGAI_TEST_SITE"):
        return Path(os.environ["KAIGAI_TEST_SITE"])
    return build_book(tmp_path_factory.mktemp("book"), hide_solutions=False, repository=TEST_REPOSITORY)


@pytest.fixture(scope="session")
def course_site(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course edition (no solutions, no repository), re-using the public build's execution cache."""
    if os.environ.get("KAIGAI_TEST_COURSE_SITE"):
        return Path(os.environ["KAIGAI_TEST_COURSE_SITE"])
    out = tmp_path_factory.mktemp("course")
    cache = built_site.parent / ".jupyter_cache"
    if cache.is_dir():
        shutil.copytree(cache, out / "_build" / ".jupyter_cache")
    return build_book(out, hide_solutions=True)


# --------------------------------------------------------------------------------------------------
# A tiny world written by `kaigai generate` and one `kaigai replicate` of it, shared by the disclosure tests

@pytest.fixture(scope="module")  # a fresh frame per module: no module sees another's edits
def job_training() -> pd.DataFrame:
    """Data not from generate(): NSW treated and CPS comparison workers (Dehejia & Wahba), from `causaldata`."""
    causaldata = pytest.importorskip("causaldata")
    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    return pd.concat([nsw.loc[nsw["treat"] == 1], cps], ignore_index=True)


@pytest.fixture(scope="session")
def tiny_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kaigai_lib.replication.cli import main

    folder = tmp_path_factory.mktemp("tiny-inputs") / "tiny"
    assert main(["generate", "--preset", "tiny", "--seed", "3", "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="session")
def tiny_results(tiny_inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kaigai_lib.replication.cli import main

    out = tmp_path_factory.mktemp("tiny-results") / "results"
    assert main(["replicate", "--firms", str(tiny_inputs / "firms.parquet"), "--establishments",
                 str(tiny_inputs / "establishments.csv"), "--foreign-demand", str(tiny_inputs / "foreign_demand.csv"),
                 "--out", str(out)]) == 0
    return out
# Chromium for the browser tests (test_site.py, test_static_widgets.py)

CHROMIUM = Path(os.environ.get("KAIGAI_CHROMIUM", "/usr/bin/chromium"))
# the flags this machine's closed network needs (no background requests to Google's hosts), and every
# host but localhost made unresolvable: the site is read with the network off
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the whole session (Playwright's sync API allows one running instance at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright starts Chromium with a new, empty --user-data-dir of its own
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


BOOK_FIXTURES = {"built_site", "course_site"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs a built book is a book test, marked or not: `make test-fast` (-m "not book") must never
    build the book because one test forgot its marker."""
    for item in items:
        if BOOK_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("book") is None:
            item.add_marker(pytest.mark.book)


@pytest.fixture(scope="module")
def chilean() -> pd.DataFrame:
    """The Chilean plant panel of R's prodest (shared/reference-data), or a skip naming where it was looked for."""
    from kaigai_lib.data.reference_data import load_prodest_chilean

    try:
        return load_prodest_chilean()
    except FileNotFoundError as missing:
        pytest.skip(f"external check skipped: {missing}")
