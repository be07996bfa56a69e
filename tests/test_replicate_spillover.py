"""`kaigai replicate`'s spillover stage offers the controls and standard errors of ``fit_spillover`` (issue 14:
the white paper's shipments control is a bad control when shipments include exports), and the firms behind the
shipments control pass the disclosure rules like every other group the model rests on."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.disclosure import DisclosureRules
from kaigai_lib.estimators import spatial
from kaigai_lib.replication.replicate import ANALYSIS_DEFAULTS, Config, Run, read_config, stage_spatial

OFF = DisclosureRules(min_firms=1, dominance_share=1.0, p_percent=0.0, min_firms_coefficient=1, min_residual_df=0)


@pytest.fixture(scope="module")
def inputs(tiny_inputs: Path) -> dict[str, pd.DataFrame]:
    return {"firms": pd.read_parquet(tiny_inputs / "firms.parquet"),
            "establishments": pd.read_csv(tiny_inputs / "establishments.csv"),
            "foreign_demand": pd.read_csv(tiny_inputs / "foreign_demand.csv")}


def _stage(tmp_path: Path, inputs: dict[str, pd.DataFrame], rules: DisclosureRules, **analysis: str) -> pd.DataFrame:
    out = tmp_path / "_".join(analysis.values() or ["default"])
    out.mkdir()
    config = Config(disclosure=rules, analysis={**ANALYSIS_DEFAULTS, **analysis})
    return stage_spatial(Run(inputs=inputs, config=config, out=out, log=logging.getLogger("kaigai.test.spill")))


def test_the_config_chooses_the_control_and_the_errors(tmp_path: Path) -> None:
    config = tmp_path / "replicate.toml"
    for control in spatial.CONTROLS:
        config.write_text(f'[analysis]\nspillover_control = "{control}"\nspillover_cluster = "driscoll_kraay"\n',
                          encoding="utf-8")
        settings = read_config(config).analysis
        assert (settings["spillover_control"], settings["spillover_cluster"]) == (control, "driscoll_kraay")
    assert (ANALYSIS_DEFAULTS["spillover_control"], ANALYSIS_DEFAULTS["spillover_cluster"]) == ("shipments", "entity")


@pytest.mark.parametrize(("control", "cluster"), [("domestic_shipments", "firm"), ("non_exporter_shipments", "year"),
                                                  ("lagged_shipments", "driscoll_kraay"), ("none", "entity")])
def test_the_stage_fits_the_chosen_model(control: str, cluster: str, inputs: dict, tmp_path: Path) -> None:
    table = _stage(tmp_path, inputs, OFF, spillover_control=control, spillover_cluster=cluster)
    catchments = spatial.build_catchments(inputs["establishments"], inputs["firms"])
    direct = spatial.fit_spillover(catchments, inputs["foreign_demand"], control=control, cluster=cluster).tidy()
    shown = table.set_index("regressor")
    assert list(shown.index) == direct["term"].tolist()
    np.testing.assert_allclose(shown["estimate"], direct["estimate"], rtol=1e-12)
    np.testing.assert_allclose(shown["std_error"], direct["std_error"], rtol=1e-12)
    default = _stage(tmp_path, inputs, OFF).set_index("regressor")
    opr = spatial.OPR
    assert shown.loc[opr, "estimate"] != pytest.approx(default.loc[opr, "estimate"], rel=1e-6)


@pytest.mark.parametrize("control", [c for c in spatial.CONTROLS if c != "none"])
def test_control_contributions_add_up_to_the_areas_control(control: str, inputs: dict) -> None:
    catchments = spatial.build_catchments(inputs["establishments"], inputs["firms"])
    rows = catchments.control_contributions(control)
    assert len(rows) == len(catchments.members) and rows["firm_id"].notna().all()
    summed = rows.groupby(["centre_id", "year"])["amount"].sum()
    column = spatial.SHIPMENTS if control == spatial.LAGGED_SHIPMENTS else control
    areas = catchments.areas.set_index(["centre_id", "year"])[column]
    np.testing.assert_allclose(summed.reindex(areas.index).to_numpy(), areas.to_numpy(), rtol=1e-9)


def test_a_control_resting_on_one_firm_is_suppressed(inputs: dict, tmp_path: Path) -> None:
    """Every never-exporting establishment but one firm's is made to export a little once: the non-exporters'
    shipments control then rests on that one firm, and no coefficient of the model may be shown."""
    establishments = inputs["establishments"].copy()
    ever = establishments.groupby("establishment_id")["exports"].transform("max") > 0
    catchments = spatial.build_catchments(establishments, inputs["firms"])
    in_areas = set(catchments.members["establishment_id"])
    never = establishments.loc[~ever & establishments["establishment_id"].isin(in_areas)]
    kept_firm = never["firm_id"].value_counts().index[0]
    first_rows = never.loc[never["firm_id"] != kept_firm].groupby("establishment_id").head(1).index
    establishments.loc[first_rows, "exports"] = 0.01
    edited = {**inputs, "establishments": establishments}
    rules = DisclosureRules()
    alone = _stage(tmp_path, edited, rules, spillover_control="non_exporter_shipments")
    assert alone["suppressed"].all() and alone["estimate"].isna().all()
    assert alone["suppression_reason"].str.contains("control firms: fewer than").all()
    assert alone["groups"].str.contains("control firms=1").all()
    # the same data under the white paper's control: its shipments rest on many firms
    default = _stage(tmp_path, edited, rules)
    assert not default["suppression_reason"].fillna("").str.contains("control firms").any()
    decomposition = pd.read_csv(next(tmp_path.glob("non_exporter_shipments*")) / "spillover_decomposition.csv")
    assert decomposition.loc[decomposition["term"] != "foreign_demand_di", "suppressed"].all()


@pytest.mark.parametrize("dtype", ["float64", "Int64", "int64[pyarrow]"])
def test_the_stage_links_firm_ids_of_another_dtype_by_value(dtype: str, inputs: dict, tmp_path: Path) -> None:
    # firm_id int64 in the plant CSV but another dtype in the firm file stopped the stage with pandas' MergeError
    default = _stage(tmp_path, inputs, OFF)
    retyped = {**inputs, "firms": inputs["firms"].assign(firm_id=inputs["firms"]["firm_id"].astype(dtype))}
    (tmp_path / dtype).mkdir()
    pd.testing.assert_frame_equal(_stage(tmp_path / dtype, retyped, OFF), default)
