"""``kaigai replicate`` against a hostile analyst (the third round): labels that carry a firm out of the room, a
cell that made pyfixest abort the process, what a killed run leaves, and row numbers in the stages' errors.

Each test fails on the code before its fix. Runs that would abort are made in a subprocess, so a regression
fails the test rather than killing pytest; the replicate runs skip the export and FDI stages (their own tests
run them) to stay within seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.disclosure import (
    ID_TOKEN,
    MANIFEST,
    NEUTRAL_NAME,
    OUTPUT_LABELS,
    SPILLOVER_TERMS,
    DisclosureRules,
    check_results,
    write_manifest,
)
from kaigai_lib.data.outputs import OUTPUT_MARKER, STAGING_MARKER, OutputFolder, read_marker, sha256_of
from kaigai_lib.replication.cli import USER_ERROR, main
from kaigai_lib.replication.replicate import ReplicationError, read_config

FIRM_NAME = "Toyota_Motor_F000123"
TREATMENT = """\
[disclosure]
min_firms = 3

[treatment]
name = "{name}"
column = "supported"
start_year_column = "support_start_year"
outcomes = {outcomes}
groups = {groups}
horizons = 3
placebo_horizons = [-2]
"""


def treatment_config(folder: Path, name: str = "support", outcomes: str = '["exports"]',
                     groups: str = '["under 50", "50-99", "100-299"]') -> Path:
    path = folder / "replicate.toml"
    path.write_text(TREATMENT.format(name=name, outcomes=outcomes, groups=groups), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny world of seed 5: without a sample, its exports' zeros leave the 'under 50' cells of the support
    programme with singletons of the fixed effects only (the hostile tester's repro, /tmp/hostile9)."""
    folder = tmp_path_factory.mktemp("world5") / "world"
    assert main(["generate", "--preset", "tiny", "--seed", "5", "--out", str(folder)]) == 0
    return folder


def argv(world: Path, out: Path, config: Path | None = None, firms: Path | None = None) -> list[str]:
    return ["replicate", "--firms", str(firms or world / "firms.parquet"),
            "--establishments", str(world / "establishments.parquet"),
            "--foreign-demand", str(world / "foreign_demand.parquet"), "--out", str(out),
            *(["--config", str(config)] if config else [])]


# A replicate run in a child process, without the export and FDI stages (tested elsewhere; 20 s on tiny)
SKIP_WHITE_PAPER_DIDS = """\
import sys
import pandas as pd
from kaigai_lib.data.disclosure import EFFECT_COLUMNS, PROTECTION_COLUMNS
import kaigai_lib.replication.replicate as replicate
replicate.stage_did = lambda run, analysis: pd.DataFrame(columns=[*EFFECT_COLUMNS, *PROTECTION_COLUMNS])
from kaigai_lib.replication.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_child(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KAIGAI_DEBUG"}
    return subprocess.run([sys.executable, "-c", SKIP_WHITE_PAPER_DIDS, *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


# --------------------------------------------------------------------------- 1. labels that leave the room

@pytest.mark.parametrize(("key", "toml", "expected"), [
    ("name", {"name": FIRM_NAME}, f'[treatment] name = "{FIRM_NAME}": a short neutral label'),
    ("name", {"name": "toyota sales 2403.1"}, "no digits"),
    ("name", {"name": "Support"}, "lowercase letters"),
    ("outcomes", {"outcomes": '["sales_f000123"]'}, "[treatment] outcomes[0] = \"sales_f000123\": the outcome's name"),
    ("outcomes", {"outcomes": '["Toyota Sales"]'}, "rename the column in the firm file"),
    ("groups", {"groups": '["Toyota", "50-99"]'}, "['Toyota'] are not size classes"),
])
def test_config_labels_that_reach_the_outputs_must_be_neutral(key: str, toml: dict[str, str], expected: str,
                                                              tmp_path: Path) -> None:
    config = treatment_config(tmp_path, **toml)
    with pytest.raises(ReplicationError) as error:
        read_config(config)
    assert expected in str(error.value), str(error.value)
    assert f"[treatment] {key}" in str(error.value)


def test_a_neutral_config_is_accepted(tmp_path: Path) -> None:
    settings = read_config(treatment_config(tmp_path, name="export_support", outcomes='["exports", "rd_2"]'))
    assert settings.treatment["name"] == "export_support"


def test_the_config_rule_and_the_checker_agree() -> None:
    rule = OUTPUT_LABELS["effects.csv"]["analysis"]
    assert rule.pattern is NEUTRAL_NAME
    assert rule.problem("support") is None
    assert "whose rule is" in rule.problem(FIRM_NAME)
    assert ID_TOKEN.search("Toyota Motor (F000123)") and ID_TOKEN.search("法人 1234567890123")
    assert not any(ID_TOKEN.search(code) for code in ("09", "0911", "E0911", "食料品製造業", "50-99"))


def test_the_checker_knows_every_spillover_term() -> None:
    from kaigai_lib.estimators import spatial

    assert set(spatial.TERM_LABELS) == {*SPILLOVER_TERMS, "year_effects", "other", "total"}
    assert set(SPILLOVER_TERMS) == {spatial.OPR, spatial.DI, *[c for c in spatial.CONTROLS if c != "none"]}


def reseal(folder: Path) -> None:
    """What a forger does after editing a table: the manifest, results.json and the marker rewritten to match."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    tables = {n: e["values"] for n, e in manifest.items() if e["kind"] == "table"}
    figures = {n: e["sources"] for n, e in manifest.items() if e["kind"] == "figure"}
    others = {n: e["holds"] for n, e in manifest.items() if e["kind"] == "other"}
    settings = json.loads((folder / "results.json").read_text(encoding="utf-8"))["settings"]
    write_manifest(folder, DisclosureRules(), tables, figures, others, settings)
    marker = json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8"))
    marker["sha256"] = {name: sha256_of(folder / name) for name in marker["sha256"]}
    (folder / OUTPUT_MARKER).write_text(json.dumps(marker), encoding="utf-8")


@pytest.mark.parametrize(("table", "column", "label", "expected"), [
    ("effects.csv", "analysis", FIRM_NAME, "it comes from the config's [treatment] name, whose rule is"),
    ("effects.csv", "outcome", "toyota_f000123", "holds an identifier-like token (f000123)"),
    ("effects.csv", "group", "Toyota", "kaigai never writes it there"),
    ("effects.csv", "horizon", "5; F000123", "column 'horizon' must hold whole numbers"),
    ("production.csv", "industry", "Toyota Motor (F000123)", "the firm file's industry column and holds an identifier"),
    ("distributions.csv", "group", "Toyota", "kaigai never writes it there"),
    ("spillover.csv", "regressor", "toyota", "kaigai never writes it there"),
])
def test_check_disclosure_fails_a_label_that_may_not_leave(table: str, column: str, label: str, expected: str,
                                                            tiny_results: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "results"
    shutil.copytree(tiny_results, folder)
    frame = pd.read_csv(folder / table, dtype=str, keep_default_na=False)
    frame.loc[0, column] = label
    frame.to_csv(folder / table, index=False)
    reseal(folder)  # every checksum matches: only the label can give it away
    assert main(["check-disclosure", str(folder)]) == 1
    assert expected in capsys.readouterr().err


def test_check_disclosure_lists_labels_from_the_data_for_review(tiny_results: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "results"
    shutil.copytree(tiny_results, folder)
    production = pd.read_csv(folder / "production.csv", dtype=str, keep_default_na=False)
    production.loc[production["industry"] == production["industry"].iloc[0], "industry"] = "toyota"
    production.to_csv(folder / "production.csv", index=False)
    reseal(folder)
    assert main(["check-disclosure", str(folder)]) == 0  # a firm's name in letters passes every rule …
    review = [line for line in capsys.readouterr().out.splitlines() if "production.csv: 'industry' labels" in line]
    assert len(review) == 1 and "'toyota'" in review[0]  # … and is shown to the output checker
    assert check_results(folder).problems == []


def test_industry_labels_with_an_id_are_refused_before_any_stage(world5: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    firms = pd.read_parquet(world5 / "firms.parquet")
    firms["industry"] = firms["industry"].astype(str)
    chosen = firms.index[firms["industry"] == firms["industry"].iloc[0]]
    firms.loc[chosen, "industry"] = "Toyota Motor (F000123)"
    path = tmp_path / "firms.csv"
    firms.to_csv(path, index=False)
    assert main(argv(world5, tmp_path / "out", firms=path)) == USER_ERROR
    err = capsys.readouterr().err
    assert "column 'industry' holds 1 label(s) with an identifier-like token" in err
    assert f"lines {', '.join(str(i + 2) for i in chosen[:5])}" in err  # the file's lines (header = line 1)
    assert not (tmp_path / "out").exists()


def test_a_firm_files_own_size_labels_are_refused_with_a_treatment(world5: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    firms = pd.read_parquet(world5 / "firms.parquet").assign(size="small")
    firms.loc[firms.index[:2], "size"] = FIRM_NAME
    path = tmp_path / "firms.parquet"
    firms.to_parquet(path)
    assert main(argv(world5, tmp_path / "out", treatment_config(tmp_path), firms=path)) == USER_ERROR
    assert "column 'size' holds label(s) other than kaigai's size classes" in capsys.readouterr().err


# --------------------------------------------------------------------------- 2. the abort, end to end

@pytest.fixture(scope="module")
def aborting_run(world5: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The hostile repro: exports (zeros included) without a sample; the firm file in a folder named after a firm
    and written with firm_id and year as its index (so a note names its path)."""
    root = tmp_path_factory.mktemp("abort")
    (root / FIRM_NAME).mkdir()
    firms = root / FIRM_NAME / "firms.parquet"
    pd.read_parquet(world5 / "firms.parquet").set_index(["firm_id", "year"]).to_parquet(firms)
    result = run_child(argv(world5, root / "out", treatment_config(root), firms=firms), root)
    return root, result


def test_a_cell_of_singletons_no_longer_aborts_replicate(aborting_run: tuple[Path, subprocess.CompletedProcess]
                                                         ) -> None:
    root, result = aborting_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "panicked" not in result.stderr
    assert "kaigai replicate: note: support: 4 cell(s) could not be estimated" in result.stdout
    # the design's warnings (zeros set to missing) are notes, not Python warning lines with a source line
    assert "kaigai replicate: note: support: treatment_did: non-positive outcome values" in result.stdout
    assert "UserWarning" not in result.stderr
    assert sorted(p.name for p in root.iterdir()) == [FIRM_NAME, "out", "replicate.toml"]  # no staging, no lock
    log = (root / "out" / "run.log").read_text(encoding="utf-8")
    assert "support: not estimated (blank in effects.csv): exports × under 50 × h=-2: fewer than 2" in log
    assert "exports × under 50 × h=1: no residual degrees of freedom" in log
    assert main(["check-disclosure", str(root / "out")]) == 0


def test_estimates_rest_on_rows_counted_by_the_disclosure_check(
        aborting_run: tuple[Path, subprocess.CompletedProcess]) -> None:
    effects = pd.read_csv(aborting_run[0] / "out" / "effects.csv")
    support = effects.loc[effects["analysis"] == "support"]
    assert np.isfinite(support[["estimate", "std_error"]].to_numpy(float)[support["estimate"].notna()]).all()
    counts = support["groups"].str.extract(r"starters=(\d+);controls=(\d+)").astype(int)
    shown = ~support["suppressed"]
    # a shown cell's starters and controls are the rows its regression used (no singleton counted)
    assert (counts.loc[shown, 0] == support.loc[shown, "n_treated"]).all()
    assert (counts.loc[shown, 1] == support.loc[shown, "n_control"]).all()
    thin = support["n_treated"].lt(3) | support["n_control"].lt(3)
    assert thin.any() and support.loc[thin, "suppressed"].all()


def test_run_log_never_holds_an_input_path(aborting_run: tuple[Path, subprocess.CompletedProcess]) -> None:
    root = aborting_run[0]
    log = (root / "out" / "run.log").read_text(encoding="utf-8")
    assert "note: --firms: the --firms file keeps ['firm_id', 'year'] in its index" in log
    for path in (root / "out").iterdir():
        assert FIRM_NAME.encode() not in path.read_bytes(), path.name


# --------------------------------------------------------------------------- 2b. matched_did on its own

MATCHED_DID_CELL = """\
import numpy as np, pandas as pd
from kaigai_lib.estimators.did import EventChanges, matched_did
rows = pd.DataFrame({{"firm_id": range(1, 7), "pair": [0, 1, 2, 0, 1, 2], "treated": [1, 1, 1, 0, 0, 0],
                     "cohort": {cohort}, "industry": {industry}, "outcome": "exports", "horizon": 1,
                     "change_log": {change}}})
changes = EventChanges(table=rows, missing=pd.DataFrame(), unit="firm_id", horizons=[1])
result = matched_did(changes, controls=["cohort", "industry"], cluster={cluster!r}, scale="log")
print(result.table[["estimate", "std_error", "n_treated", "n_control"]].to_json(orient="records"))
print(result.skipped["reason"].tolist())
"""


@pytest.mark.parametrize(("case", "cell", "reason"), [
    ("every row alone in its stratum", {"cohort": [2011, 2012, 2013, 2014, 2015, 2016]},
     "fewer than 2 starters or controls with a usable change (0 starter(s), 0 control(s)"),
    ("one cluster", {"cluster": "industry"}, "a single cluster of industry"),
    ("no variation", {"change": [0.1] * 6}, "the change is the same for every row"),
    ("no residual degrees of freedom", {"cohort": [2011, 2012, 2013, 2011, 2012, 2013],
                                        "industry": ["a", "b", "c", "c", "a", "b"]},
     "no residual degrees of freedom"),
])
def test_matched_did_skips_a_cell_pyfixest_cannot_fit(case: str, cell: dict, reason: str, tmp_path: Path) -> None:
    values = {"cohort": [2011] * 6, "industry": ["a"] * 6, "change": [0.1, 0.3, -0.2, 0.0, 0.2, -0.1],
              "cluster": "firm", **cell}
    result = subprocess.run([sys.executable, "-c", MATCHED_DID_CELL.format(**values)], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]  # -6 (SIGABRT) before: pyfixest's demeaning panicked
    table, skipped = result.stdout.strip().splitlines()
    assert json.loads(table)[0]["estimate"] is None
    assert reason in skipped, skipped


def test_matched_did_refuses_an_infinite_change_naming_the_cell() -> None:
    from kaigai_lib.estimators.did import EventChanges, matched_did

    rows = pd.DataFrame({"firm_id": range(1, 7), "pair": [0, 1, 2, 0, 1, 2], "treated": [1, 1, 1, 0, 0, 0],
                         "cohort": 2011, "outcome": "tfp", "horizon": 2,
                         "change_log": [0.1, -np.inf, 0.2, 0.0, 0.1, 0.3]})
    changes = EventChanges(table=rows, missing=pd.DataFrame(), unit="firm_id", horizons=[2])
    with pytest.raises(ValueError, match=r"cell tfp × all × h=2: 'change_log' is infinite for 1 row\(s\) "
                                         r"\(e.g. firm_id \[2\]\)"):
        matched_did(changes, scale="log")


# --------------------------------------------------------------------------- what a killed run leaves

def test_a_killed_runs_staging_folder_says_it_is_unfinished(world5: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAIGAI_DEBUG"}
    process = subprocess.Popen([sys.executable, "-m", "kaigai_lib", *argv(world5, tmp_path / "out")], cwd=tmp_path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".out.kaigai-staging-*/run.log")):
        assert process.poll() is None and time.monotonic() < deadline, "no stage started"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # as a native library's abort: no clean-up can run
    process.wait()
    (staging,) = tmp_path.glob(".out.kaigai-staging-*")
    marker = json.loads((staging / STAGING_MARKER).read_text(encoding="utf-8"))
    assert marker["state"] == "unfinished" and "never disclosure-checked" in marker["note"]
    assert check_results(staging).cannot_check  # no manifest: never taken for a result


def test_the_next_run_deletes_only_what_a_run_left(tmp_path: Path) -> None:
    # a folder with a staging name that kaigai did not make (no marker), and a parked earlier result that
    # someone added a file to: neither is deleted
    with OutputFolder(tmp_path / "out", command="replicate") as folder:  # the earlier result
        (folder.path / "effects.csv").write_text("estimate\n0.0\n")
        folder.commit()
    mine = tmp_path / ".out.kaigai-staging-mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    parked = tmp_path / ".out.kaigai-old-abc"
    parked.mkdir()
    with OutputFolder(parked / "previous", command="replicate") as folder:
        (folder.path / "effects.csv").write_text("estimate\n1.0\n")
        folder.commit()
    (parked / "previous" / "mine.txt").write_text("added")
    # a run killed during its final move: the staging marker gone, the result complete
    with OutputFolder(tmp_path / "done", command="replicate") as folder:
        (folder.path / "effects.csv").write_text("estimate\n2.0\n")
        folder.commit()
    os.rename(tmp_path / "done", tmp_path / ".out.kaigai-staging-moved")
    with OutputFolder(tmp_path / "out", command="replicate", force=True) as folder:
        (folder.path / "effects.csv").write_text("estimate\n3.0\n")
        folder.commit()
    assert (mine / "notes.txt").read_text() == "my notes"
    assert (parked / "previous" / "mine.txt").read_text() == "added"
    assert not (tmp_path / ".out.kaigai-staging-moved").exists()
    assert read_marker(tmp_path / "out") is not None and STAGING_MARKER not in os.listdir(tmp_path / "out")
    assert (tmp_path / "out" / "effects.csv").read_text() == "estimate\n3.0\n"


def test_check_disclosure_refuses_an_unfinished_folder(tiny_results: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "results"
    shutil.copytree(tiny_results, folder)
    (folder / STAGING_MARKER).write_text(json.dumps({"written_by": "kaigai", "state": "unfinished"}))
    assert main(["check-disclosure", str(folder)]) == 1
    assert "the folder is an unfinished kaigai run" in capsys.readouterr().err


# --------------------------------------------------------------------------- 3. row numbers at the stages

def test_stage_errors_name_the_files_lines_like_the_validation(world5: Path, tmp_path: Path) -> None:
    firms = pd.read_parquet(world5 / "firms.parquet")
    firms["my_covariate"] = 1.0 + np.arange(len(firms)) % 7
    # the base year of one support starter: read by the logit only, so the validation lets it through
    starts = firms.loc[firms["support_start_year"].notna(), ["firm_id", "support_start_year"]].drop_duplicates()
    starts = starts.assign(year=(starts["support_start_year"] - 1).astype(firms["year"].dtype))
    base_rows = starts[["firm_id", "year"]].merge(firms.reset_index(), on=["firm_id", "year"])
    base_rows = base_rows.loc[base_rows["employees"] < 300]  # in the config's groups (size classes below 300)
    base = pd.Index([base_rows["index"].iloc[0]])
    firms.loc[base, "my_covariate"] = np.nan
    firms.to_csv(tmp_path / "firms.csv", index=False)
    config = treatment_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "horizons = 3", 'horizons = 3\ncovariates = "np.log(employees) + my_covariate"'), encoding="utf-8")
    result = run_child(argv(world5, tmp_path / "out", config, firms=tmp_path / "firms.csv"), tmp_path)
    assert result.returncode == USER_ERROR, result.stderr[-2000:]
    line = int(base[0]) + 2  # the CSV's header is line 1
    assert f"e.g. index [{line}]" in result.stderr, result.stderr[-2000:]
    # the firm file is a CSV, the others Parquet: each input's numbering is said
    assert ("(row and index numbers are --firms: the file lines (header = line 1); --establishments: rows counted "
            "from 0; --foreign-demand: rows counted from 0)") in result.stderr
    assert "Traceback" not in result.stderr


def test_inputs_in_a_world_a_killed_generate_parked_say_where_it_is(world5: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # `kaigai generate --force` killed between its two moves leaves the earlier world parked beside itself:
    # replicate said only "does not exist", and the analyst regenerated (or looked for a deleted world)
    world = tmp_path / "world"
    shutil.copytree(world5, world)
    parked = tmp_path / ".world.kaigai-old-a1b2c3"
    parked.mkdir()
    os.rename(world, parked / "previous")
    config = world / "config.toml"
    for extra, missing in (([], f"{world / 'firms.parquet'} does not exist"),
                           (["--config", str(config)], f"config {config} not found")):
        assert main([*argv(world, tmp_path / "out"), *extra]) == USER_ERROR
        message = capsys.readouterr().err
        assert missing in message
        assert f"the earlier result is parked in {parked / 'previous'}" in message
        assert f"mv '{parked / 'previous'}' '{world}'" in message
    assert not (tmp_path / "out").exists() and (parked / "previous" / "firms.parquet").is_file()
    # a path that simply does not exist gets no such note
    assert main(argv(tmp_path / "elsewhere", tmp_path / "out")) == USER_ERROR
    assert "parked" not in capsys.readouterr().err
