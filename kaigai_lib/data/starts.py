"""Who could start, and who did: the risk set behind matching and difference-in-differences.

The white paper matches, for every year ``t``, firms that start exporting
(or FDI) in ``t`` with firms that could have started but did not, on their
characteristics in ``t − 1``. :func:`risk_set` builds that sample from any
firm panel with a 0/1 status column (exporter, FDI, …): one row per firm and
base year ``t − 1`` in which the firm is observed, not yet treated, and also
observed in ``t``; ``start`` says whether it is treated in ``t``.

Firm-years whose status cannot be read (the firm is missing in ``t``) are
counted and returned in ``RiskSet.excluded``, never silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kaigai_lib.data.schema import as_binary, as_numbers, as_years, check_frame, check_keys

# The white paper's groups: exports by size class at t − 1 (size_class), FDI by sector (sector).
EXPORT_GROUPS = ("under 50", "50-99", "100-299", "300+")
FDI_GROUPS = ("manufacturing", "non-manufacturing")

# Start-year and status columns of the two treatments in the firm panel.
ANALYSIS_COLUMNS: dict[str, tuple[str, str]] = {
    "export": ("export_start_year", "exporter"),
    "fdi": ("fdi_start_year", "fdi"),
}


@dataclass
class RiskSet:
    """The at-risk rows (at the base year) and what was left out and why.

    Examples
    --------
    What :func:`risk_set` returns:

    >>> from kaigai_lib import generate, risk_set
    >>> world = generate("tiny", seed=0)
    >>> risk = risk_set(world.firms, "fdi", first_start_year=2010, last_start_year=2012)
    >>> risk.n_starters
    28
    >>> risk.rows.groupby("start_year")["start"].agg(["size", "sum"])
                size  sum
    start_year
    2010         989   10
    2011         977    9
    2012         968    9
    """

    rows: pd.DataFrame
    excluded: pd.Series  # reason -> number of firm-years

    @property
    def n_starters(self) -> int:
        return int(self.rows["start"].sum())


def risk_set(firms: pd.DataFrame, status: str, unit: str = "firm_id", time: str = "year",
             first_start_year: int | None = None, last_start_year: int | None = None) -> RiskSet:
    """Rows at ``t − 1`` of firms at risk of starting in ``t``, flagged ``start`` = 1 if they did.

    Parameters
    ----------
    firms : pd.DataFrame
        firm panel with one row per (``unit``, ``time``).
    status : str
        0/1 or boolean column that turns on at the start and stays on
        (exporter, fdi). A firm that switches off and on again is at risk
        again after switching off, as in the survey's flag.
    first_start_year, last_start_year : int | None, optional
        keep only starts (and non-starts) in
        these years ``t`` (e.g. the white paper's 1998–2020 for exports).

    Returns
    -------
    RiskSet
        ``rows``: the base-year rows plus ``start`` (0/1) and ``start_year`` (= base year + 1), and
        ``excluded``: counts of base-year candidates dropped because the firm is not observed the next year.

    Examples
    --------
    Firms at risk of starting to export in 2006, at their base year 2005:

    >>> from kaigai_lib import generate, risk_set
    >>> world = generate("tiny", seed=0)
    >>> risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006)
    >>> risk.rows["start"].value_counts()
    start
    0    919
    1     19
    Name: count, dtype: int64
    >>> risk.excluded
    not observed the next year    49
    Name: firm-years, dtype: int64
    """
    for column in (status, unit, time):
        if column not in firms.columns:
            raise KeyError(f"risk_set: column '{column}' not in the data; available: {list(firms.columns)}")
    check_frame(firms, "risk_set")
    # status 0/1 in every row (codings such as "yes"/"no" refused with the fix); years as whole numbers
    firms = firms.assign(**{status: as_binary(firms[status], status, "risk_set"),
                            time: as_years(firms[time], time, "risk_set")})
    check_keys(firms, [unit, time], "risk_set", "firms")
    panel = firms.sort_values([unit, time])
    following = panel[[unit, time, status]].assign(**{time: panel[time] - 1}).rename(columns={status: "_next"})
    untreated = panel.loc[~panel[status].astype(bool)]
    # the window applies to the start year t = base year + 1, before anything is counted as excluded
    if first_start_year is not None:
        untreated = untreated.loc[untreated[time] + 1 >= first_start_year]
    if last_start_year is not None:
        untreated = untreated.loc[untreated[time] + 1 <= last_start_year]
    rows = untreated.merge(following, on=[unit, time], how="left", validate="one_to_one")
    rows.index = untreated.index
    unobserved_next = rows["_next"].isna()
    rows = rows.loc[~unobserved_next]
    rows["start"] = rows.pop("_next").astype(int)
    rows["start_year"] = rows[time] + 1
    excluded = pd.Series({"not observed the next year": int(unobserved_next.sum())}, name="firm-years")
    return RiskSet(rows=rows, excluded=excluded)


def size_class(employees: pd.Series | np.ndarray, bounds: tuple[int, ...] = (50, 100, 300),
               labels: tuple[str, ...] = EXPORT_GROUPS) -> pd.Categorical:
    """The white paper's size classes (従業員規模区分: 50–99, 100–299, 300+; below 50 kept as its own class).

    Missing employee counts give a missing class.

    Examples
    --------
    A missing employee count gives a missing class:

    >>> import pandas as pd
    >>> from kaigai_lib import size_class
    >>> size_class(pd.Series([12, 50, 120, 300, None]))
    ['under 50', '50-99', '100-299', '300+', NaN]
    Categories (4, str): ['under 50', '50-99', '100-299', '300+']
    >>> size_class(pd.Series([12, 50, 120, 300]), bounds=(100,), labels=("small", "large")).tolist()
    ['small', 'small', 'large', 'large']
    """
    values = np.asarray(employees, dtype=float)
    codes = np.where(np.isnan(values), -1, np.digitize(values, bounds))
    return pd.Categorical.from_codes(codes, categories=list(labels))


def sector(manufacturing: pd.Series | np.ndarray) -> np.ndarray:
    """ "manufacturing" / "non-manufacturing" from a True/False column (the white paper's FDI groups).

    Examples
    --------
    >>> import pandas as pd
    >>> from kaigai_lib import sector
    >>> sector(pd.Series([True, False, True]))
    array(['manufacturing', 'non-manufacturing', 'manufacturing'],
          dtype=object)
    >>> sector(pd.Series([True, False])).tolist()
    ['manufacturing', 'non-manufacturing']
    """
    # read as 0/1 (text "0"/"1" too); "True"/"False" text, other codings and missing values are refused:
    # astype(bool) read every non-empty text, and NaN, as manufacturing
    values = manufacturing if isinstance(manufacturing, pd.Series) else pd.Series(np.asarray(manufacturing))
    flags = as_binary(values, str(values.name if values.name is not None else "manufacturing"), "sector")
    return np.where(flags, "manufacturing", "non-manufacturing").astype(object)


def unit_start_years(values: pd.Series, units: pd.Series | np.ndarray, column: str, where: str) -> np.ndarray:
    """Each row's start year: the one start year recorded among its unit's rows, for every row of the unit.

    Surveys often record a start year only from the start on (blank before it), or only once; read row by row,
    the base year ``t − 1`` would then look like a unit that never starts. A unit whose rows record different
    start years is refused, naming the units and the years: a unit starts once.
    """
    years = pd.Series(np.asarray(as_numbers(values, column, where), dtype=float))
    by_unit = years.groupby(np.asarray(units), sort=False)
    distinct = by_unit.transform("nunique").to_numpy()
    if (distinct > 1).any():
        rows = pd.DataFrame({"unit": np.asarray(units)[distinct > 1], "year": years.to_numpy()[distinct > 1]})
        recorded = rows.dropna().groupby("unit", sort=False)["year"].unique()
        shown = "; ".join(f"{unit}: {sorted(int(y) if float(y).is_integer() else y for y in found)}"
                          for unit, found in recorded.head(5).items())
        raise ValueError(f"{where}: '{column}' records different start years for {len(recorded)} unit(s) "
                         f"({shown}); a unit starts once: give all its rows the same start year (or leave it "
                         "blank in some), e.g. the first year its status is 1.")
    return by_unit.transform("first").to_numpy()
