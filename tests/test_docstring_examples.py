"""Every public name's numpydoc ``Examples`` section runs and shows what it says (issue 15).

Every function and class of ``kaigai_lib.__all__`` has an ``Examples`` section of at least
``kaigai_api.MIN_STATEMENTS`` statements, and every line gives the output the docstring shows. The examples
build on the tiny synthetic world, so they run in about a second each. The API reference (book/api/) renders
the same text and the English build runs the same check (``tools/kaigai_api.py``), so a wrong example fails both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import kaigai_lib

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import kaigai_api

PUBLIC = sorted(kaigai_lib.__all__)


def test_every_public_name_is_a_function_or_a_class() -> None:
    import inspect

    others = [name for name in PUBLIC if not (inspect.isfunction(obj := getattr(kaigai_lib, name))
                                               or inspect.isclass(obj))]
    assert not others, f"public names that are neither functions nor classes (give them a checked example): {others}"


@pytest.mark.parametrize("name", PUBLIC)
def test_the_example_runs(name: str) -> None:
    run = kaigai_api.run_examples(name)
    assert run.has_section, f"{name} ({run.file}:{run.line}) has no numpydoc Examples section"
    assert run.statements >= kaigai_api.MIN_STATEMENTS, f"{name}: {run.statements} statement(s) in its Examples"
    assert not run.failures, f"{name} ({run.file}):\n" + "\n".join(map(str, run.failures))
