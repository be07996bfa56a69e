"""Hostile configs, input files and world files for ``kaigai replicate`` / ``kaigai generate`` (issue 13, §2–3).

Each case must: exit with status 2 before any stage runs, print ONE message (no traceback) that names the
file, column or key and the fix, and leave the folder it ran in exactly as it was (no ``--out``, no staging
folder, no lock file).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.replication.cli import USER_ERROR, main

TABLES = ("firms", "establishments", "foreign_demand")


@pytest.fixture(scope="module")
def world(tiny_inputs: Path) -> Path:
    """The session's tiny world written by `kaigai generate` (tests/conftest.py); tests copy it before editing."""
    return tiny_inputs


@pytest.fixture(scope="module")
def frames(world: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(world / f"{t}.csv") for t in TABLES}


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry below ``folder`` with a digest of its content: what must not change."""
    state = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        state[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return state


def run_refused(argv: list[str], folder: Path, capsys: pytest.CaptureFixture, expected: str | list[str]) -> str:
    """Run ``kaigai argv``; assert exit 2, one message with ``expected`` in it, and ``folder`` unchanged."""
    before = snapshot(folder)
    status = main(argv)
    err = capsys.readouterr().err
    assert status == USER_ERROR, err
    for part in [expected] if isinstance(expected, str) else expected:
        assert part in err, err
    assert "Traceback" not in err and err.startswith("kaigai: error: "), err
    assert snapshot(folder) == before, "the run changed files although it failed"
    return err


def replicate_argv(paths: dict[str, Path], out: Path, config: Path | None = None) -> list[str]:
    argv = ["replicate", "--firms", str(paths["firms"]), "--establishments", str(paths["establishments"]),
            "--foreign-demand", str(paths["foreign_demand"]), "--out", str(out)]
    return argv + (["--config", str(config)] if config else [])


# --------------------------------------------------------------------------- config keys

CONFIG_CASES: dict[str, tuple[bytes | str, str | list[str]]] = {
    "min_firms = true": ("[disclosure]\nmin_firms = true\n", "[disclosure] min_firms = true: must be a whole number"),
    "min_firms = 2.5": ("[disclosure]\nmin_firms = 2.5\n", "[disclosure] min_firms = 2.5: must be a whole number"),
    "dominance_share as text": ('[disclosure]\ndominance_share = "0.85"\n',
                                '[disclosure] dominance_share = "0.85": must be a number'),
    "dominance_share = 1.5": ("[disclosure]\ndominance_share = 1.5\n", "dominance_share=1.5"),
    "dominance_share = nan": ("[disclosure]\ndominance_share = nan\n", "[disclosure] dominance_share = nan"),
    "dominance_n = 0": ("[disclosure]\ndominance_n = 0\n", "dominance_n=0"),
    "unknown disclosure key": ("[disclosure]\nmin_firm = 5\n", "min_firm"),
    "export_horizons = 5.7": ("[analysis]\nexport_horizons = 5.7\n",
                              "[analysis] export_horizons = 5.7: must be a whole number"),
    "export_horizons = true": ("[analysis]\nexport_horizons = true\n",
                               "[analysis] export_horizons = true: must be a whole number"),
    "fdi_horizons = 0": ("[analysis]\nfdi_horizons = 0\n", "[analysis] fdi_horizons = 0: 0 is out of range: 1–15"),
    "fdi_horizons = 400": ("[analysis]\nfdi_horizons = 400\n", "[analysis] fdi_horizons = 400: 400 is out of range"),
    'radius_km = "five"': ('[analysis]\nradius_km = "five"\n', '[analysis] radius_km = "five": must be a number'),
    "radius_km = -1": ("[analysis]\nradius_km = -1\n", "[analysis] radius_km = -1: -1 is out of range"),
    "radius_km = nan": ("[analysis]\nradius_km = nan\n", "[analysis] radius_km = nan: nan is out of range"),
    "radius_km = inf": ("[analysis]\nradius_km = inf\n", "[analysis] radius_km = inf: inf is out of range"),
    "radius_km = [5]": ("[analysis]\nradius_km = [5]\n", "[analysis] radius_km = [5]: must be a number"),
    "placebo t-1": ("[analysis]\nplacebo_horizons = [-1]\n", "[analysis] placebo_horizons = [-1]: -1 is out of range"),
    "placebo as text": ('[analysis]\nplacebo_horizons = "-3"\n', "placebo_horizons = \"-3\": must be a list"),
    "placebo empty": ("[analysis]\nplacebo_horizons = []\n", "placebo_horizons = []: must be a list"),
    "placebo 2.5": ("[analysis]\nplacebo_horizons = [-3, -2.5]\n", "must be a whole number, not float -2.5"),
    "foreign ratio 150": ("[analysis]\nforeign_owned_ratio = 150\n", "[analysis] foreign_owned_ratio = 150"),
    "start year 1998.0": ("[analysis]\nfirst_export_start_year = 1998.0\n",
                          "[analysis] first_export_start_year = 1998.0: must be a whole number"),
    "start year as date": ("[analysis]\nfirst_fdi_start_year = 1998-04-01\n",
                           "[analysis] first_fdi_start_year = datetime.date(1998, 4, 1): must be a whole number"),
    "poly_order = 4": ("[tfp]\npoly_order = 4\n", "[tfp] poly_order = 4: 4 is out of range: 2–3"),
    'poly_order = "3"': ('[tfp]\npoly_order = "3"\n', '[tfp] poly_order = "3": must be a whole number'),
    "unknown analysis key": ("[analysis]\nradius = 5\n", "[analysis] radius: unknown setting"),
    "unknown section": ("[extra]\nx = 1\n", "unknown section [extra]"),
    "section as a value": ("analysis = 5\n", "analysis = 5: [analysis] must be a section"),
    "columns table as a value": ('[columns]\nfirms = "x"\n', '[columns] firms = "x": must be a section'),
    "column target not a string": ("[columns.firms]\njugyoin = 5\n",
                                   "[columns.firms] jugyoin = 5: the schema column name must be a quoted string"),
    "two columns onto one": ('[columns.firms]\njugyoin = "employees"\nshain = "employees"\n',
                             "jugyoin and shain both map onto 'employees'"),
    "unknown table": ('[columns.plants]\nx = "year"\n', "[columns.plants]: unknown table"),
    "unknown schema column": ('[columns.firms]\njugyoin = "employes"\n', "'employes' is not a column"),
    "not TOML": ("[analysis]\nradius_km = five\n", ["is not valid TOML", "Strings need quotes"]),
    "several problems at once": ("[analysis]\nradius_km = \"five\"\nexport_horizons = 5.7\n[disclosure]\n"
                                 "min_firms = true\n", ["has 3 problem(s)", "radius_km", "export_horizons",
                                                        "min_firms"]),
    "UTF-16 config": ("[analysis]\nradius_km = 5.0\n".encode("utf-16"), ["is UTF-16", "UTF-8"]),
    "Latin-1 bytes": (b"[columns.firms]\n\"\xe9\xe9\xe9\" = \"employees\"\n\xff\n", "neither UTF-8 nor Shift-JIS"),
    # read, not refused: the BOM and the cp932 bytes are decoded, so the real problem (the key) is reported
    "UTF-8 BOM": ("\ufeff[analysis]\nradius_km = -1\n".encode(), "[analysis] radius_km = -1"),
    "cp932 config": ('[columns.firms]\n"従業者数" = "employees"\n[analysis]\nradius_km = "五"\n'.encode("cp932"),
                     ['[analysis] radius_km = "五": must be a number']),
    "did_design not a design": ('[analysis]\ndid_design = "best"\n',
                                "[analysis] did_design = \"best\": must be one of 'white_paper', 'robust'"),
    "did_controls not a pool": ('[analysis]\ndid_controls = "never"\n',
                                "[analysis] did_controls = \"never\": must be one of 'all', 'clean', 'adjusted'"),
    "did_controls not text": ("[analysis]\ndid_controls = 5\n", "[analysis] did_controls = 5"),
    "treatment name that is a formula": ('[treatment]\nname = "=cmd|x"\ncolumn = "supported"\noutcomes = ["sales"]\n',
                                         '[treatment] name = "=cmd|x": a short neutral label'),
    "treatment name with a newline": ('[treatment]\nname = "a\\nb"\ncolumn = "supported"\noutcomes = ["sales"]\n',
                                      "[treatment] name = "),
    "placebo year twice": ("[analysis]\nplacebo_horizons = [-2, -2, -3]\n",
                           "[analysis] placebo_horizons = [-2, -2, -3]: lists [-2] more than once"),
    "treatment outcome twice": ('[treatment]\ncolumn = "supported"\noutcomes = ["sales", "sales"]\n',
                                "[treatment] outcomes = ['sales', 'sales']: lists ['sales'] more than once"),
    "treatment horizons far too long": ('[treatment]\ncolumn = "supported"\noutcomes = ["sales"]\nhorizons = 100000\n',
                                        "[treatment] horizons = 100000: 100000 is out of range: 1–15"),
}


def test_the_robust_design_can_be_chosen(tmp_path: Path) -> None:
    from kaigai_lib.replication.replicate import read_config

    config = tmp_path / "replicate.toml"
    config.write_text('[analysis]\ndid_design = "robust"\n', encoding="utf-8")
    assert read_config(config).analysis["did_design"] == "robust"
    for controls in ("clean", "adjusted", "adjusted_both"):
        config.write_text(f'[analysis]\ndid_controls = "{controls}"\n', encoding="utf-8")
        assert read_config(config).analysis["did_controls"] == controls


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_key_is_named_before_any_work(case: str, world: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    content, expected = CONFIG_CASES[case]
    config = tmp_path / "replicate.toml"
    config.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    paths = {t: world / f"{t}.csv" for t in TABLES}
    err = run_refused(replicate_argv(paths, tmp_path / "out", config), tmp_path, capsys, expected)
    assert str(config) in err


def test_missing_or_folder_config(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    paths = {t: world / f"{t}.csv" for t in TABLES}
    run_refused(replicate_argv(paths, tmp_path / "out", tmp_path / "nope.toml"), tmp_path, capsys,
                f"config {tmp_path / 'nope.toml'} not found")
    (tmp_path / "conf.d").mkdir()
    run_refused(replicate_argv(paths, tmp_path / "out", tmp_path / "conf.d"), tmp_path, capsys,
                "is a folder; give the file")


# --------------------------------------------------------------------------- settings against the data

@pytest.mark.parametrize(("toml", "expected"), [
    ("[analysis]\nfirst_export_start_year = 2030\n", "[analysis] first_export_start_year = 2030: outside the firm "
                                                     "panel (1995–2020)"),
    ("[analysis]\nfirst_fdi_start_year = 1995\n", "[analysis] first_fdi_start_year = 1995: outside the firm panel"),
    ("[analysis]\nfirst_export_start_year = 2015\nexport_horizons = 10\n",
     "[analysis] export_horizons = 10: with first_export_start_year = 2015 the last horizon lies beyond the "
     "panel's last year 2020; use export_horizons ≤ 5"),
    ('[treatment]\nstart_year_column = "firm_id"\noutcomes = ["sales"]\n',
     ["[treatment] start_year_column = 'firm_id'", "are not years of the firm panel (1995–2020)"]),
    ('[treatment]\nstart_year_column = "export_start_year"\noutcomes = ["industry"]\n',
     "[treatment] outcomes[0] = 'industry': not a numeric column of the firm file"),
    ('[treatment]\ncolumn = "supported"\noutcomes = ["sales"]\nfirst_start_year = 2050\n',
     "[treatment] first_start_year = 2050: outside the firm panel (1995–2020)"),
    ('[treatment]\ncolumn = "supported"\noutcomes = ["sales"]\nfirst_start_year = 2016\nhorizons = 8\n',
     "[treatment] horizons = 8: from the first start year 2016 the last horizon lies beyond"),
])
def test_settings_that_do_not_fit_the_panel_are_refused_before_the_first_stage(
        toml: str, expected: str, world: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "replicate.toml"
    config.write_text(toml, encoding="utf-8")
    paths = {t: world / f"{t}.csv" for t in TABLES}
    run_refused(replicate_argv(paths, tmp_path / "out", config), tmp_path, capsys, expected)


# --------------------------------------------------------------------------- input files

Mutation = Callable[[dict[str, pd.DataFrame], Path], dict[str, Path]]


def frame(table: str, change: Callable[[pd.DataFrame], pd.DataFrame], suffix: str = "csv") -> Mutation:
    def mutate(frames: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
        data = change(frames[table].copy())
        path = folder / f"{table}.{suffix}"
        data.to_parquet(path, index=False) if suffix == "parquet" else data.to_csv(path, index=False)
        return {table: path}
    return mutate


def text(table: str, edit: Callable[[str], str | bytes], name: str | None = None) -> Mutation:
    """Edit the CSV's text (e.g. break one line); a str result is written as UTF-8."""
    def mutate(frames: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
        content = edit(frames[table].to_csv(index=False))
        path = folder / (name or f"{table}.csv")
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return {table: path}
    return mutate


def set_cell(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(data: pd.DataFrame) -> pd.DataFrame:
        if isinstance(value, str):
            data = data.astype({column: object})
        data.loc[data.index[row], column] = value
        return data
    return change


def edit_line(number: int, edit: Callable[[str], str]) -> Callable[[str], str]:
    """Change line ``number`` (1 = header) of a CSV text."""
    def change(content: str) -> str:
        lines = content.split("\n")
        lines[number - 1] = edit(lines[number - 1])
        return "\n".join(lines)
    return change


def with_config(mutation: Mutation, toml: str) -> Mutation:
    def mutate(frames: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
        paths = mutation(frames, folder)
        (folder / "replicate.toml").write_text(toml, encoding="utf-8")
        return {**paths, "config": folder / "replicate.toml"}
    return mutate


def excel_serials(data: pd.DataFrame) -> pd.DataFrame:
    # Excel's day count from 1899-12-30: what a year column becomes when a date cell is saved as a number
    days = (pd.to_datetime(data["year"].astype(str) + "-04-01") - pd.Timestamp("1899-12-30")).dt.days
    return data.assign(year=days)


INPUT_CASES: dict[str, tuple[Mutation, str | list[str]]] = {
    "field over the csv limit": (frame("firms", set_cell("industry", 4, "x" * 200_000)),
                                 ["firms.csv line 6", "field larger than field limit"]),
    "unclosed quote": (text("firms", edit_line(4, lambda line: line.replace(",", ',"', 1))),
                       ["firms.csv line 4", "never closed"]),
    "unquoted comma in a value": (text("firms", edit_line(3, lambda line: line.replace(",", ",1,", 1))),
                                  ["firms.csv line 3 has", "field(s) but the header has", "quotes"]),
    "short row": (text("establishments", edit_line(5, lambda line: line.rsplit(",", 2)[0])),
                  ["establishments.csv line 5 has 6 field(s) but the header has 8", "not filled in"]),
    "repeated column name": (text("firms", edit_line(1, lambda line: line.replace("sales", "employees"))),
                             ["firms.csv has the column name(s) ['employees'] more than once"]),
    "NUL byte": (text("foreign_demand", lambda content: content.replace("\n1", "\n\x001", 1)),
                 ["foreign_demand.csv line 2 holds a NUL byte"]),
    "UTF-16 csv": (text("firms", lambda content: content.encode("utf-16")), ["firms.csv is UTF-16", "CSV UTF-8"]),
    "Latin-1 csv": (text("firms", lambda content: content.replace("food", "caf\xe9").encode("latin-1")
                         + b"\xff\xfe\x00"), "neither UTF-8 nor Shift-JIS"),
    "not gzip": (text("firms", lambda content: content, name="firms.csv.gz"), ["cannot read", "firms.csv.gz"]),
    "a folder": (lambda frames, folder: {"firms": folder}, "is a folder; give the firms file"),
    "semicolon-separated": (text("firms", lambda content: content.replace(",", ";")),
                            ["firms.csv is separated by ';', not commas", "comma-separated"]),
    "tab-separated": (text("establishments", lambda content: content.replace(",", "\t")),
                      "establishments.csv is separated by '\\t'"),
    "Excel workbook": (text("firms", lambda content: b"PK\x03\x04", name="firms.xlsx"),
                       ["firms.xlsx is neither CSV", "Save as"]),
    "upper-case .CSV.GZ is read": (  # read (not refused as 'neither CSV'), so its bad value is what is reported
        lambda frames, folder: {"establishments": _write(folder / "E.CSV.GZ", gzip.compress(
            frames["establishments"].assign(exports=lambda d: d["exports"].where(d.index != 3, -np.inf))
            .to_csv(index=False).encode()))},
        ["establishments: column 'exports'", "infinite values at lines 5"]),
    "Excel serial dates in year": (frame("firms", excel_serials),
                                   ["column 'year'", "must be a year in 1900–2100", "Excel serial dates"]),
    "Excel serial start years": (frame("firms", set_cell("export_start_year", 0, 36526.0)),
                                 ["column 'export_start_year'", "Excel serial dates"]),
    "dates as text in year": (frame("firms", lambda d: d.assign(year=d["year"].astype(str) + "-04-01")),
                              ["column 'year'", "holds dates", "'1995-04-01'"]),
    "dates in a Parquet year column": (frame("firms", lambda d: d.assign(year=pd.to_datetime(d["year"].astype(str)
                                                                                          + "-04-01")), "parquet"),
                                       ["column 'year'", "holds dates"]),
    "a stray word in a year column": (frame("firms", set_cell("year", 5, "unknown")),
                                      "column 'year' (調査対象年度, fiscal year) should be year"),
    "fractional year": (frame("firms", lambda d: set_cell("year", 2, 2001.5)(d.astype({"year": float}))),
                        "column 'year'"),
    "1e300 sales": (frame("firms", set_cell("sales", 7, 1e300)),
                    ["column 'sales' (million yen (2015 prices)) has 1 value(s) above 1e+10", "lines 9", "unit"]),
    "1e300 in Parquet": (frame("firms", set_cell("capital_stock", 3, 1e300), "parquet"),
                         ["column 'capital_stock'", "above 1e+10"]),
    "inf sales": (frame("firms", set_cell("value_added", 4, np.inf)), ["column 'value_added'", "infinite"]),
    "-inf exports": (frame("establishments", set_cell("exports", 1, -np.inf)), ["column 'exports'", "infinite"]),
    "a billion employees": (frame("establishments", set_cell("employees", 0, 10**9)),
                            ["column 'employees' (persons)", "above 1e+07"]),
    "sales in yen, not million yen": (frame("firms", lambda d: d.assign(sales=d["sales"] * 1e6)),
                                      ["column 'sales'", "yen vs million yen"]),
    "endless industry text": (frame("firms", set_cell("industry", 9, "x" * 5000)),
                              ["column 'industry'", "5,000 characters", "lines 11"]),
    "mapping onto an existing column": (
        with_config(frame("firms", lambda d: d.assign(jugyoin=d["employees"])),
                    '[columns.firms]\njugyoin = "employees"\n'),
        "[columns.firms] jugyoin = 'employees': the file already has a column 'employees'"),
    "mapping from a missing column": (
        with_config(frame("firms", lambda d: d), '[columns.firms]\njugyoin = "employees"\n'),
        "[columns.firms] jugyoin = 'employees': the file has no column 'jugyoin'"),
    "cp932 config names a cp932 column": (  # both decoded: the clash is reported in Japanese, not as mojibake
        lambda frames, folder: {
            "firms": _cp932_firms(frames, folder),
            "config": _write(folder / "c.toml", '[columns.firms]\n"従業者数" = "employees"\n'.encode("cp932"))},
        "[columns.firms] 従業者数 = 'employees': the file already has a column 'employees'"),
}


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _cp932_firms(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    data = frames["firms"].assign(従業者数=frames["firms"]["employees"])
    return _write(folder / "firms.csv", data.to_csv(index=False).encode("cp932"))


@pytest.mark.parametrize("case", sorted(INPUT_CASES))
def test_hostile_input_is_refused_with_its_file_and_column(case: str, world: Path, frames: dict[str, pd.DataFrame],
                                                           tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mutate, expected = INPUT_CASES[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    paths = {t: world / f"{t}.csv" for t in TABLES}
    paths.update(mutate(frames, inputs))
    config = paths.pop("config", None)
    run_refused(replicate_argv(paths, tmp_path / "out", config), tmp_path, capsys, expected)


# --------------------------------------------------------------------------- kaigai_world.json

WORLD_CASES: dict[str, tuple[bytes, str]] = {
    "not JSON": (b"{preset: tiny", "is not valid JSON"),
    "a list": (b"[1, 2]", "must hold a JSON object"),
    "unknown preset": (b'{"preset": "huge", "seed": 3}', "preset 'huge' is not one of ['book', 'national', 'tiny']"),
    "seed as text": (b'{"preset": "tiny", "seed": "3"}', "seed '3' is not a whole number"),
    "negative seed": (b'{"preset": "tiny", "seed": -1}', "seed -1 is not a whole number ≥ 0"),
    "seed missing": (b'{"preset": "tiny"}', "seed None"),
    "another world's seed": (b'{"preset": "tiny", "seed": 4}', "is not that world's firm panel"),
    "binary": (b"\x00\xff\xfe\x00garbage", "kaigai_world.json"),
}


@pytest.mark.parametrize("case", sorted(WORLD_CASES))
def test_malformed_world_file_is_named(case: str, world: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inputs = tmp_path / "inputs"
    shutil.copytree(world, inputs)
    content, expected = WORLD_CASES[case]
    (inputs / "kaigai_world.json").write_bytes(content)
    paths = {t: inputs / f"{t}.csv" for t in TABLES}
    err = run_refused(replicate_argv(paths, tmp_path / "out"), tmp_path, capsys, expected)
    assert "kaigai_world.json" in err and ("delete or rename" in err or "UTF-8" in err), err


def test_edited_generated_data_is_not_given_the_wrong_truth(world: Path, frames: dict[str, pd.DataFrame],
                                                            tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inputs = tmp_path / "inputs"
    shutil.copytree(world, inputs)
    firms = frames["firms"]
    firms.loc[firms["firm_id"] != firms["firm_id"].iloc[0]].to_csv(inputs / "firms.csv", index=False)
    paths = {t: inputs / f"{t}.csv" for t in TABLES}
    run_refused(replicate_argv(paths, tmp_path / "out"), tmp_path, capsys,
                ["says preset tiny, seed 3, but", "is not that world's firm panel", "so its truth would be wrong"])


# --------------------------------------------------------------------------- the entry point

def test_generate_refuses_a_negative_seed_and_a_file_as_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run_refused(["generate", "--preset", "tiny", "--seed", "-1", "--out", str(tmp_path / "w")], tmp_path, capsys,
                "--seed -1: give a whole number ≥ 0")
    (tmp_path / "w").write_text("not a folder")
    run_refused(["generate", "--preset", "tiny", "--out", str(tmp_path / "w")], tmp_path, capsys,
                "is an existing file")


def test_a_bug_is_one_line_without_traceback(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import kaigai_lib.replication.replicate as replicate

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something kaigai did not expect")

    monkeypatch.setattr(replicate, "validate_inputs", broken)
    monkeypatch.delenv("KAIGAI_DEBUG", raising=False)
    before = snapshot(tmp_path)
    status = main(replicate_argv({t: world / f"{t}.csv" for t in TABLES}, tmp_path / "out"))
    err = capsys.readouterr().err
    assert status == USER_ERROR
    assert err.count("\n") == 1 and "RuntimeError: something kaigai did not expect" in err and "KAIGAI_DEBUG" in err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["replicate", "--firms", "x.csv"]) == USER_ERROR
    assert "the following arguments are required" in capsys.readouterr().err
    assert main(["generate", "--seed", "abc", "--out", "w"]) == USER_ERROR
    assert "invalid int value: 'abc'" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_parent_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    run_refused(["generate", "--preset", "tiny", "--out", str(locked / "w")], tmp_path, capsys,
                "you cannot write into")
