"""``kaigai generate`` + ``kaigai replicate`` end to end, and a battery of malformed inputs.

Every malformed input must give a clear message naming the problem, exit
with the user-error status, and leave ``--out`` untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.disclosure import check_folder
from kaigai_lib.data.outputs import OUTPUT_MARKER, OutputFolder
from kaigai_lib.replication.cli import USER_ERROR, main


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world") / "tiny"
    assert main(["generate", "--preset", "tiny", "--seed", "3", "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def replicated(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results") / "out"
    status = main(["replicate", "--firms", str(generated / "firms.parquet"),
                   "--establishments", str(generated / "establishments.csv"),
                   "--foreign-demand", str(generated / "foreign_demand.csv"), "--out", str(out)])
    assert status == 0
    return out


def test_generate_writes_the_schema_in_parquet_and_csv(generated: Path) -> None:
    for table in ("firms", "establishments", "foreign_demand"):
        parquet = pd.read_parquet(generated / f"{table}.parquet")
        csv = pd.read_csv(generated / f"{table}.csv")
        assert list(parquet.columns) == list(csv.columns)
        assert len(parquet) == len(csv) > 0
    assert (generated / "kaigai_world.json").exists() and (generated / "truth" / "effects.csv").exists()


def test_replicate_writes_every_output_and_passes_disclosure(replicated: Path) -> None:
    effects = pd.read_csv(replicated / "effects.csv")
    required = ["analysis", "group", "outcome", "horizon", "estimate", "std_error", "p_value", "ci_low",
                "ci_high", "n_treated", "n_control"]
    assert list(effects.columns[:len(required)]) == required
    assert "truth" in effects.columns  # the inputs came from kaigai generate
    assert set(effects["analysis"]) == {"export", "fdi"}
    for name in ("production.csv", "distributions.csv", "spillover.csv", "report.html", "run.log",
                 "fig_II-2-4-1_effects.png", "fig_II-2-4-1_effects.svg"):
        assert (replicated / name).exists(), name
    assert check_folder(replicated) == []
    for csv in replicated.glob("*.csv"):
        assert not {"firm_id", "establishment_id"} & set(pd.read_csv(csv).columns), csv


def test_check_disclosure_command_catches_tampering(replicated: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(replicated, copy)
    assert main(["check-disclosure", str(copy)]) == 0
    effects = pd.read_csv(copy / "effects.csv")
    effects.loc[0, ["suppressed", "n_firms"]] = [False, 1]
    effects.to_csv(copy / "effects.csv", index=False)
    assert main(["check-disclosure", str(copy)]) == 1
    assert "fewer than 3 firms but shown" in capsys.readouterr().err


def test_small_cells_never_reach_the_output(generated: Path, tmp_path: Path) -> None:
    config = tmp_path / "strict.toml"
    config.write_text("[disclosure]\nmin_firms = 100000\n", encoding="utf-8")
    out = tmp_path / "strict"
    assert main(["replicate", "--firms", str(generated / "firms.csv"),
                 "--establishments", str(generated / "establishments.csv"),
                 "--foreign-demand", str(generated / "foreign_demand.csv"), "--config", str(config),
                 "--out", str(out)]) == 0
    effects = pd.read_csv(out / "effects.csv")
    assert effects["suppressed"].all() and effects["estimate"].isna().all()
    assert not (out / "fig_II-2-4-1_effects.png").exists()  # figures only from cells that pass
    assert check_folder(out) == []


# --------------------------------------------------------------------------- malformed inputs

def _write(folder: Path, name: str, table: pd.DataFrame) -> Path:
    path = folder / name
    table.to_csv(path, index=False)
    return path


Mutation = Callable[[dict[str, pd.DataFrame], Path], dict[str, Path]]


def _mutate_firms(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Mutation:
    def mutate(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
        return {"firms": _write(folder, "firms.csv", change(tables["firms"].copy()))}
    return mutate


def _mutate_establishments(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Mutation:
    def mutate(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
        return {"establishments": _write(folder, "establishments.csv", change(tables["establishments"].copy()))}
    return mutate


def _raw_file(name: str, content: bytes, table: str = "firms") -> Mutation:
    def mutate(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
        path = folder / name
        path.write_bytes(content)
        return {table: path}
    return mutate


def _set(column: str, rows: slice | list, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df = df.astype({column: object}) if isinstance(value, str) else df
        df.loc[df.index[rows], column] = value
        return df
    return change


MALFORMED: dict[str, tuple[Mutation, str]] = {
    "missing column": (_mutate_firms(lambda d: d.drop(columns=["sales"])), "missing required column(s) ['sales']"),
    "misnamed column": (_mutate_firms(lambda d: d.rename(columns={"employees": "jugyoin"})),
                        "missing required column(s) ['employees']"),
    "text in a number column": (_mutate_firms(_set("sales", [3], "n/a")), "'sales'"),
    "duplicate keys": (_mutate_firms(lambda d: pd.concat([d, d.head(2)])), "share a (firm_id, year) key"),
    "zero employees": (_mutate_firms(_set("employees", [5, 6], 0)), "'employees'"),
    "negative value added": (_mutate_firms(_set("value_added", [1], -5.0)), "must be > 0"),
    "NaN-heavy column": (_mutate_firms(_set("capital_stock", slice(0, 2000), np.nan)),
                         "'capital_stock'"),
    "single industry": (_mutate_firms(lambda d: d.assign(industry="food")), "only one industry"),
    "no export starters": (_mutate_firms(lambda d: d.assign(exporter=False)), "no firm switches 'exporter'"),
    "no FDI starters": (_mutate_firms(lambda d: d.assign(fdi=True)), "no firm switches 'fdi'"),
    "foreign ratio as a share": (_mutate_firms(lambda d: d.assign(foreign_capital_ratio=d["foreign_capital_ratio"]
                                                                  + 200)), "must be ≤ 100"),
    "missing year": (_mutate_firms(_set("year", [0], np.nan)), "'year'"),
    "firm id left blank": (_mutate_firms(_set("firm_id", [3], np.nan)), "'firm_id'"),
    "plant without its firm id": (_mutate_establishments(_set("firm_id", [2], np.nan)), "'firm_id'"),
    "coordinates outside Japan": (_mutate_establishments(_set("latitude", [0, 1, 2], 51.5)),
                                  "'latitude'"),
    "missing longitude": (_mutate_establishments(_set("longitude", [4], np.nan)), "'longitude'"),
    "negative exports": (_mutate_establishments(_set("exports", [7], -1.0)), "'exports'"),
    "establishment key duplicates": (_mutate_establishments(lambda d: pd.concat([d, d.head(1)])),
                                     "share a (establishment_id, year) key"),
    "empty file": (_raw_file("firms.csv", b""), "is empty"),
    "header only": (_raw_file("firms.csv", b"firm_id,year\n"), "has no rows"),
    "wrong file format": (_raw_file("firms.xlsx", b"PK\x03\x04 not a spreadsheet"), "neither CSV"),
    "corrupt parquet": (_raw_file("firms.parquet", b"this is not parquet"), "cannot read"),
    "missing file": (lambda tables, folder: {"firms": folder / "nope.csv"}, "does not exist"),
    "foreign demand without its column": (
        lambda tables, folder: {"foreign_demand": _write(folder, "fd.csv", tables["foreign_demand"]
                                                         .rename(columns={"foreign_demand_di": "di"}))},
        "missing required column(s) ['foreign_demand_di']"),
}


@pytest.fixture(scope="module")
def tables(generated: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(generated / f"{t}.csv") for t in ("firms", "establishments", "foreign_demand")}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_inputs_give_a_clear_message_and_leave_out_untouched(
        case: str, generated: Path, tables: dict[str, pd.DataFrame], tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    mutate, message = MALFORMED[case]
    paths = {t: generated / f"{t}.csv" for t in ("firms", "establishments", "foreign_demand")}
    paths.update(mutate(tables, tmp_path))
    out = tmp_path / "out"
    with OutputFolder(out, command="replicate") as earlier:  # an earlier result, which --force may replace
        (earlier.path / "keep.txt").write_text("an earlier result")
        earlier.commit()
    before = sorted(p.name for p in tmp_path.iterdir())
    status = main(["replicate", "--firms", str(paths["firms"]), "--establishments", str(paths["establishments"]),
                   "--foreign-demand", str(paths["foreign_demand"]), "--out", str(out), "--force"])
    err = capsys.readouterr().err
    assert status == USER_ERROR, err
    assert message in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "keep.txt"]
    assert (out / "keep.txt").read_text() == "an earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging folder or lock left behind


def test_bad_config_names_section_and_key(generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[columns.firms]\njugyoin = \"employes\"\n[analysis]\nradius = 5\n[extra]\n", encoding="utf-8")
    status = main(["replicate", "--firms", str(generated / "firms.csv"), "--establishments",
                   str(generated / "establishments.csv"), "--foreign-demand", str(generated / "foreign_demand.csv"),
                   "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == USER_ERROR
    assert "'employes' is not a column of the firms schema" in err
    assert "[analysis] radius: unknown setting" in err and "unknown section [extra]" in err


def test_config_maps_the_analysts_column_names(generated: Path, tmp_path: Path) -> None:
    firms = pd.read_csv(generated / "firms.csv").rename(columns={"employees": "jugyoin", "sales": "uriage"})
    firms_path = tmp_path / "firms_own_names.csv"
    firms.to_csv(firms_path, index=False)
    config = tmp_path / "map.toml"
    config.write_text('[columns.firms]\njugyoin = "employees"\nuriage = "sales"\n', encoding="utf-8")
    out = tmp_path / "mapped"
    assert main(["replicate", "--firms", str(firms_path), "--establishments", str(generated / "establishments.csv"),
                 "--foreign-demand", str(generated / "foreign_demand.csv"), "--config", str(config),
                 "--out", str(out)]) == 0
    assert (out / "effects.csv").exists()
