"""``[analysis] did_extra_covariates`` of ``kaigai replicate``: the analyst's own columns in the DiD's score.

The names leave the room in run.log, so they are held to the neutral-column rule and listed for the output
checker; every firm-year left out for lack of a value is counted; a bad list is refused before any stage runs,
naming the key and the column.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.disclosure import check_folder, check_results
from kaigai_lib.data.free_text import LOG_FORMAT, read_log
from kaigai_lib.replication.cli import USER_ERROR, main
from kaigai_lib.replication.replicate import (
    Config,
    ReplicationError,
    Run,
    _settings_problems,
    read_config,
    read_extra_covariates,
    stage_did,
)
from kaigai_lib.whitepaper import did_design
from kaigai_lib.world.synthetic import World

KEY = "did_extra_covariates"


def _config(tmp_path: Path, analysis: str) -> Path:
    path = tmp_path / "replicate.toml"
    path.write_text("[analysis]\n" + analysis, encoding="utf-8")
    return path


def _with_paid_in_capital(world: World, missing_every: int = 0) -> pd.DataFrame:
    """The world's panel with a reading of the analyst's own: log paid-in capital, blank in every
    ``missing_every``-th row (none when 0)."""
    firms = world.firms.assign(tfp=world.latent["tfp_true"].to_numpy(),  # any TFP column will do
                               log_paid_in_capital=np.log(world.firms["paid_in_capital"]))
    if missing_every:
        firms.loc[firms.index[::missing_every], "log_paid_in_capital"] = np.nan
    return firms


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    """A logger writing run.log's format into a buffer (what replicate writes into the results folder)."""
    buffer = io.StringIO()
    log = logging.getLogger(f"test-extra-{name}")
    log.handlers, log.propagate = [], False
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return log, buffer


def test_the_did_stage_scores_on_the_columns_and_counts_the_rows_left_out(tiny_world: World, tmp_path: Path) -> None:
    config = read_config(_config(tmp_path, f'{KEY} = ["log_paid_in_capital"]\ndid_design = "robust"\n'
                                           "export_horizons = 3\n"))
    assert config.analysis[KEY] == ["log_paid_in_capital"]
    firms = _with_paid_in_capital(tiny_world, missing_every=17)
    log, buffer = _logger("stage")
    run = Run(inputs={}, config=config, out=tmp_path, log=log, world=tiny_world, firms=firms)
    table = stage_did(run, "export")
    # the same estimates as the library called with the option, and not those without it
    options = {"horizons": range(1, 4), "first_start_year": 1998, "pre_horizons": [-3, -2], "tfp_col": "tfp",
               "world": tiny_world, "design": "robust"}
    expected = did_design.white_paper_did(firms, "export", extra_covariates=["log_paid_in_capital"], **options)
    without = did_design.white_paper_did(firms, "export", **options)
    shown = table.loc[~table["suppressed"]].set_index(["outcome", "group", "horizon"])["estimate"]
    assert len(shown) > 10
    want = expected.result.table.set_index(["outcome", "group", "horizon"])["estimate"].reindex(shown.index)
    np.testing.assert_allclose(shown, want, rtol=1e-10)
    other = without.result.table.set_index(["outcome", "group", "horizon"])["estimate"].reindex(shown.index)
    assert not np.allclose(shown, other)
    # every firm-year at risk without the reading is counted: in run.log (which the output checker reads back,
    # listing the column names for review) and on the terminal
    left_out = int(expected.sample.excluded.loc["no log_paid_in_capital at t−1 (extra covariate)", "all"])
    assert left_out > 0
    problems, notes, _ = read_log(buffer.getvalue())
    assert problems == []
    assert (f"export: extra covariates at t−1 in the score: log_paid_in_capital; {left_out} firm-years at risk "
            "left out without them") in buffer.getvalue()
    assert any(note.endswith("column names of the firm file: log_paid_in_capital") for note in notes), notes
    assert any(f"{left_out:,} firm-year(s) at risk left out" in note and "log_paid_in_capital" in note
               for note in run.notes), run.notes


def test_no_line_and_no_note_without_the_setting(tiny_world: World, tmp_path: Path) -> None:
    config = read_config(_config(tmp_path, "export_horizons = 2\n"))
    assert config.analysis[KEY] == []
    log, buffer = _logger("plain")
    run = Run(inputs={}, config=config, out=tmp_path, log=log, world=tiny_world,
              firms=_with_paid_in_capital(tiny_world))
    stage_did(run, "export")
    assert "extra covariates" not in buffer.getvalue() and run.notes == []


@pytest.mark.parametrize(("value", "expected"), [
    ('"log_paid_in_capital"', "must be a list of column names"),
    ("[1, 2]", "must be a list of column names"),
    ('["Paid_In"]', "cannot be written in run.log"),
    ('["score_0012345"]', "cannot be written in run.log"),  # an id-like token
    ('["paid in capital"]', "cannot be written in run.log"),
    ('["x_" ]', None),
    ('["a", "a"]', "more than once"),
    ("[]", None),
    ("[" + ", ".join(f'"c{i}"' for i in range(51)) + "]", "at most 50"),
    ('["hojin1234567890123"]', "cannot be written in run.log"),  # an id after a long word
    ('["n1234_5678_9012_3"]', "cannot be written in run.log"),  # an id split by '_'
    ('["sales_2015"]', None),  # a year is four digits
])
def test_the_setting_is_checked_when_the_config_is_read(tmp_path: Path, value: str, expected: str | None) -> None:
    path = _config(tmp_path, f"{KEY} = {value}\n")
    if expected is None:
        assert read_config(path).analysis[KEY] == tomllib.loads(f"v = {value}")["v"]
        return
    with pytest.raises(ReplicationError, match=rf"\[analysis\] {KEY} = .*{expected}"):
        read_config(path)


def test_a_long_list_gives_a_short_message(tmp_path: Path) -> None:
    names = ", ".join(f'"c{i}"' for i in range(10_000))
    with pytest.raises(ReplicationError, match="lists 10,000 columns; at most 50") as caught:
        read_config(_config(tmp_path, f"{KEY} = [{names}]\n"))
    assert len(str(caught.value)) < 1_000


def _problems(firms: pd.DataFrame, names: list[str], design: str = "robust") -> list[str]:
    config = Config()
    config.analysis.update({KEY: names, "did_design": design})
    return [p for p in _settings_problems(config, firms) if KEY in p]


def test_columns_are_checked_against_the_firm_file_before_any_stage(tiny_world: World) -> None:
    firms = _with_paid_in_capital(tiny_world).drop(columns="tfp")
    assert _problems(firms, ["log_paid_in_capital"]) == []
    # absent
    [absent] = _problems(firms, ["log_paid_in_capital", "rd_spending"])
    assert "['rd_spending'] not in the firm file" in absent
    # a column the score reads already, or a key: refused for the analysis that reads it, saying which
    [taken] = _problems(firms, ["sales"])
    assert "'sales'" in taken and "for exports and FDI" in taken
    [fdi_only] = _problems(firms, ["domestic_subsidiaries"])
    assert "for FDI" in fdi_only and "exports" not in fdi_only
    [status] = _problems(firms, ["exporter"])  # the setting serves both analyses: refused is refused
    assert "for exports" in status and "FDI" not in status
    # a name kaigai writes into the sample, and its TFP column
    assert len(_problems(firms, ["sales_change"])) == 1 and len(_problems(firms, ["tfp"])) == 1
    # text that is not a number: the rows named; numbers stored as text: read
    text = firms.assign(log_paid_in_capital=firms["log_paid_in_capital"].map("{:,.3f}".format))
    assert _problems(text, ["log_paid_in_capital"]) == []
    text.loc[text.index[[4, 9]], "log_paid_in_capital"] = "n/a"
    [words] = _problems(text, ["log_paid_in_capital"])
    assert "2 value(s) that are not numbers" in words and "'n/a'" in words
    # true/false, complex, infinite, all blank
    assert "true/false" in _problems(firms.assign(flag=firms["exporter"].astype(bool)), ["flag"])[0]
    assert "complex" in _problems(firms.assign(z=firms["sales"] * 1j), ["z"])[0]
    assert "infinite" in _problems(firms.assign(x=firms["sales"].where(firms.index % 7 > 0, np.inf)), ["x"])[0]
    assert "empty in every row" in _problems(firms.assign(x=np.nan), ["x"])[0]
    # one value everywhere, or a scale the logit cannot weigh: refused before the TFP stage runs
    assert "takes one value (3) in every row" in _problems(firms.assign(x=3.0), ["x"])[0]
    assert "beyond what the fit can weigh" in _problems(firms.assign(x=firms["sales"] * 1e150), ["x"])[0]
    # columns the TFP stage writes into the firm table would replace the analyst's: refused, not overwritten
    for name in ("compensation_per_employee", "log_value_added", "log_intermediate_inputs"):
        [written] = _problems(firms.assign(**{name: 1.0}), [name])
        assert "kaigai replicate computes itself" in written or "kaigai gives a column of its own" in written, written
    # the year a firm starts tells the future
    assert "holds the year a firm starts" in _problems(firms, ["export_start_year"])[0]
    # one refusal does not hide another column's problem
    taken, absent = _problems(firms, ["sales", "white_paper"])
    assert "'sales'" in taken and "['white_paper'] not in the firm file" in absent


def test_numbers_stored_as_text_are_read_once_with_a_note(tiny_world: World) -> None:
    firms = _with_paid_in_capital(tiny_world)
    text = firms.assign(log_paid_in_capital=firms["log_paid_in_capital"].map("{:.6f}".format).str.translate(
        str.maketrans("0123456789.", "０１２３４５６７８９．")))  # full-width digits, as a Japanese CSV may hold
    config = Config()
    config.analysis[KEY] = ["log_paid_in_capital"]
    read = read_extra_covariates(config, text)
    np.testing.assert_allclose(read["log_paid_in_capital"], firms["log_paid_in_capital"], atol=1e-6)
    assert config.notes == ["firms: 'log_paid_in_capital' (did_extra_covariates) holds numbers stored as text; read "
                            "as numbers"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world") / "tiny"
    assert main(["generate", "--preset", "tiny", "--seed", "5", "--out", str(folder)]) == 0
    return folder


def test_replicate_end_to_end_passes_the_output_checker(generated: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    firms = pd.read_parquet(generated / "firms.parquet")
    firms["log_paid_in_capital"] = np.log(firms["paid_in_capital"])
    firms.loc[firms.index[::23], "log_paid_in_capital"] = np.nan
    firms_path = tmp_path / "firms_with_own_reading.parquet"
    firms.to_parquet(firms_path, index=False)
    inputs = ["--firms", str(firms_path), "--establishments", str(generated / "establishments.csv"),
              "--foreign-demand", str(generated / "foreign_demand.csv")]
    config = _config(tmp_path, f'{KEY} = ["log_paid_in_capital"]\ndid_design = "robust"\n')
    out = tmp_path / "out"
    assert main(["replicate", *inputs, "--config", str(config), "--out", str(out)]) == 0
    assert "left out of the matching for lack of an extra covariate" in capsys.readouterr().out
    log = (out / "run.log").read_text(encoding="utf-8")
    assert log.count("extra covariates at t−1 in the score: log_paid_in_capital;") == 2  # exports and FDI
    check = check_results(out)
    assert check.problems == [] and not check.cannot_check
    # the names leave the room in results.json and run.log: the output checker lists them to read
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["settings"][KEY] == ["log_paid_in_capital"]
    assert any(r.startswith("results.json: settings.did_extra_covariates names columns of the firm file: "
                            "log_paid_in_capital") for r in check.reviews), check.reviews
    assert sum("column names of the firm file: log_paid_in_capital" in r for r in check.reviews) == 2
    # an edited results.json that smuggles an id through the list is refused
    edited = tmp_path / "edited"
    shutil.copytree(out, edited)
    report = json.loads((edited / "results.json").read_text(encoding="utf-8"))
    report["settings"][KEY] = ["f_2403118"]
    (edited / "results.json").write_text(json.dumps(report), encoding="utf-8")
    assert any("'settings' must map setting names to plain values" in p for p in check_folder(edited))
    # run.log's lines must say what results.json says, once per DiD, with kaigai's own analyses
    line = next(x for x in log.splitlines() if "extra covariates at t−1" in x and "export:" in x)
    edits = {"another name": log.replace(line, line.replace("log_paid_in_capital", "other_reading")),
             "a line added": log.replace(line, f"{line}\n{line}"),
             "a line deleted": log.replace(f"{line}\n", ""),
             "a firm's name as the analysis": log.replace(line, line.replace("export:", "tanaka_seisakusho:")),
             "an id as a name": log.replace(line, line.replace("log_paid_in_capital", "x_2403118"))}
    for what, text in edits.items():
        shutil.rmtree(edited)
        shutil.copytree(out, edited)
        (edited / "run.log").write_text(text, encoding="utf-8")
        found = check_folder(edited)
        assert any("run.log: its lines of extra covariates" in p or "is not a line kaigai writes" in p
                   for p in found), (what, found)
    # a name the output checker would refuse never reaches a stage, and --out is not created
    bad = _config(tmp_path, f'{KEY} = ["Firm0012345"]\n')
    assert main(["replicate", *inputs, "--config", str(bad), "--out", str(tmp_path / "never")]) == USER_ERROR
    assert "cannot be written in run.log" in capsys.readouterr().err and not (tmp_path / "never").exists()
