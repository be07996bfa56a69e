"""The column schema and its validator: synthetic tables pass; bad input is reported all at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.schema import FIRMS, SCHEMAS, SchemaError, validate
from kaigai_lib.world.synthetic import World


def test_synthetic_tables_match_the_schema(tiny_world: World) -> None:
    validate(tiny_world.firms, "firms")
    validate(tiny_world.establishments, "establishments")
    validate(tiny_world.foreign_demand, "foreign_demand")
    for name, schema in SCHEMAS.items():
        table = {"firms": tiny_world.firms, "establishments": tiny_world.establishments,
                 "foreign_demand": tiny_world.foreign_demand}[name]
        assert [c.name for c in schema.columns] == list(table.columns), name


def test_every_column_names_its_survey_item_and_unit() -> None:
    for schema in SCHEMAS.values():
        frame = schema.to_frame()
        assert frame["survey_item"].str.len().min() > 1
        assert frame["unit"].str.len().min() > 1


def test_every_problem_is_reported_at_once(tiny_world: World) -> None:
    bad = tiny_world.firms.head(50).copy()
    bad = bad.drop(columns=["sales"])
    bad.loc[3, "employees"] = 0  # logged, so must be positive
    bad["capital_stock"] = bad["capital_stock"].astype(float)
    bad.loc[[5, 6], "capital_stock"] = np.nan
    bad.loc[7, "foreign_capital_ratio"] = 0.45 * 1000  # out of range
    bad["industry"] = 1  # wrong type
    bad = pd.concat([bad, bad.iloc[[10]]])  # duplicate (firm_id, year)
    with pytest.raises(SchemaError) as info:
        validate(bad, "firms")
    message = str(info.value)
    problems = info.value.problems
    assert len(problems) == 6, message
    assert "missing required column(s) ['sales']" in message
    assert "'employees'" in message and "must be > 0" in message and "rows 3" in message
    assert "'capital_stock'" in message and "2 missing value(s)" in message and "rows 5, 6" in message
    assert "must be ≤ 100" in message and "multiply by 100" in message
    assert "'industry'" in message and "should be str" in message
    assert "share a (firm_id, year) key" in message


def test_rename_maps_an_analysts_own_column_names(tiny_world: World) -> None:
    own = tiny_world.firms.rename(columns={"employees": "jugyoin", "sales": "uriage"})
    with pytest.raises(SchemaError, match="missing required column"):
        validate(own, "firms")
    checked = validate(own, "firms", rename={"jugyoin": "employees", "uriage": "sales"})
    assert "employees" in checked.columns
    with pytest.raises(SchemaError, match="not in the data"):
        validate(own, "firms", rename={"jugyoin": "employees", "uriage": "sales", "typo": "investment"})


def test_optional_columns_may_be_absent(tiny_world: World) -> None:
    optional = [c.name for c in FIRMS.columns if not c.required]
    validate(tiny_world.firms.drop(columns=optional), "firms")


def test_float_ids_with_whole_values_are_accepted_and_unknown_table_rejected(tiny_world: World) -> None:
    fd = tiny_world.foreign_demand.astype({"year": float})
    validate(fd, "foreign_demand")
    with pytest.raises(ValueError, match="Unknown table"):
        validate(fd, "plants")


def test_text_in_a_number_column_is_named_with_its_value_and_row(tiny_world) -> None:
    firms = tiny_world.firms.copy()
    firms["sales"] = firms["sales"].astype(object)
    firms.loc[5, "sales"] = "abc"
    with pytest.raises(SchemaError) as error:
        validate(firms, "firms")
    message = str(error.value)
    assert "column 'sales'" in message and "holds text" in message and "'abc'" in message and "rows 5" in message
    assert "astype" not in message  # the fix is in the source file, not pandas code
