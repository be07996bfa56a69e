"""Solutions stay true to their numbers, and prose quotes no result by hand.

1. Every exercise solution that runs code must check the claims its text
   makes (signs, orderings, "falls", "within one s.e.") with ``assert``
   statements in a ``remove-cell`` cell inside the solution. The book build
   executes every solution (``execute_notebooks``, ``allow_errors: false``), so a
   solution whose numbers drift from its text fails the build. The solutions
   not yet converted are listed below by label; the list may only shrink.
2. No decimal number in a chapter's prose is typed by hand: every decimal
   number outside code, math and glue roles must be a value the chapter's
   own code sets (a caliper, a slider position, a threshold), or one of the
   field's conventions listed below.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.md"))
SOLUTION = re.compile(r"```\{solution-start\} ([\w-]+)(.*?)```\{solution-end\}", re.S)
CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)\n```", re.S)
CLAIM_CHECK = re.compile(r"^:tags: \[remove-cell\]\n(?:.*\n)*?.*\bassert\b", re.M)

# Solutions written before claim checks existed; convert them (add a remove-cell with asserts), then drop them here.
NOT_YET_CHECKED: set[str] = set()
# Conventions of the field and design constants quoted in prose: 95 % coverage, the |SMD| line, the default
# caliper (0.2 SD of the logit score, Austin 2011), the
# foreign-ownership threshold (33.3 %), the log-point conversion example, the Python version.
CONVENTIONS = {"0.95", "0.1", "0.10", "0.2", "10.5", "33.3", "3.11"}


def _solutions() -> list[tuple[str, str, str]]:
    return [(path.name, m.group(1), m.group(2)) for path in CHAPTERS for m in SOLUTION.finditer(path.read_text())]


def _has_claim_check(body: str) -> bool:
    return any(CLAIM_CHECK.match(cell) for cell in CODE_CELL.findall(body))


def test_the_solutions_are_found() -> None:
    labels = [label for _, label, _ in _solutions()]
    assert len(labels) >= 35 and len(labels) == len(set(labels))
    assert set(labels) >= NOT_YET_CHECKED, sorted(NOT_YET_CHECKED - set(labels))


@pytest.mark.parametrize(("chapter", "label", "body"), _solutions(), ids=lambda v: v if len(v) < 40 else "")
def test_every_solution_with_code_checks_its_claims(chapter: str, label: str, body: str) -> None:
    if "{code-cell}" not in body:
        return  # a prose-only solution computes nothing to check
    if label in NOT_YET_CHECKED:
        assert not _has_claim_check(body), f"{chapter}: {label} checks its claims now: remove it from NOT_YET_CHECKED"
        return
    assert _has_claim_check(body), (
        f"{chapter}: solution {label} runs code but checks none of the claims its text makes; add a cell tagged "
        "remove-cell with assert statements on the values the text describes")


def _prose(text: str) -> str:
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code cells and directive fences with their bodies
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", "", text)
    text = re.sub(r"\{glue:[a-z]+\}`[^`]*`", "", text)
    return re.sub(r"`[^`]*`", "", text)


def _code(text: str) -> str:
    return "\n".join(CODE_CELL.findall(text))


@pytest.mark.parametrize("path", [*CHAPTERS, ROOT / "book" / "intro.md"], ids=lambda p: p.name)
def test_no_result_is_typed_into_the_prose(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    code = _code(text)
    typed = []
    for number in re.findall(r"(?<![\w.\-−])[-−]?\d+\.\d+(?![\w.])", _prose(text)):
        literal = number.lstrip("-−")
        if literal in CONVENTIONS or re.search(rf"(?<![\w.]){re.escape(literal)}(?![\w.])", code):
            continue  # a setting the reader can see in the code (caliper=0.005), or a convention
        typed.append(number)
    assert not typed, (f"{path.name}: decimal number(s) {typed} in the prose are neither set by the chapter's code "
                       "nor conventions: glue the computed value ({glue:text}) instead of typing it")
