"""Every public estimator's numpydoc ``Examples`` section runs and shows what it says (issue 15).

The examples build on the tiny synthetic world, so they run in a few seconds each; the API reference renders
the same text, and this test keeps it true.
"""

from __future__ import annotations

import doctest
import importlib

import matplotlib
import pytest

ESTIMATORS = {
    "kaigai_lib.estimators.matching": ["propensity_match"],
    "kaigai_lib.estimators.did": ["event_changes", "matched_did", "staggered_event_study"],
    "kaigai_lib.estimators.programme": ["treatment_did"],
    "kaigai_lib.estimators.tfp": ["ols_production", "fixed_effects_production", "levinsohn_petrin",
                                  "ackerberg_caves_frazer"],
    "kaigai_lib.estimators.spatial": ["build_catchments", "fit_spillover"],
    "kaigai_lib.estimators.naive": ["naive_difference"],
    "kaigai_lib.whitepaper.did_design": ["white_paper_did"],
    "kaigai_lib.whitepaper.selection": ["decompose"],
    "kaigai_lib.whitepaper.samples": ["matching_sample"],
}
CASES = [(module, name) for module, names in ESTIMATORS.items() for name in names]


@pytest.mark.parametrize(("module", "name"), CASES, ids=[name for _, name in CASES])
def test_the_example_runs(module: str, name: str) -> None:
    matplotlib.use("Agg")
    function = getattr(importlib.import_module(module), name)
    assert "\nExamples\n" in function.__doc__.replace(" ", ""), f"{module}.{name} has no Examples section"
    tests = doctest.DocTestFinder(recurse=False).find(function, name, globs={})
    examples = sum(len(t.examples) for t in tests)
    assert examples >= 3, f"{module}.{name}: its Examples section has {examples} statement(s)"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{module}.{name}: {result.failed} of {result.attempted} example line(s) failed"

