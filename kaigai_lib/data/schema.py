"""Column schema of the kit's inputs and a validator that reports every problem at once.

The schema is the contract between the data and every estimator: the
synthetic world writes these columns, and an analyst maps the columns of
企業活動基本調査 / 海外事業活動基本調査 / 工業統計調査 microdata onto them
(``rename``). ``validate(df, "firms")`` checks a table and raises one
:class:`SchemaError` that lists all problems — missing columns, wrong types,
duplicate keys, missing values where none are allowed, non-positive values
in columns that are logged, values out of range — each with the rows
concerned and the fix.

One way to name columns: real data are mapped to the schema's names once,
``firms = validate(raw, "firms", rename={"jugyoin": "employees", ...})``
(``kaigai replicate`` does the same from its config's ``[columns]``), and
every function of the white paper's design and the spatial estimators then
reads the schema's names — none takes ``*_col`` arguments. The generic
estimators (matching, DiD, TFP) take the names of the columns they model
(``unit=``, ``time=``, the outcome, the covariates).
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Column:
    """One column of a table: meaning, unit and the survey item it stands for.

    Examples
    --------
    The schema's description of one column of the firm table:

    >>> from kaigai_lib import Column
    >>> from kaigai_lib.data.schema import FIRMS
    >>> column = FIRMS.column("employees")
    >>> isinstance(column, Column), column.kind, column.unit, column.positive
    (True, 'int', 'persons', True)
    >>> column.survey_item
    '常時従業者数'
    """

    name: str
    kind: str  # "int", "float", "bool", "str" or "year"
    unit: str
    survey_item: str
    description: str
    required: bool = True
    nullable: bool = False
    positive: bool = False  # logged somewhere, so must be > 0
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class TableSchema:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    def to_frame(self) -> pd.DataFrame:
        """The schema as a table (one row per column), e.g. for a data dictionary."""
        return pd.DataFrame([
            {"column": c.name, "type": c.kind, "unit": c.unit, "survey_item": c.survey_item,
             "required": c.required, "missing_allowed": c.nullable, "must_be_positive": c.positive,
             "description": c.description}
            for c in self.columns
        ])


KIGYO = "企業活動基本調査"
KAIGAI = "海外事業活動基本調査"
KOGYO = "工業統計調査"

FIRMS = TableSchema(
    name="firms",
    description=f"Firm panel, one row per firm and year (like {KIGYO}, with FDI items from {KAIGAI}).",
    key=("firm_id", "year"),
    columns=(
        Column("firm_id", "int", "id", f"{KIGYO} 企業番号 (永久企業番号)", "Firm identifier, stable across years."),
        Column("year", "year", "fiscal year", "調査対象年度", "Fiscal year of the record."),
        Column("industry", "str", "code", "産業分類 (日本標準産業分類)", "Industry of the firm's main business."),
        Column("manufacturing", "bool", "flag", "産業分類 (製造業か否か)", "True for manufacturing industries."),
        Column("employees", "int", "persons", "常時従業者数", "Regular employees.", positive=True),
        Column("sales", "float", "million yen (2015 prices)", "売上高", "Sales.", positive=True),
        Column("value_added", "float", "million yen (2015 prices)", "付加価値額",
               "Value added (operating profit + wages + depreciation + rents + taxes).", positive=True),
        Column("intermediate_inputs", "float", "million yen (2015 prices)",
               "中間投入額 (売上原価+販管費−給与総額−減価償却費)",
               "Intermediate inputs: the Levinsohn–Petrin proxy.", positive=True),
        Column("tangible_fixed_assets", "float", "million yen (current prices)", "有形固定資産額",
               "Tangible fixed assets at book value.", required=False, positive=True),
        Column("capital_stock", "float", "million yen (2015 prices)", "有形固定資産額 ÷ 設備投資デフレータ",
               "Capital stock: tangible fixed assets deflated by the investment deflator (white paper fn. 234).",
               positive=True),
        Column("investment", "float", "million yen (2015 prices)", "設備投資額 (有形固定資産取得額)",
               "Investment in tangible fixed assets.", required=False, positive=True),
        Column("compensation", "float", "million yen (2015 prices)", "給与総額",
               "Total compensation of employees.", positive=True),
        Column("paid_in_capital", "float", "million yen", "資本金", "Paid-in capital.", positive=True),
        Column("foreign_capital_ratio", "float", "percent", "外資比率",
               "Share of capital held by foreign investors; > 33.3 % is a foreign-owned firm (外資系企業).",
               minimum=0, maximum=100),
        Column("domestic_subsidiaries", "int", "count", "国内子会社数", "Number of domestic subsidiaries.", minimum=0),
        Column("exporter", "bool", "flag", "直接輸出額 > 0", "True if the firm exports directly that year."),
        Column("export_start_year", "year", "fiscal year", "輸出開始年度 (直接輸出の有無から作成)",
               "First year of exporting, when observed; missing for never-exporters and firms already exporting "
               "when first surveyed.", required=False, nullable=True),
        Column("fdi", "bool", "flag", f"海外子会社・関連会社の有無 ({KAIGAI})",
               "True if the firm owns an overseas affiliate (海外現地法人) that year."),
        Column("fdi_start_year", "year", "fiscal year", "海外直接投資開始年度",
               "First year with an overseas affiliate, when observed; missing otherwise.",
               required=False, nullable=True),
        Column("overseas_production_ratio", "float", "percent", f"海外生産比率 ({KAIGAI})",
               "Overseas production ratio: overseas affiliates' sales over (their sales + domestic sales); "
               "0 without FDI.", required=False, minimum=0, maximum=100),
        Column("exports", "float", "million yen (2015 prices)", "直接輸出額",
               "Direct exports; 0 for non-exporters.", required=False, minimum=0),
        Column("hub_distance_km", "float", "km", "最寄りの海外展開支援拠点までの距離 (支援機関の所在地から作成)",
               "Distance to the nearest support hub (支援センター, JETRO office, 交流会).", required=False,
               minimum=0),
        Column("support_network", "bool", "flag", "地域の支援ネットワークへの参加 (支援機関の会員名簿)",
               "True if the firm belongs to a local support network.", required=False),
        Column("supported", "bool", "flag", "海外展開支援の利用 (支援機関の支援記録)",
               "True from the year the firm takes up export support (consultation, matching, subsidies).",
               required=False),
        Column("support_start_year", "year", "fiscal year", "支援開始年度 (支援記録)",
               "First year of support; missing for firms never supported.", required=False, nullable=True),
    ),
)

ESTABLISHMENTS = TableSchema(
    name="establishments",
    description=f"Establishment (plant) panel, one row per establishment and year (like {KOGYO}).",
    key=("establishment_id", "year"),
    columns=(
        Column("establishment_id", "int", "id", f"{KOGYO} 事業所番号", "Establishment identifier."),
        Column("firm_id", "int", "id", "企業番号 (企業活動基本調査との接続)",
               "Owning firm; links plants to the firm panel (small firms' ids are not in it)."),
        Column("year", "year", "year", "調査年", "Year of the record."),
        Column("latitude", "float", "degrees", "事業所所在地 (緯度)", "Latitude (WGS84).", minimum=20, maximum=46),
        Column("longitude", "float", "degrees", "事業所所在地 (経度)", "Longitude (WGS84).", minimum=122, maximum=154),
        Column("employees", "int", "persons", "従業者数", "Persons employed.", minimum=0),
        Column("shipments", "float", "million yen", "製造品出荷額等", "Value of shipments.", minimum=0),
        Column("exports", "float", "million yen", "直接輸出額", "Direct exports.", minimum=0),
    ),
)

FOREIGN_DEMAND = TableSchema(
    name="foreign_demand",
    description="Yearly foreign-demand diffusion index (like the BoJ Tankan 海外での製商品需給判断DI).",
    key=("year",),
    columns=(
        Column("year", "year", "year", "年度", "Year."),
        Column("foreign_demand_di", "float", "DI points", "日銀短観 海外での製商品需給判断DI",
               "Foreign supply-demand DI: 'demand exceeds supply' minus 'supply exceeds demand', percent points.",
               minimum=-100, maximum=100),
    ),
)

SCHEMAS: dict[str, TableSchema] = {s.name: s for s in (FIRMS, ESTABLISHMENTS, FOREIGN_DEMAND)}


class MissingColumnsError(KeyError, ValueError):
    """Columns an analysis needs are not in the data (a KeyError and a ValueError, for either habit).

    Examples
    --------
    Both a ``KeyError`` and a ``ValueError``, so either ``except`` catches it:

    >>> import pandas as pd
    >>> from kaigai_lib import MissingColumnsError, require_columns
    >>> try:
    ...     require_columns(pd.DataFrame({"firm_id": [1]}), ["sales"], where="example")
    ... except MissingColumnsError as error:
    ...     caught = error
    >>> isinstance(caught, KeyError), isinstance(caught, ValueError)
    (True, True)
    >>> print(caught)
    example: column(s) ['sales'] not in the data; it has ['firm_id']. Rename your columns to these names once
    (validate(df, table, rename={'your name': 'schema name'})), or pass your names to the function's column
    arguments (unit=, time=, …) where it has them.
    """

    def __str__(self) -> str:
        return str(self.args[0])


def require_columns(data: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise :class:`MissingColumnsError` naming every column of ``columns`` that ``data`` lacks.

    Examples
    --------
    Nothing happens when every column is there; otherwise one error names them all:

    >>> import pandas as pd
    >>> from kaigai_lib import require_columns
    >>> firms = pd.DataFrame({"firm_id": [1, 2], "year": [2005, 2005]})
    >>> require_columns(firms, ["firm_id", "year"], where="my analysis")
    >>> require_columns(firms, ["firm_id", "sales", "exports"], where="my analysis")
    Traceback (most recent call last):
        ...
    kaigai_lib.data.schema.MissingColumnsError: my analysis: column(s) ['sales', 'exports'] not in the data; it has
    ['firm_id', 'year']. Rename your columns to these names once (validate(df, table, rename={'your name':
    'schema name'})), or pass your names to the function's column arguments (unit=, time=, …) where it has them.
    """
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise MissingColumnsError(
            f"{where}: column(s) {missing} not in the data; it has {list(data.columns)}. Rename your columns to "
            "these names once (validate(df, table, rename={'your name': 'schema name'})), or pass your names to "
            "the function's column arguments (unit=, time=, …) where it has them.")


def is_number(value: Any) -> bool:
    """Whether an argument is a real number (int, float or a NumPy number), not True/False or text."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_frame(data: Any, where: str, what: str = "the data") -> None:
    """Refuse what no estimator can read correctly: not a DataFrame, no rows, or a column name used twice.

    A repeated name makes ``data[name]`` a DataFrame, so pandas fails deep inside (or one of the two
    columns is read silently); say which names repeat and how to fix it.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{where}: {what} must be a pandas DataFrame, got {type(data).__name__}.")
    repeated = list(pd.unique(data.columns[data.columns.duplicated()]))
    if repeated:
        raise ValueError(f"{where}: {what} has column name(s) {repeated[:5]} more than once (e.g. after pd.concat "
                         "along columns, or a merge of frames that share columns); rename or drop the copies "
                         "first, e.g. data.loc[:, ~data.columns.duplicated()].")
    if data.empty:
        raise ValueError(f"{where}: {what} has no rows ({data.shape[1]} columns); check the filter or the file "
                         "that produced it.")


def number_text(present: pd.Series) -> pd.Series:
    """Text as ``pd.to_numeric`` reads it: NFKC (full-width digits and signs such as １２３ and －５ become ASCII),
    stripped, and the minus sign "−" as "-". ``present``: values without missing entries."""
    return present.astype(str).map(lambda v: unicodedata.normalize("NFKC", v).strip().replace("−", "-"))


def as_numbers(values: pd.Series, column: str, where: str) -> np.ndarray:
    """A column as floats for an estimator, or an error naming the column, the rows and the fix.

    Numbers of any dtype (int8, float32, nullable Int64/Float64; missing → NaN) are read as they are. Text that
    is a number in every row (as ``read_csv(dtype=str)`` leaves it; full-width digits included) is read, with a
    warning; text that is not (thousands separators, codes for missing values) is refused, as are true/false
    values and infinite values (a log of zero, a ratio with a zero denominator), which would otherwise turn an
    estimate into NaN or drop rows inside the fitting library without a count.
    """
    if pd.api.types.is_bool_dtype(values):
        raise ValueError(f"{where}: '{column}' is true/false; it must hold numbers.")
    if pd.api.types.is_complex_dtype(values):
        raise ValueError(f"{where}: '{column}' holds complex numbers; it must hold real numbers.")
    if not pd.api.types.is_numeric_dtype(values):
        present = values.dropna()
        parsed = pd.to_numeric(number_text(present), errors="coerce")
        bad = parsed.isna()
        if bad.any() or present.map(lambda v: isinstance(v, bool)).any():
            raise ValueError(
                f"{where}: '{column}' holds {int(bad.sum())} value(s) that are not numbers "
                f"({rows_text(bad.index[bad])}, e.g. {list(pd.unique(present[bad].astype(str)))[:3]}). Convert the "
                f"column first, e.g. pd.to_numeric(df['{column}'].str.replace(',', '')) for thousands separators, "
                "after checking what the other values mean.")
        if len(present):
            warnings.warn(f"{where}: '{column}' holds numbers stored as text; read as numbers. Load it as numbers "
                          "to silence this (e.g. pd.read_csv(..., thousands=',')).", UserWarning, stacklevel=3)
        values = parsed.reindex(values.index)
    out = values.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(out)
    if infinite.any():
        raise ValueError(f"{where}: '{column}' is infinite in {int(infinite.sum())} row(s) "
                         f"({rows_text(values.index[infinite])}), e.g. a log of zero or a ratio with a zero "
                         "denominator; fix those values or set them missing.")
    return out


def as_years(values: pd.Series, column: str, where: str) -> np.ndarray:
    """A year column as whole numbers (int64; text and floats such as 2005.0 read), or an error naming the rows
    that are missing or not whole years. Dates of 1 January (``pd.to_datetime("2015")``) are the years they
    name; other dates are refused with the fix (a year of dates would repeat a firm's key)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = pd.Series(values)
        other_day = (dates.dt.month.ne(1) | dates.dt.day.ne(1)) & dates.notna()
        if other_day.any():
            raise ValueError(f"{where}: '{column}' holds dates other than 1 January in {int(other_day.sum())} "
                             f"row(s) ({rows_text(values.index[other_day.to_numpy()])}); it must hold years. If each "
                             f"row is one year, use df['{column}'] = df['{column}'].dt.year.")
        values = dates.dt.year.astype("Float64").set_axis(values.index)
    years = as_numbers(values, column, where)
    bad = np.isnan(years) | (years % 1 != 0)
    if bad.any():
        raise ValueError(f"{where}: '{column}' is missing or not a whole year in {int(bad.sum())} row(s) "
                         f"({rows_text(values.index[bad])}); every row needs its year.")
    return years.astype(np.int64)


def as_binary(values: pd.Series, column: str, where: str, *, missing: bool | None = None) -> np.ndarray:
    """A 0/1 or true/false column as booleans, or an error naming the column, its values and the fix.

    Codings such as 1/2 or "yes"/"no" are refused rather than guessed: ``astype(bool)`` would read every one of
    them as true. ``missing``: the value a missing entry takes, or None to refuse missing entries.
    """
    present = values.dropna()
    if len(present) and present.map(lambda v: isinstance(v, str)).all():
        # "0"/"1" as read_csv(dtype=str) leaves them: the numbers they spell (anything else is refused below)
        numbers = pd.to_numeric(number_text(present), errors="coerce")
        if numbers.notna().all() and set(numbers) <= {0, 1}:
            present = numbers
    found = set(pd.unique(present))
    if not found <= {0, 1}:  # True == 1 and False == 0, so booleans pass
        shown = sorted(map(str, found))[:6]
        last = sorted(found, key=str)[-1]
        example = repr(last.item() if isinstance(last, np.generic) else last) if len(found) == 2 else "..."
        raise ValueError(f"{where}: '{column}' must be binary (0/1 or true/false); found values {shown}. Code it "
                         f"first, e.g. df['{column}'] = df['{column}'].eq({example}) if {example} means yes.")
    absent = values.isna().to_numpy()
    if absent.any() and missing is None:
        raise ValueError(f"{where}: '{column}' is missing in {int(absent.sum())} row(s) "
                         f"({rows_text(values.index[absent])}); it must be 0/1 in every row.")
    out = np.full(len(values), bool(missing))
    out[~absent] = present.astype(int).to_numpy() == 1
    return out


class SchemaError(ValueError):
    """Raised by :func:`validate`; ``problems`` holds one message per problem.

    Examples
    --------
    Every problem of a table, found in one run:

    >>> from kaigai_lib import SchemaError, generate, validate
    >>> world = generate("tiny", seed=0)
    >>> bad = world.firms.head(3).assign(employees=-1.0).drop(columns=["sales"])
    >>> try:
    ...     validate(bad, "firms")
    ... except SchemaError as error:
    ...     problems = error.problems
    >>> len(problems)
    2
    >>> print(problems[0])
    missing required column(s) ['sales']. Add them, or map your own names with rename={'your_name': 'sales'}.
    """

    def __init__(self, table: str, problems: list[str]):
        self.table = table
        self.problems = problems
        lines = "\n".join(f"  {i}. {p}" for i, p in enumerate(problems, start=1))
        super().__init__(f"The {table} table has {len(problems)} problem(s):\n{lines}")


def listed(values: Sequence[Any], limit: int = 5) -> str:
    """"3, 7, 9 and 2 more": the first ``limit`` values of a list (ids, rows) for a message."""
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return f"{shown} and {len(values) - limit} more" if len(values) > limit else shown


def rows_text(index: Sequence[Any], limit: int = 5) -> str:
    """"rows 3, 7 and 2 more" — or "lines …" when the index holds a file's line numbers (named "line", as
    ``kaigai replicate``'s reader sets it: the header is line 1)."""
    return f"{'lines' if getattr(index, 'name', None) == 'line' else 'rows'} {listed(index, limit)}"


def _kind_ok(series: pd.Series, kind: str) -> bool:
    if kind == "str":
        return pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series) \
            or isinstance(series.dtype, pd.CategoricalDtype)
    if kind == "bool":
        if pd.api.types.is_bool_dtype(series):
            return True
        values = series.dropna()
        return pd.api.types.is_numeric_dtype(series) and bool(values.isin([0, 1]).all())
    if kind in ("int", "year"):
        if pd.api.types.is_integer_dtype(series):
            return True
        if pd.api.types.is_float_dtype(series):
            values = series.dropna()
            return bool(np.all(np.mod(values, 1) == 0))
        return False
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def validate(data: pd.DataFrame, table: str | TableSchema = "firms", *,
             rename: Mapping[str, str] | None = None, required_only: bool = False) -> pd.DataFrame:
    """Check ``data`` against a table schema; return it (renamed) or raise :class:`SchemaError`.

    Parameters
    ----------
    data : pd.DataFrame
        the table to check.
    table : str | TableSchema, optional
        "firms", "establishments", "foreign_demand" or a ``TableSchema`` (``kaigai_lib.data.schema``).
    rename : Mapping[str, str] | None, optional
        maps the analyst's own column names to the schema's names,
        e.g. ``{"jugyoin": "employees"}``; applied before checking.
    required_only : bool, optional
        check only the schema's required columns (optional ones
        are still checked when present).

    Notes
    -----
    Every problem is collected before raising, so one run lists them all.
    Nothing is dropped or modified: fix the data and validate again.

    Examples
    --------
    Map the analyst's own column names to the schema's once, and check the table:

    >>> from kaigai_lib import generate, validate
    >>> world = generate("tiny", seed=0)
    >>> own = world.firms.rename(columns={"employees": "jugyoin"})  # the names of one's own data
    >>> firms = validate(own, "firms", rename={"jugyoin": "employees"})
    >>> "employees" in firms.columns, len(firms) == len(own)
    (True, True)
    """
    if isinstance(table, str) and table not in SCHEMAS:
        raise ValueError(f"Unknown table {table!r}: choose one of {sorted(SCHEMAS)}.")
    schema = SCHEMAS[table] if isinstance(table, str) else table
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"validate() needs a pandas DataFrame, got {type(data).__name__}.")
    df = data.rename(columns=dict(rename)) if rename else data
    problems: list[str] = []
    repeated = list(pd.unique(df.columns[df.columns.duplicated()]))
    if repeated:  # df[name] would be a DataFrame: every other check would fail inside pandas
        raise SchemaError(schema.name, [f"column name(s) {repeated[:5]} appear more than once"
                                        f"{' after rename' if rename else ''}; keep one column of each name."])

    if rename:
        absent = [src for src in rename if src not in data.columns]
        if absent:
            problems.append(f"rename maps column(s) {absent} that are not in the data; "
                            f"available columns: {list(data.columns)}")

    missing = [c.name for c in schema.columns if c.required and c.name not in df.columns]
    if missing:
        problems.append(_missing_columns_problem(df, missing, schema.name))

    for col in schema.columns:
        if col.name in df.columns and not (required_only and not col.required):
            problems += _column_problems(df, col)
    problems += _key_problems(df, schema)

    if problems:
        raise SchemaError(schema.name, problems)
    return df


def _missing_columns_problem(df: pd.DataFrame, missing: list[str], table: str) -> str:
    """Missing columns, with what is probably meant: a header with stray spaces or another case ("sales "), or a
    key kept in the index (a Parquet file written with firm_id and year as its index)."""
    message = (f"missing required column(s) {missing}. Add them, or map your own names with "
               f"rename={{'your_name': '{missing[0]}'}}.")
    headers = [c for c in df.columns if isinstance(c, str)]
    near = {name: [c for c in headers if label_form(c, codes=False).lower() == name] for name in missing}
    near = {name: found[0] for name, found in near.items() if found}
    if near:
        pairs = ", ".join(f"{found!r} for {name!r}" for name, found in near.items())
        lines = "; ".join(f'"{found}" = "{name}"' for name, found in near.items())
        message += (f" The data have {pairs} (differing in spaces or case): rename={dict(map(reversed, near.items()))}"
                    f", or for kaigai replicate the line(s) {lines} under [columns.{table}] in the config.")
    in_index = [name for name in missing if name in [n for n in df.index.names if n is not None]]
    if in_index:
        message += (f" {in_index} are in the index, not in the columns (a Parquet file written with them as its "
                    "index): move them back with df.reset_index() (kaigai replicate does this itself).")
    return message


def _column_problems(df: pd.DataFrame, col: Column) -> list[str]:
    """Missing values, the wrong kind of values, and values outside the column's range, with their rows."""
    problems = []
    series = df[col.name]
    where = f"column '{col.name}' ({col.survey_item}, {col.unit})"
    nulls = series.isna()
    if nulls.any() and not col.nullable:
        problems.append(f"{where} has {int(nulls.sum())} missing value(s) at {rows_text(df.index[nulls])}; "
                        "fill them from the source or remove those rows explicitly before validating.")
    if not _kind_ok(series, col.kind):
        problems.append(_kind_problem(series, col, where))
        return problems
    if col.kind == "str":  # 9 and "9", or "食料品" and "食料品 ", would be two industries in every groupby
        return problems + [p for p in (kinds_problem(series, col.name, "labels"),
                                       variant_problem(series, col.name, codes=True)) if p]
    if col.kind == "bool":
        return problems
    values = pd.to_numeric(series, errors="coerce")
    if col.positive:
        bad = values.notna() & (values <= 0)
        if bad.any():
            problems.append(
                f"{where} must be > 0 because it is used in logs; {int(bad.sum())} value(s) ≤ 0 at "
                f"{rows_text(df.index[bad])}. Check the units, or exclude those firm-years explicitly "
                "(and report how many).")
    if col.minimum is not None:
        bad = values.notna() & (values < col.minimum)
        if bad.any():
            problems.append(f"{where} must be ≥ {col.minimum}; {int(bad.sum())} value(s) below at "
                            f"{rows_text(df.index[bad])}.")
    if col.maximum is not None:
        bad = values.notna() & (values > col.maximum)
        if bad.any():
            hint = " (is it a share in [0, 1]? multiply by 100)" if col.unit == "percent" else ""
            problems.append(f"{where} must be ≤ {col.maximum}; {int(bad.sum())} value(s) above at "
                            f"{rows_text(df.index[bad])}{hint}.")
    return problems


TRUE_FALSE_TEXT = {"true", "false", "0", "1"}


def _true_or_false(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    if is_number(value):
        return value in (0, 1)
    return isinstance(value, str) and value.strip().lower() in TRUE_FALSE_TEXT


def _kind_problem(series: pd.Series, col: Column, where: str) -> str:
    """Why a column is not of its kind, naming the offending rows (not every row of the column) and the fix."""
    name = col.name
    if col.kind == "str":  # numeric codes (JSIC 9, 10, …): labels are text, kept as written
        return (f"{where} should be str (text) but has dtype {series.dtype} (codes stored as numbers); convert it "
                f"with df['{name}'] = df['{name}'].astype(str) — kaigai replicate reads this column as text itself.")
    present = series.dropna()
    if col.kind == "bool":
        # a chunked read_csv leaves True/False in one chunk and "True"/"X" in the next: only "X" is wrong
        bad = ~present.map(_true_or_false).astype(bool)
        if bad.any():
            examples = ", ".join(repr(v) for v in pd.unique(present[bad].astype(str))[:3])
            return (f"{where} should be true/false (or 0/1) but holds {int(bad.sum())} other value(s) ({examples}) "
                    f"at {rows_text(present.index[bad.to_numpy()])}; correct or blank them in the source.")
        return (f"{where} should be true/false but holds them as text (dtype {series.dtype}); convert it, e.g. "
                f"df['{name}'] = df['{name}'].astype(str).str.lower().map({{'true': True, 'false': False, "
                "'1': True, '0': False}).")
    if pd.api.types.is_bool_dtype(series):
        return f"{where} should be {col.kind} (numbers) but holds true/false; check the column and its mapping."
    if pd.api.types.is_datetime64_any_dtype(series):
        return (f"{where} should be {col.kind} but holds dates (dtype {series.dtype}); give the number, e.g. "
                f"df['{name}'] = df['{name}'].dt.year for a year.")
    numbers = pd.to_numeric(present, errors="coerce")
    text = numbers.isna().to_numpy()
    if text.any():
        examples = ", ".join(repr(v) for v in pd.unique(present[text].astype(str))[:3])
        return (f"{where} should be {col.kind} but holds text: {int(text.sum())} value(s) that are not numbers "
                f"({examples}) at {rows_text(present.index[text])}; correct or blank them in the source.")
    decimals = (numbers % 1 != 0).to_numpy() if col.kind in ("int", "year") else np.zeros(len(numbers), bool)
    if decimals.any():
        examples = ", ".join(f"{v:g}" for v in pd.unique(numbers[decimals])[:3])
        what = "whole years" if col.kind == "year" else "whole numbers"
        return (f"{where} should hold {what} but {int(decimals.sum())} value(s) have decimals ({examples}) at "
                f"{rows_text(present.index[decimals])}; correct them in the source (a wrong column mapped here, or "
                "a unit that needs converting?), then validate again.")
    return (f"{where} should be {col.kind} but has dtype {series.dtype} (numbers stored as text?); convert it, e.g. "
            f"df['{name}'] = pd.to_numeric(df['{name}']).")


def _key_problems(df: pd.DataFrame, schema: TableSchema) -> list[str]:
    """Rows without a key value, or that share the table's key (e.g. firm and year) with another row."""
    key = [k for k in schema.key if k in df.columns]
    if len(key) != len(schema.key):
        return []
    # a key cell that is NaN is already named by its column's check; blank text and repeated keys are not
    return key_problems(df.loc[df[key].notna().all(axis=1)], key)


def missing_ids(values: pd.Series) -> np.ndarray:
    """Where an id is missing: NaN, None or NA, and text that is empty or only spaces (a blank cell)."""
    missing = np.array(values.isna(), dtype=bool)  # a copy: the mask below is or-ed into it
    if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        blank = values.map(lambda v: isinstance(v, str) and not v.strip())
        missing |= blank.to_numpy(dtype=bool)
    return missing


def _kind_of(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true/false"
    if is_number(value):
        return "numbers"
    return "text" if isinstance(value, str) else type(value).__name__


def _id_kinds(values: pd.Series) -> set[str]:
    """The kinds of value an id column holds (numbers, text, …); one for any column of a numeric or string dtype."""
    if values.dtype != object:
        return set()
    return {_kind_of(v) for v in values[~missing_ids(values)]}


def kinds_problem(values: pd.Series, column: str, what: str = "ids") -> str | None:
    """A message if ``values`` mixes kinds (numbers and text, as a chunked ``read_csv`` leaves a column of codes
    with a few text ones): pandas keeps 9 and "9" apart, and sorting them fails. None if there is one kind."""
    kinds = _id_kinds(values)
    if len(kinds) < 2:
        return None
    present = values[~missing_ids(values)]
    kind_of = present.map(_kind_of)
    shown = ", ".join(f"{kind}, e.g. {present[kind_of == kind].iloc[0]!r}" for kind in sorted(kinds))
    where = "; ".join(f"{kind} at {rows_text(present.index[kind_of == kind])}" for kind in sorted(kinds))
    return (f"'{column}' holds {what} of several kinds ({shown}) — {where} — which pandas keeps apart (1 and '1' "
            f"would be two {'firms' if what == 'ids' else 'groups'}); convert the column to one kind first, e.g. "
            f"df['{column}'].astype(str) or pd.to_numeric(df['{column}']) (kaigai replicate reads text columns "
            "such as industry as text)")


def label_form(label: str, *, codes: bool) -> str:
    """The form two labels share when they mean the same: NFKC (full-width letters, digits and the ideographic
    space U+3000 become ASCII), surrounding spaces stripped and, for ``codes``, leading zeros of a numeric code
    dropped ("09" and "9" are the same JSIC code once a spreadsheet has stripped the zero)."""
    form = unicodedata.normalize("NFKC", label).strip()
    if codes and form.isdigit():
        form = form.lstrip("0") or "0"
    return form


def variant_problem(values: pd.Series, column: str, *, codes: bool) -> str | None:
    """A message if text labels differ only in spaces, width or (``codes``) leading zeros — "食料品 " and "食料品",
    "A1" and "A1\u3000", "09" and "9" — which every groupby keeps apart, splitting one industry or firm in two;
    None if there are none. Labels are kept exactly as written, so the file must say which spelling is right."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None  # no text to spell two ways (and the check would cost a pass over every row)
    present = values[~missing_ids(values)]
    if not pd.api.types.is_string_dtype(present.dtype) or present.dtype == object:
        present = present[present.map(lambda v: isinstance(v, str))]
    if present.empty:
        return None
    counts = present.value_counts(sort=True)  # the most common spelling first within each label
    forms = pd.Series([label_form(v, codes=codes) for v in counts.index], index=counts.index)
    clashes = list(pd.unique(forms[forms.duplicated(keep=False)]))
    if not clashes:
        return None

    def spelling(label: str) -> str:
        rows = present.index[(present == label).to_numpy()]
        return f"{label!r} ({int(counts[label]):,} row(s): {rows_text(rows, limit=3)})"

    shown = "; ".join(" vs ".join(spelling(label) for label in forms.index[forms == form]) for form in clashes[:3])
    more = f"; and {len(clashes) - 3} more" if len(clashes) > 3 else ""
    return (f"'{column}' spells {len(clashes)} label(s) in more than one way, differing only in spaces, full-width "
            f"characters{' or leading zeros' if codes else ''} ({shown}{more}), so each would be "
            "split in two; write each label one way in the source file (e.g. Excel's TRIM() removes spaces; find "
            "and replace the full-width space U+3000), then run again")


def key_problems(data: pd.DataFrame, keys: Sequence[str], *, unique: bool = True) -> list[str]:
    """What is wrong with the key columns ``keys`` (e.g. firm and year) of ``data``, one message per problem.

    A row whose key is missing (NaN, None, a blank text cell) is named first: pandas drops such rows from every
    ``groupby`` and merge without a word, and two of them would look like a repeated key. Then rows that share a
    key with another row (``unique=False``: ids that may repeat, such as a plant's firm, are only checked for
    missing values). Every message names the rows and the fix; an empty list: the keys are fine.

    Examples
    --------
    >>> import pandas as pd
    >>> from kaigai_lib.data.schema import key_problems
    >>> key_problems(pd.DataFrame({"firm_id": ["a", "b"], "year": [2005, 2005]}), ["firm_id", "year"])
    []
    >>> print(*key_problems(pd.DataFrame({"firm_id": ["a", " "], "year": [2005, 2005]}), ["firm_id", "year"]))
    'firm_id' is missing in 1 row(s) (rows 1); every row needs its firm_id: fill it in, or drop those rows (and
    report how many)
    """
    keys = list(keys)
    problems = []
    for key in keys:
        missing = missing_ids(data[key])
        if missing.any():
            problems.append(f"'{key}' is missing in {int(missing.sum())} row(s) ({rows_text(data.index[missing])}); "
                            f"every row needs its {key}: fill it in, or drop those rows (and report how many)")
    for key in keys:
        # 1 and "1", or "A1" and "A1 ", are two firms to pandas: one firm's rows would be split in two
        problems += [p for p in (kinds_problem(data[key], key), variant_problem(data[key], key, codes=False)) if p]
    if problems or not unique:  # rows without a key would also be counted as sharing one
        return problems
    repeated = data.duplicated(subset=keys, keep=False).to_numpy()
    if repeated.any():
        first = data.loc[repeated, keys].drop_duplicates().head(3).to_dict("records")
        problems.append(f"duplicate keys: {int(repeated.sum())} rows share a ({', '.join(keys)}) key with another "
                        f"row, e.g. {first} at {rows_text(data.index[repeated])}; keep one row per "
                        f"{' and '.join(keys)} (aggregate or fix the ids)")
    return problems


def check_keys(data: pd.DataFrame, keys: Sequence[str], where: str, what: str = "the data") -> None:
    """Raise ``ValueError`` if a key column of ``data`` has missing values or two rows share a key
    (:func:`key_problems`); ``where`` and ``what`` name the function and the table in the message.

    Examples
    --------
    >>> import pandas as pd
    >>> from kaigai_lib.data.schema import check_keys
    >>> firms = pd.DataFrame({"firm_id": [1, None, 2, 2], "year": [2005, 2005, 2005, 2005]})
    >>> check_keys(firms.dropna(), ["firm_id", "year"], "my analysis")
    Traceback (most recent call last):
        ...
    ValueError: my analysis: the data: duplicate keys: 2 rows share a (firm_id, year) key with another row, e.g.
    [{'firm_id': 2.0, 'year': 2005}] at rows 2, 3; keep one row per firm_id and year (aggregate or fix the ids).
    >>> check_keys(firms, ["firm_id", "year"], "my analysis")
    Traceback (most recent call last):
        ...
    ValueError: my analysis: the data: 'firm_id' is missing in 1 row(s) (rows 1); every row needs its firm_id: fill
    it in, or drop those rows (and report how many).
    """
    problems = key_problems(data, keys)
    if problems:
        raise ValueError(f"{where}: {what}: " + "; ".join(problems) + ".")
