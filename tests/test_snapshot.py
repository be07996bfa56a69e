"""synthetic_data/ is exactly what the generator writes (regenerated and compared byte for byte)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaigai_lib.world import snapshot
from kaigai_lib.world.synthetic import generate

SNAPSHOT = Path(__file__).resolve().parents[1] / "synthetic_data"


@pytest.fixture(scope="module")
def regenerated():
    return generate(preset=snapshot.PRESET, seed=snapshot.SEED)


@pytest.mark.parametrize("table", ["firms", "establishments", "foreign_demand", "deflators"])
def test_snapshot_csv_is_identical_to_a_fresh_generation(regenerated, table: str) -> None:
    fresh = snapshot.csv_bytes(snapshot.snapshot_tables(regenerated)[table])
    committed = snapshot.read_snapshot_bytes(SNAPSHOT, table)
    assert fresh == committed, f"synthetic_data/{snapshot.file_name(table)} is stale: run `make snapshot`"


def test_data_dictionary_is_current(regenerated) -> None:
    assert (SNAPSHOT / "README.md").read_text(encoding="utf-8") == snapshot.data_dictionary(regenerated), \
        "synthetic_data/README.md is stale: run `make snapshot`"


def test_written_files_are_reproducible(tmp_path: Path) -> None:
    """Compressed files carry no time stamp, so writing twice gives identical bytes."""
    first = {p.name: p.read_bytes() for p in snapshot.write_snapshot(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in snapshot.write_snapshot(tmp_path / "b")}
    assert first == second
    assert first["firms.csv.gz"] == (SNAPSHOT / "firms.csv.gz").read_bytes()
