"""kaigai_lib: causal evaluation of firms' overseas expansion, on synthetic and real firm data.

The layers, each importing only those below it (``tests/test_layout.py`` checks the direction):

* :mod:`kaigai_lib.data` — schema, start years and risk sets, output folders, disclosure control, reference data;
* :mod:`kaigai_lib.estimators` — matching, difference-in-differences, TFP, spatial spillovers (DataFrame in,
  result out);
* :mod:`kaigai_lib.world` — the synthetic world with known truth;
* :mod:`kaigai_lib.whitepaper` — the white paper's design: the matching sample, its DiD, selection, coverage;
* :mod:`kaigai_lib.teaching` — the book's figures and widgets;
* :mod:`kaigai_lib.exercises` — exercises, courses and grading;
* :mod:`kaigai_lib.replication` — ``kaigai replicate`` and the command line (imported by nothing else).

The names below are the public API, importable from the top (``from kaigai_lib import white_paper_did``). They are
loaded on first use, so ``import kaigai_lib`` stays fast (the command line imports only what a command needs).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["Column", "SchemaError", "MissingColumnsError", "require_columns", "validate"],
                    "kaigai_lib.data.schema"),
    **dict.fromkeys(["RiskSet", "risk_set", "sector", "size_class"], "kaigai_lib.data.starts"),
    **dict.fromkeys(["OutputError", "OutputFolder"], "kaigai_lib.data.outputs"),
    **dict.fromkeys(["CellCheck", "DisclosureRules", "FolderCheck", "check_cell", "check_results", "protect"],
                    "kaigai_lib.data.disclosure"),
    **dict.fromkeys(["load_prodest_chilean"], "kaigai_lib.data.reference_data"),
    **dict.fromkeys(["ATTResult", "MatchResult", "propensity_match"], "kaigai_lib.estimators.matching"),
    **dict.fromkeys(["DidResult", "EventChanges", "StaggeredEventStudy", "event_changes", "matched_did",
                     "staggered_event_study"], "kaigai_lib.estimators.did"),
    **dict.fromkeys(["GroupedProductionResult", "ProductionResult", "ackerberg_caves_frazer",
                     "fixed_effects_production", "levinsohn_petrin", "log_columns", "ols_production"],
                    "kaigai_lib.estimators.tfp"),
    **dict.fromkeys(["Catchments", "SpilloverResult", "build_catchments", "fit_spillover", "global_firm_plants",
                     "haversine_km"], "kaigai_lib.estimators.spatial"),
    **dict.fromkeys(["TreatmentDid", "treatment_did"], "kaigai_lib.estimators.programme"),
    **dict.fromkeys(["new_figure", "plot_growth_bars"], "kaigai_lib.estimators.plots"),
    **dict.fromkeys(["Truth", "World", "WorldParams", "describe_parameters", "generate"],
                    "kaigai_lib.world.synthetic"),
    **dict.fromkeys(["write_snapshot"], "kaigai_lib.world.snapshot"),
    **dict.fromkeys(["MatchingSample", "balance_of", "caliper_sweep", "matching_sample"],
                    "kaigai_lib.whitepaper.samples"),
    **dict.fromkeys(["WhitePaperDid", "bias_decomposition", "clear_other_start", "design_comparison",
                     "growth_table", "other_starts", "true_effects", "white_paper_did",
                     "white_paper_did_both"],
                    "kaigai_lib.whitepaper.did_design"),
    **dict.fromkeys(["coverage_study", "coverage_summary"], "kaigai_lib.whitepaper.coverage"),
    **dict.fromkeys(["NaiveDifference", "naive_difference"], "kaigai_lib.estimators.naive"),
    **dict.fromkeys(["Decomposition", "decompose"], "kaigai_lib.whitepaper.selection"),
    # the widgets, and the classes of what they return (documented, so a reader can look up what they got)
    **dict.fromkeys(["AnswerCheck", "ConceptCheck", "concept_check", "numeric_concept_check"],
                    "kaigai_lib.teaching.static_widgets"),
    **dict.fromkeys(["CaliperExplorer", "caliper_explorer"], "kaigai_lib.teaching.matching_widgets"),
    **dict.fromkeys(["RadiusExplorer", "radius_explorer"], "kaigai_lib.teaching.spatial_widgets"),
    **dict.fromkeys(["DestinationExplorer", "destination_explorer"], "kaigai_lib.teaching.survey"),
    **dict.fromkeys(["ExerciseSpec", "ExerciseWidget", "Feedback", "NumericExercise", "QualityReport",
                     "SelectionBiasExplorer", "SelectionExplorer", "exercise_widget", "load_exercise",
                     "quality_report", "selection_bias_explorer", "selection_explorer"], "kaigai_lib.exercises.spec"),
    **dict.fromkeys(["CourseMade", "grade_course", "make_course"], "kaigai_lib.exercises.classroom"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # PEP 562: import the defining module on first use and cache the name here
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kaigai_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
