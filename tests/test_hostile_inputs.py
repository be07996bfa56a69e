"""Hostile inputs to the public estimators (issue 14, §1): data not from generate(), re-typed, reordered, broken.

Each test asserts the right result: the same estimate as the clean frame (to 1e-10) when the input means the
same thing (a shuffled or relabelled frame, nullable or narrow dtypes, numbers stored as text, a Stata or
Parquet round trip, a CSV read with ``dtype=str``), or an error that names the column (and rows) and the fix
when it does not (repeated column names, an empty frame, infinite values, a status coded yes/no, ids of two
kinds). The data: the job-training data (NSW treated and CPS controls, ``causaldata``), the tiny synthetic
world cut to a few years, and the hand-built plant tables of ``test_spatial_inputs``.
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib import (
    SchemaError,
    build_catchments,
    event_changes,
    fit_spillover,
    levinsohn_petrin,
    log_columns,
    matched_did,
    naive_difference,
    propensity_match,
    risk_set,
    staggered_event_study,
    validate,
    white_paper_did,
)
from kaigai_lib.estimators.spatial import SpatialInputError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_spatial_inputs import hand_built

COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
FULL_WIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


def att(data: pd.DataFrame, **options) -> tuple[float, float]:
    result = propensity_match(data, "treat", options.pop("covariates", COVARIATES), **options).att("re78")
    return result.estimate, result.std_error


def quiet(function, *args, **kwargs):
    """Call and return, with the warnings of text read as numbers (asserted elsewhere) kept out of the log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return function(*args, **kwargs)


# --------------------------------------------------------------------------- propensity_match / MatchResult

MATCH_OPTIONS = [{}, {"replace": True}, {"ratio": 2}, {"ratio": 2, "replace": True}, {"discard": "both"},
                 {"exact": "black"}, {"order": "random"}]


@pytest.mark.parametrize("options", MATCH_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "1:1")
def test_row_order_and_index_labels_do_not_change_the_match(job_training: pd.DataFrame, options: dict) -> None:
    # CPS has many workers with identical covariates: their scores tie, and a tie broken by row position
    # would give a shuffled copy of the same data another ATT
    data = job_training
    assert data[COVARIATES].duplicated().sum() > 100
    clean = att(data, **options)
    shuffled = data.sample(frac=1, random_state=3)
    variants = {
        "shuffled": shuffled,
        "shuffled, index reset": shuffled.reset_index(drop=True),
        "reversed": data.iloc[::-1],
        "string index": data.set_axis([f"w{i}" for i in range(len(data))]),
        "MultiIndex": data.set_axis(pd.MultiIndex.from_arrays([np.arange(len(data)) % 7, np.arange(len(data))])),
    }
    for name, variant in variants.items():
        np.testing.assert_allclose(att(variant, **options), clean, rtol=1e-10, atol=0, err_msg=name)


def test_unit_restriction_does_not_depend_on_row_order(job_training: pd.DataFrame) -> None:
    data = job_training.assign(person=np.arange(len(job_training)) // 3)
    clean = att(data, unit="person")
    np.testing.assert_allclose(att(data.sample(frac=1, random_state=4).reset_index(drop=True), unit="person"),
                               clean, rtol=1e-10, atol=0)


def _stata_round_trip(data: pd.DataFrame) -> pd.DataFrame:
    buffer = io.BytesIO()
    data.to_stata(buffer, write_index=False, version=118)
    buffer.seek(0)
    return pd.read_stata(buffer)


def _parquet_round_trip(data: pd.DataFrame) -> pd.DataFrame:
    pytest.importorskip("pyarrow")
    buffer = io.BytesIO()
    data.to_parquet(buffer)
    buffer.seek(0)
    return pd.read_parquet(buffer)


RETYPED = {
    "nullable Int64": lambda d: d.astype({c: "Int64" for c in ["age", "educ", "black", "hisp", "marr", "nodegree"]}),
    "nullable Float64": lambda d: d.astype({"re74": "Float64", "re75": "Float64", "re78": "Float64"}),
    "uint8": lambda d: d.astype({"age": "uint8", "educ": "uint8", "black": "uint8"}),
    "int16 (Stata)": lambda d: d.astype({"age": "int16", "educ": "int16"}),
    "bool treatment": lambda d: d.assign(treat=d["treat"].astype(bool)),
    "boolean treatment": lambda d: d.assign(treat=d["treat"].astype("boolean")),
    "categorical treatment": lambda d: d.assign(treat=d["treat"].astype("category")),
    "boolean dummies": lambda d: d.astype({"black": "boolean", "hisp": bool, "marr": bool}),
    "pyarrow strings": lambda d: d.assign(age=d["age"].astype(str).astype("string[pyarrow]")),
    "full-width digits": lambda d: d.assign(educ=d["educ"].astype(int).astype(str).str.translate(FULL_WIDTH)),
    "Stata round trip": _stata_round_trip,
    "Parquet round trip": _parquet_round_trip,
    "CSV read with dtype=str": lambda d: pd.read_csv(io.StringIO(d.to_csv(index=False)), dtype=str),
    "columns named like internal ones": lambda d: d.assign(_treated=1, _pair=-1, _weight=9.0, _logit=0.0,
                                                           _score=0.5, pair=3),
}


@pytest.mark.parametrize("case", sorted(RETYPED))
def test_retyped_data_give_the_same_match(job_training: pd.DataFrame, case: str) -> None:
    data = job_training.astype({c: float for c in ["re74", "re75", "re78"]})
    np.testing.assert_allclose(quiet(att, RETYPED[case](data)), att(data), rtol=1e-10, atol=0)


def test_numbers_as_text_are_read_and_said(job_training: pd.DataFrame) -> None:
    text = job_training.assign(educ=job_training["educ"].astype(int).astype(str).str.translate(FULL_WIDTH))
    with pytest.warns(UserWarning, match="'educ': numbers stored as text read as numbers"):
        result = propensity_match(text, "treat", COVARIATES)
    assert "'educ': numbers stored as text read as numbers" in result.summary()


def test_a_constant_covariate_is_left_out_with_a_warning(job_training: pd.DataFrame) -> None:
    with pytest.warns(UserWarning, match=r"\['cohort'\] take one value in every row"):
        result = propensity_match(job_training.assign(cohort=1.0), "treat", [*COVARIATES, "cohort"])
    assert result.covariates == COVARIATES
    assert result.att("re78").estimate == pytest.approx(att(job_training)[0], rel=1e-10)


MATCH_ERRORS = {
    "repeated column name": (lambda d: d.set_axis([*d.columns[:-1], "age"], axis=1), ["'age'", "more than once"]),
    "empty frame": (lambda d: d.iloc[:0], ["no rows"]),
    "infinite covariate": (lambda d: d.assign(re74=d["re74"].where(d.index != 7, np.inf)),
                           ["infinite", "'re74'", "index [7]"]),
    "treatment coded 1/2": (lambda d: d.assign(treat=d["treat"] + 1), ["'treat'", "['1', '2']", ".eq(2)"]),
    "treatment coded yes/no": (lambda d: d.assign(treat=d["treat"].map({1: "yes", 0: "no"})),
                               ["'treat'", "['no', 'yes']", ".eq('yes')"]),
    "treatment missing": (lambda d: d.assign(treat=d["treat"].astype(float).where(d.index != 2)),
                          ["'treat'", "missing in 1 row", "rows 2"]),
}


@pytest.mark.parametrize("case", sorted(MATCH_ERRORS))
def test_broken_frames_are_refused_naming_the_column_and_fix(job_training: pd.DataFrame, case: str) -> None:
    edit, expected = MATCH_ERRORS[case]
    with pytest.raises(ValueError) as error:
        propensity_match(edit(job_training), "treat", COVARIATES)
    for text in expected:
        assert text in str(error.value), (text, str(error.value))


def test_att_and_balance_refuse_what_would_give_nan_or_a_statsmodels_error(job_training: pd.DataFrame) -> None:
    data = job_training.assign(re78=job_training["re78"].astype(float).where(job_training.index != 0, np.inf),
                               firm=np.arange(len(job_training)) // 2, label="NSW")
    result = propensity_match(data, "treat", COVARIATES)
    with pytest.raises(ValueError, match=r"'re78' is infinite in 1 row\(s\) \(rows 0\)"):
        result.att("re78")
    with pytest.raises(ValueError, match=r"'re78' is infinite"):
        result.balance(addl=["re78"])
    with pytest.raises(ValueError, match=r"'label' holds \d+ value\(s\) that are not numbers"):
        result.balance(addl=["label"])
    with pytest.raises(ValueError, match="'label' takes one value in every matched row"):
        result.att("re75", firm="label")
    gaps = propensity_match(data.assign(firm=data["firm"].where(data.index % 5 != 0)), "treat", COVARIATES)
    with pytest.raises(ValueError, match="firm column 'firm' is missing for"):
        gaps.att("re75", firm="firm")
    # a dummy is balanced as a dummy; numbers stored as text are read: the same row as the numbers
    dummies = result.balance(addl=["nodegree"]).loc["nodegree"]
    assert dummies["type"] == "binary" and np.isnan(dummies["variance_ratio_after"])
    with_text = propensity_match(data.assign(r=data["re75"].astype(str)), "treat", COVARIATES)
    with pytest.warns(UserWarning, match="numbers stored as text"):
        table = with_text.balance(addl=["re75", "r"])
    pd.testing.assert_series_equal(table.loc["r"], table.loc["re75"], check_names=False)


# --------------------------------------------------------------------------- event_changes / matched_did

@pytest.fixture(scope="module")
def exporters(tiny_world) -> tuple[pd.DataFrame, pd.DataFrame]:
    firms = tiny_world.firms
    firms = firms.loc[firms["year"].between(2000, 2012)].reset_index(drop=True)
    rows = risk_set(firms, "exporter", first_start_year=2003, last_start_year=2006).rows
    rows = rows.assign(log_employees=np.log(rows["employees"]), log_sales=np.log(rows["sales"]),
                       size=np.where(rows["employees"] >= 100, "large", "small"))
    match = propensity_match(rows, "start", ["log_employees", "log_sales"], unit="firm_id", exact=["year", "size"])
    return firms, match.matched


def did_table(panel: pd.DataFrame, matched: pd.DataFrame, **options) -> pd.DataFrame:
    changes = event_changes(panel, matched, ["sales", "employees"], horizons=[1, 3], pre_horizons=[-2],
                            keep=["size"])
    return matched_did(changes, **options).table[["outcome", "group", "horizon", "estimate", "std_error",
                                                  "n_treated", "n_control"]]


DID_RETYPED = {
    "shuffled panel": lambda p, m: (p.sample(frac=1, random_state=1), m),
    "shuffled matched rows": lambda p, m: (p, m.sample(frac=1, random_state=2)),
    "years as text": lambda p, m: (p.assign(year=p["year"].astype(str)), m.assign(year=m["year"].astype(str))),
    "years as float": lambda p, m: (p.assign(year=p["year"].astype(float)), m),
    "firm ids as text in both": lambda p, m: (p.assign(firm_id=p["firm_id"].astype(str)),
                                              m.assign(firm_id=m["firm_id"].astype(str))),
    "outcomes Float64": lambda p, m: (p.astype({"sales": "Float64", "employees": "Int64"}), m),
    "outcome as text": lambda p, m: (p.assign(sales=p["sales"].astype(str)), m),
    "starter flag as text": lambda p, m: (p, m.assign(_treated=m["_treated"].astype(str))),
    "panel with a MultiIndex and repeated labels": lambda p, m: (p.set_axis([0] * len(p)), m),
}


@pytest.mark.parametrize("case", sorted(DID_RETYPED))
def test_retyped_panels_give_the_same_did(exporters, case: str) -> None:
    panel, matched = exporters
    clean = did_table(panel, matched, group="size")
    got = quiet(did_table, *DID_RETYPED[case](panel, matched), group="size")
    pd.testing.assert_frame_equal(got, clean, check_exact=False, rtol=1e-10, atol=1e-12)


DID_ERRORS = {
    "firm ids of two kinds": (lambda p, m: (p.assign(firm_id=p["firm_id"].astype(str)), m),
                              ["'firm_id' holds numbers in the matched sample but text in the panel"]),
    "infinite outcome": (lambda p, m: (p.assign(sales=p["sales"].where(p.index != 4, np.inf)), m),
                         ["'sales' is infinite in 1 row(s) (rows 4)"]),
    "thousands separators": (lambda p, m: (p.assign(sales=p["sales"].map("{:,.1f}".format)), m),
                             ["'sales' holds", "not numbers", "str.replace(',', '')"]),
    "repeated column name": (lambda p, m: (p.assign(x=1.0).rename(columns={"x": "sales"}), m),
                             ["the panel has column name(s) ['sales'] more than once"]),
    "empty panel": (lambda p, m: (p.iloc[:0], m), ["the panel has no rows"]),
    "starter flag coded yes/no": (lambda p, m: (p, m.assign(_treated=m["_treated"].map({1: "yes", 0: "no"}))),
                                  ["'_treated' must be binary", ".eq('yes')"]),
    "pair ids with gaps": (lambda p, m: (p, m.assign(_pair=m["_pair"].where(m["_pair"] % 4 != 0))),
                           ["'_pair' is missing in", "row(s) of the matched sample"]),
    "firm ids with gaps": (lambda p, m: (p, m.assign(firm_id=m["firm_id"].where(m["_pair"] % 4 != 0))),
                           ["'firm_id' is missing in", "row(s) of the matched sample"]),
}


@pytest.mark.parametrize("case", sorted(DID_ERRORS))
def test_broken_panels_are_refused_naming_the_column(exporters, case: str) -> None:
    panel, matched = exporters
    edit, expected = DID_ERRORS[case]
    with pytest.raises(ValueError) as error:
        did_table(*edit(panel, matched))
    for text in expected:
        assert text in str(error.value), (text, str(error.value))


def test_a_kept_column_named_like_the_tables_own_is_refused(exporters) -> None:
    panel, matched = exporters
    for name in ("cohort", "outcome", "pair", "treated"):
        with pytest.raises(ValueError, match=rf"keep=\['{name}'\].*rename them"):
            event_changes(panel, matched.assign(**{name: 1}), ["sales"], horizons=[1], keep=[name])


def test_a_group_or_control_with_gaps_is_refused_not_dropped(exporters) -> None:
    # groupby and pyfixest would leave these pairs out and still print the full counts
    panel, matched = exporters
    gaps = matched.assign(size=matched["size"].where(matched["firm_id"] % 5 != 0))
    changes = event_changes(panel, gaps, ["sales"], horizons=[1], keep=["size"])
    for options in ({"group": "size"}, {"controls": ["cohort", "size"]}):
        with pytest.raises(ValueError, match=r"'size' \(a group, control or cluster\) is missing for \d+ unit"):
            matched_did(changes, **options)


# --------------------------------------------------------------------------- naive and staggered estimators

@pytest.fixture(scope="module")
def short_panel(tiny_world) -> pd.DataFrame:
    firms = tiny_world.firms
    return firms.loc[firms["year"].between(2004, 2014)].reset_index(drop=True)


STATUS_ERRORS = {
    "status coded yes/no": (lambda f: f.assign(exporter=f["exporter"].map({True: "yes", False: "no"})),
                            ["'exporter' must be binary", ".eq('yes')"]),
    "status coded 1/2": (lambda f: f.assign(exporter=f["exporter"].astype(int) + 1),
                         ["'exporter' must be binary", "['1', '2']"]),
    "infinite outcome": (lambda f: f.assign(sales=f["sales"].where(f.index != 9, np.inf)),
                         ["'sales' is infinite in 1 row(s) (rows 9)"]),
    "repeated column name": (lambda f: f.assign(x=1.0).rename(columns={"x": "sales"}), ["['sales'] more than once"]),
    "empty frame": (lambda f: f.iloc[:0], ["no rows"]),
}


@pytest.mark.parametrize("case", sorted(STATUS_ERRORS))
def test_naive_and_staggered_refuse_what_they_would_misread(short_panel: pd.DataFrame, case: str) -> None:
    # yes/no read with astype(bool) made every firm an exporter; an empty frame panicked pyfixest's demeaner
    edit, expected = STATUS_ERRORS[case]
    for run in (lambda d: naive_difference(d, outcome="sales", horizon=2),
                lambda d: staggered_event_study(d, "export", "sales", estimators=("twfe",))):
        with pytest.raises(ValueError) as error:
            run(edit(short_panel))
        for text in expected:
            assert text in str(error.value), (text, str(error.value))


def test_naive_and_staggered_read_text_years_and_ignore_row_order(short_panel: pd.DataFrame, tiny_world) -> None:
    def naive(d: pd.DataFrame) -> pd.DataFrame:
        return quiet(naive_difference, d, outcome="sales", horizon=2).tidy()

    def staggered(d: pd.DataFrame) -> pd.DataFrame:
        result = quiet(staggered_event_study, d, "export", "sales", estimators=("twfe",), world=tiny_world)
        return pd.concat([result.static, result.truth], axis=1)

    for run in (naive, staggered):
        clean = run(short_panel)
        for variant in (short_panel.assign(year=short_panel["year"].astype(str)),
                        short_panel.sample(frac=1, random_state=5).reset_index(drop=True),
                        short_panel.assign(exporter=short_panel["exporter"].astype(int).astype(str))):
            pd.testing.assert_frame_equal(run(variant), clean, check_exact=False, rtol=1e-10, atol=1e-12)


def test_staggered_refuses_repeated_keys_and_ids_the_world_does_not_use(short_panel: pd.DataFrame,
                                                                          tiny_world) -> None:
    with pytest.raises(ValueError, match=r"rows share a \(firm_id, year\) key"):
        staggered_event_study(pd.concat([short_panel, short_panel.head(2)]), estimators=("twfe",))
    with pytest.raises(ValueError, match=r"'firm_id' is \w+ in the data but \w+ in world\.latent"):
        staggered_event_study(short_panel.assign(firm_id=short_panel["firm_id"].astype(str)), estimators=("twfe",),
                              world=tiny_world)


# --------------------------------------------------------------------------- Levinsohn–Petrin

def test_lp_gives_the_same_estimate_with_text_ids_and_refuses_unknown_groups(short_panel: pd.DataFrame) -> None:
    firms = log_columns(short_panel, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    firms = firms.loc[firms["industry"].isin(sorted(firms["industry"].unique())[:2])]
    spec = {"output": "log_value_added", "free": "log_employees", "state": "log_capital_stock",
            "proxy": "log_intermediate_inputs", "unit": "firm_id", "time": "year", "progress": False}
    clean = levinsohn_petrin(firms, **spec).coef
    # text ids used to sort as text ("10" < "9"): another row order, another rounding, 1e-6 away
    text_ids = levinsohn_petrin(firms.assign(firm_id=firms["firm_id"].astype(str)), **spec).coef
    pd.testing.assert_series_equal(text_ids, clean, check_exact=False, rtol=1e-10, atol=0)
    with pytest.raises(ValueError, match=r"by='industry' is missing in \d+ row"):
        levinsohn_petrin(firms.assign(industry=firms["industry"].where(firms.index % 9 != 0)), **spec, by="industry")
    with pytest.raises(ValueError, match=r"\['log_employees'\] more than once"):
        levinsohn_petrin(firms.assign(x=1.0).rename(columns={"x": "log_employees"}), **spec)


# --------------------------------------------------------------------------- the white paper's design

def test_white_paper_did_reads_text_years_and_refuses_a_yes_no_status(tiny_world) -> None:
    firms = tiny_world.firms

    def table(d: pd.DataFrame) -> pd.DataFrame:
        return quiet(white_paper_did, d, "export", horizons=[1]).result.table

    clean = table(firms)
    for variant in (firms.assign(year=firms["year"].astype(str)),
                    firms.sample(frac=1, random_state=6).reset_index(drop=True)):
        pd.testing.assert_frame_equal(table(variant), clean, check_exact=False, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"matching_sample: 'exporter' must be binary.*\.eq\('yes'\)"):
        white_paper_did(firms.assign(exporter=firms["exporter"].map({True: "yes", False: "no"})), "export")
    with pytest.raises(ValueError, match=r"matching_sample: 'sales' is infinite in 1 row\(s\) \(rows 3\)"):
        white_paper_did(firms.assign(sales=firms["sales"].where(firms.index != 3, np.inf)), "export")
    with pytest.raises(ValueError, match="white_paper_did: the data has no rows"):
        white_paper_did(firms.iloc[:0], "export")


# --------------------------------------------------------------------------- catchments and spillovers

def test_spillover_inputs_read_or_refused_by_name() -> None:
    est, firms, fd = hand_built()
    clean = fit_spillover(build_catchments(est, firms), fd).tidy()
    full_width = firms.assign(paid_in_capital=firms["paid_in_capital"].map("{:,.1f}".format).str.translate(
        str.maketrans("0123456789.,", "０１２３４５６７８９．，")))
    text_years = fd.assign(year=fd["year"].astype(str))
    got = quiet(lambda: fit_spillover(build_catchments(est, full_width), text_years).tidy())
    pd.testing.assert_frame_equal(got, clean, check_exact=False, rtol=1e-10, atol=1e-12)
    cases = [
        (lambda: build_catchments(est.assign(exports=est["exports"].where(est.index != 5, np.inf)), firms),
         r"'exports' is infinite in 1 row\(s\) \(rows 5\)"),
        (lambda: build_catchments(est.assign(x=1.0).rename(columns={"x": "exports"}), firms),
         r"establishments table has column name\(s\) \['exports'\] more than once"),
        (lambda: build_catchments(est, firms.iloc[:0]), "the firms table has no rows"),
        (lambda: fit_spillover(build_catchments(est, firms), fd.assign(foreign_demand_di=[1.0, np.inf, 2.0])),
         r"'foreign_demand_di' is infinite in 1 row\(s\) \(rows 1\)"),
    ]
    for call, message in cases:
        with pytest.raises((SpatialInputError, ValueError), match=message):
            call()


def test_validate_names_repeated_columns(short_panel: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"\['sales'\] appear more than once"):
        validate(short_panel.assign(x=1.0).rename(columns={"x": "sales"}), "firms")
    with pytest.raises(SchemaError, match="more than once after rename"):
        validate(short_panel.rename(columns={"employees": "emp"}), "firms", rename={"emp": "sales"})


def test_one_treated_row_is_refused_saying_why(job_training: pd.DataFrame) -> None:
    one = pd.concat([job_training.loc[job_training["treat"] == 1].head(1),
                     job_training.loc[job_training["treat"] == 0].head(300)], ignore_index=True)
    with pytest.raises(ValueError, match=r"with 1 row\(s\) in the smaller group for 8 covariate column\(s\), too few"):
        propensity_match(one, "treat", COVARIATES)


def test_a_covariate_named_intercept_is_refused_not_dropped(job_training: pd.DataFrame) -> None:
    # formulaic's constant is called 'Intercept': a covariate of that name was dropped with it, silently
    renamed = job_training.rename(columns={"age": "Intercept"})
    with pytest.raises(ValueError, match="a covariate is named 'Intercept'"):
        propensity_match(renamed, "treat", ["Intercept", *COVARIATES[1:]])
    # other awkward names (Japanese, spaces, dots) give the same match
    odd = job_training.rename(columns={"age": "年齢", "re74": "re 74", "re75": "re.75"})
    np.testing.assert_allclose(att(odd, covariates=["年齢", "educ", "black", "hisp", "marr", "nodegree", "re 74",
                                                    "re.75"]), att(job_training), rtol=1e-10, atol=0)


# --------------------------------------------------------------------------- rows without a firm id

def _without_ids(firms: pd.DataFrame, case: str) -> tuple[pd.DataFrame, list]:
    """``firms`` with some firm ids missing, as each kind of file leaves them; and the row labels hit."""
    hit = [firms.index[7]]
    if case == "NaN in numeric ids":
        ids = firms["firm_id"].astype(float).where(~firms.index.isin(hit))
    elif case == "None in text ids":
        ids = firms["firm_id"].astype(str).astype(object).where(~firms.index.isin(hit), None)
    elif case == "blank text ids":
        hit = [firms.index[7], firms.index[30]]
        ids = firms["firm_id"].astype(str).mask(firms.index == hit[0], "").mask(firms.index == hit[1], "  ")
    else:  # two firms without ids in the same year looked like one repeated key
        same_year = firms.index[firms["year"] == firms.loc[firms.index[7], "year"]][:2]
        hit = list(same_year)
        ids = firms["firm_id"].astype("Int64").mask(firms.index.isin(hit))
    return firms.assign(firm_id=ids), hit


MISSING_ID_CASES = ["NaN in numeric ids", "None in text ids", "blank text ids", "two missing ids in one year"]


@pytest.mark.parametrize("case", MISSING_ID_CASES)
def test_rows_without_a_firm_id_are_refused_naming_them_not_dropped(short_panel: pd.DataFrame, case: str) -> None:
    # groupby and merges drop a row whose id is missing without a word; two of them used to be called a repeated key
    firms, hit = _without_ids(short_panel, case)
    expected = f"'firm_id' is missing in {len(hit)} row(s) (rows {', '.join(map(str, hit))})"
    lp = {"output": "value_added", "free": "employees", "state": "capital_stock", "proxy": "intermediate_inputs",
          "unit": "firm_id", "time": "year", "progress": False}
    runs = {"risk_set": lambda d: risk_set(d, "exporter"),
            "naive_difference": lambda d: naive_difference(d, outcome="sales", horizon=2),
            "staggered_event_study": lambda d: staggered_event_study(d, "export", "sales", estimators=("twfe",)),
            "white_paper_did": lambda d: white_paper_did(d, "export", outcomes=["sales"], horizons=[1],
                                                         pre_horizons=[]),
            "levinsohn_petrin": lambda d: levinsohn_petrin(d, **lp)}
    for name, run in runs.items():
        with pytest.raises(ValueError) as error:
            quiet(run, firms)
        message = str(error.value)
        assert expected in message, (name, message)
        assert "every row needs its firm_id" in message and "duplicate" not in message, (name, message)
    # validate lists every problem: a NaN id under its column's check, a blank one as a missing key
    with pytest.raises(SchemaError) as error:
        validate(firms, "firms")
    message = str(error.value)
    assert "'firm_id'" in message and f"rows {', '.join(map(str, hit))}" in message, message
    assert "duplicate" not in message and "share a" not in message, message


def test_event_changes_refuses_a_panel_row_without_a_firm_id(exporters) -> None:
    panel, matched = exporters
    firms, hit = _without_ids(panel, "NaN in numeric ids")
    with pytest.raises(ValueError, match=rf"event_changes: the panel: 'firm_id' is missing in 1 row\(s\) "
                                         rf"\(rows {hit[0]}\)"):
        event_changes(firms, matched.assign(firm_id=matched["firm_id"].astype(float)), ["sales"], horizons=[1])


def test_a_repeated_key_is_still_named_as_one(short_panel: pd.DataFrame) -> None:
    twice = pd.concat([short_panel, short_panel.iloc[[3]]])
    for run in (lambda d: risk_set(d, "exporter"), lambda d: naive_difference(d, outcome="sales", horizon=2),
                lambda d: white_paper_did(d, "export", outcomes=["sales"], horizons=[1], pre_horizons=[])):
        with pytest.raises(ValueError, match=r"duplicate keys: 2 rows share a \(firm_id, year\) key with another "
                                             rf"row, e.g. \[\{{'firm_id': {short_panel.loc[3, 'firm_id']}, "):
            quiet(run, twice)


def test_plants_or_firms_without_an_id_are_refused_by_build_catchments(tiny_world) -> None:
    plants, firms = tiny_world.establishments, tiny_world.firms
    label = plants.index[11]
    for column in ("establishment_id", "firm_id"):
        edited = plants.assign(**{column: plants[column].astype(float).where(plants.index != label)})
        with pytest.raises(SpatialInputError, match=rf"establishments: '{column}' is missing in 1 row\(s\) "
                                                    rf"\(rows {label}\)"):
            quiet(build_catchments, edited, firms)
    label = firms.index[4]
    with pytest.raises(SpatialInputError, match=rf"firms: 'firm_id' is missing in 1 row\(s\) \(rows {label}\)"):
        quiet(build_catchments, plants,
              firms.assign(firm_id=firms["firm_id"].astype(float).where(firms.index != label)))


def test_a_column_named_like_one_the_match_writes_is_refused_if_read_and_warned_of_otherwise(
        job_training: pd.DataFrame) -> None:
    # propensity_match writes _treated, _score, _pair, … into its result: a user's column of that name was read
    # as a covariate and then replaced (balance mixed the two), or silently overwritten
    data = job_training.assign(_score=job_training["age"])
    for treatment, covariates in (("treat", ["age", "_score"]), ("treat", "age + I(_score**2)")):
        with pytest.raises(ValueError, match=r"column\(s\) \['_score'\] are used by the match.*rename them first"):
            propensity_match(data, treatment, covariates)
    with pytest.raises(ValueError, match=r"\['_treated'\] are used by the match"):
        propensity_match(job_training.rename(columns={"treat": "_treated"}), "_treated", ["age"])
    with pytest.warns(UserWarning, match=r"column\(s\) \['_pair'\] have the names of columns it writes"):
        result = propensity_match(job_training.assign(_pair="mine"), "treat", ["age", "educ"])
    clean = propensity_match(job_training, "treat", ["age", "educ"])
    assert result.matched["_pair"].tolist() == clean.matched["_pair"].tolist()
