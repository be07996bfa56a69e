"""``kaigai check-disclosure``: every kind of tampering with a results folder is caught, with the rules of the
secure room (never those written in the folder). Exit 0 passes, 1 problems listed, 2 could not check."""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from kaigai_lib.data.disclosure import EFFECT_COLUMNS, MANIFEST, OUTPUT_MARKER, sha256_of
from kaigai_lib.replication.cli import main


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def _reseal(folder: Path, name: str) -> None:
    """What a careful forger does after an edit: record the file's new sha256 and columns in the manifest, so
    only the rules themselves can catch the change."""
    manifest = _manifest(folder)
    entry = manifest["files"][name]
    entry["sha256"] = sha256_of(folder / name)
    if entry["kind"] == "table":
        entry["columns"] = pd.read_csv(folder / name, nrows=0).columns.tolist()
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _edit_table(name: str, change: Callable[[pd.DataFrame], pd.DataFrame], *, reseal: bool = True,
                declare: bool = True) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        change(table).to_csv(folder / name, index=False)
        if reseal:
            columns = _manifest(folder)["files"][name]["columns"]
            _reseal(folder, name)
            if not declare:  # the sha256 is made to fit but the new column stays undeclared
                manifest = _manifest(folder)
                manifest["files"][name]["columns"] = columns
                (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return mutate


def _set_first_shown(column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[table.index[table["suppressed"] == "False"][0], column] = value
        return table
    return change


def _add_column(column: str, values: Callable[[int], list]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(table: pd.DataFrame) -> pd.DataFrame:
        table.insert(0, column, values(len(table)))
        return table
    return change


def _write(relative: str, content: bytes) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return mutate


def _append(name: str, content: bytes) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        with open(folder / name, "ab") as handle:
            handle.write(content)
    return mutate


def _loosen_rules_in_folder(folder: Path) -> None:
    """Edit the rules written in the folder to min_firms = 1 and show a one-firm row, resealed."""
    manifest = _manifest(folder)
    manifest["rules_when_written"]["min_firms"] = 1
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    _edit_table("effects.csv", lambda t: t.assign(**{"n_firms": ["1"] * len(t)}))(folder)


def _suppress_but_keep_value(table: pd.DataFrame) -> pd.DataFrame:
    table.loc[table.index[0], "suppressed"] = "True"
    return table


def _marker(folder: Path, **changes: object) -> None:
    """The marker kaigai_lib.data.outputs.OutputFolder.commit writes, then ``changes``."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and p.name != OUTPUT_MARKER)  # replicate's own marker is replaced, not listed
    marker = {"written_by": "kaigai", "command": "replicate", "created": "2026-11-30T03:00:00", "files": files,
              "sha256": {f: sha256_of(folder / f) for f in files}}
    marker.update(changes)
    (folder / OUTPUT_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def _marker_with_wrong_hash(folder: Path) -> None:
    _marker(folder)
    marker = json.loads((folder / OUTPUT_MARKER).read_text())
    marker["sha256"]["effects.csv"] = "0" * 64
    (folder / OUTPUT_MARKER).write_text(json.dumps(marker))


def _symlink(folder: Path) -> None:
    (folder / "link.csv").symlink_to(folder / "effects.csv")


def _delete(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def _manifest_text(text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / MANIFEST).write_text(text, encoding="utf-8")


def _manifest_escape(folder: Path) -> None:
    manifest = _manifest(folder)
    manifest["files"]["../outside.csv"] = manifest["files"]["effects.csv"]
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _garbage_table(folder: Path) -> None:
    (folder / "effects.csv").write_bytes(bytes(range(256)) * 40)
    manifest = _manifest(folder)
    manifest["files"]["effects.csv"]["sha256"] = sha256_of(folder / "effects.csv")
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _ids(n: int) -> list[str]:
    return [f"F{100000 + i}" for i in range(n)]


# ---- forgeries that rewrite the manifest's declarations too (no key protects it): the checker must judge every
# file by its own knowledge of what kaigai replicate writes, never by what the manifest declares

def _reseal_everything(folder: Path) -> None:
    """An attacker's final step: every hash in disclosure.json and in the .kaigai-output.json marker made to fit."""
    manifest = _manifest(folder)
    for name, entry in manifest["files"].items():
        if (folder / name).is_file():
            entry["sha256"] = sha256_of(folder / name)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    _marker(folder)


def _firm_rows() -> bytes:
    return pd.DataFrame({"firm_id": _ids(5), "sales": [9876543.0 + i for i in range(5)]}).to_csv(
        index=False).encode()


def _smuggle(name: str, content: bytes, entry: dict) -> Callable[[Path], None]:
    """Add ``name`` holding ``content`` and declare it in the manifest as ``entry``, resealed."""
    def mutate(folder: Path) -> None:
        (folder / name).write_bytes(content)
        manifest = _manifest(folder)
        manifest["files"][name] = {**entry, "sha256": ""}
        (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        _reseal_everything(folder)
    return mutate


def _redeclare(name: str, content: bytes) -> Callable[[Path], None]:
    """Replace a listed figure's bytes with ``content`` (its declaration kept), resealed."""
    def mutate(folder: Path) -> None:
        (folder / name).write_bytes(content)
        _reseal_everything(folder)
    return mutate


def _new_numeric_column(folder: Path) -> None:
    table = pd.read_csv(folder / "effects.csv", dtype=str, keep_default_na=False)
    table.insert(len(EFFECT_COLUMNS), "max_firm_sales", [str(9876543 + i) for i in range(len(table))])
    table.to_csv(folder / "effects.csv", index=False)
    _reseal(folder, "effects.csv")  # the new column appended to the declared columns
    _reseal_everything(folder)


def _png_with_text(keyword: bytes, text: bytes, kind: bytes = b"tEXt") -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / "fig_II-2-4-1_effects.png"
        data = path.read_bytes()
        body = keyword + b"\x00" + (b"\x00\x00\x00\x00" if kind == b"iTXt" else b"") + text
        chunk = len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        end = data.rindex(b"IEND") - 4  # before the IEND chunk, as a PNG writer would put it
        path.write_bytes(data[:end] + chunk + data[end:])
        _reseal_everything(folder)
    return mutate


def _svg_metadata(folder: Path) -> None:
    path = folder / "fig_II-2-4-2_3_distributions.svg"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("<dc:format>", "<dc:description>firm 12345 sales 9876543</dc:description>"
                                                "\n    <dc:format>", 1), encoding="utf-8")
    _reseal_everything(folder)


def _results_json(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        report = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        change(report)
        (folder / "results.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        _reseal_everything(folder)
    return mutate


def _secret_key(report: dict) -> None:
    report["secret"] = {"firm 12345": 9876543.0}


def _forged_count(report: dict) -> None:
    line = next(line for line in report["files"] if line["file"] == "effects.csv")
    line["counts"]["fewest_firms_in_a_shown_row"] = 9876543


def _key_in_a_line(report: dict) -> None:
    next(line for line in report["files"] if line["file"] == "run.log")["note"] = "firm 12345 sales 9876543"


FORGERIES: dict[str, tuple[Callable[[Path], None], str]] = {
    "(2) firm rows declared a figure": (
        _smuggle("effects_detail.csv", _firm_rows(), {"kind": "figure", "sources": ["effects.csv"]}),
        "effects_detail.csv: declared a figure, but figures are .png or .svg files only"),
    "(2) firm rows named .png, declared a figure": (
        _smuggle("extra.png", _firm_rows(), {"kind": "figure", "sources": ["effects.csv"]}),
        "extra.png: not a PNG image"),
    "(2) firm rows named .svg, declared a figure": (
        _smuggle("extra.svg", _firm_rows(), {"kind": "figure", "sources": ["effects.csv"]}),
        "extra.svg: not an SVG image"),
    "(2) a listed PNG replaced by firm rows": (_redeclare("fig_II-2-4-1_effects.png", _firm_rows()),
                                              "fig_II-2-4-1_effects.png: not a PNG image"),
    "(2) a listed SVG replaced by another XML": (
        _redeclare("fig_II-2-4-1_effects.svg", b"<rows><firm id='12345' sales='9876543'/></rows>"),
        "fig_II-2-4-1_effects.svg: not an SVG image"),
    "(3) firm rows declared results": (_smuggle("summary.csv", _firm_rows(), {"kind": "results"}),
                                       "summary.csv: declared 'results', but only kaigai replicate's own"),
    "(3) firm rows declared other": (
        _smuggle("counts.csv", _firm_rows(), {"kind": "other", "holds": "aggregate counts"}),
        "counts.csv: declared 'other', but only kaigai replicate's own"),
    "(3) firm rows declared a table of a new name": (
        _smuggle("firms.csv", _firm_rows(), {"kind": "table", "columns": ["firm_id", "sales"], "values": []}),
        "firms.csv: not a table kaigai replicate writes"),
    "(4) new numeric column declared in the manifest": (
        _new_numeric_column, "effects.csv: column(s) ['max_firm_sales'] are not in the schema of effects.csv"),
    "(5) PNG tEXt comment": (_png_with_text(b"Comment", b"firm 12345 sales 9876543"),
                             "fig_II-2-4-1_effects.png: PNG tEXt chunk 'Comment' is not what matplotlib writes"),
    "(5) PNG iTXt chunk": (_png_with_text(b"Comment", b"firm 12345 sales 9876543", b"iTXt"),
                           "fig_II-2-4-1_effects.png: PNG iTXt chunk 'Comment'"),
    "(5) PNG zTXt chunk": (_png_with_text(b"Comment", b"\x00" + zlib.compress(b"firm 12345"), b"zTXt"),
                           "fig_II-2-4-1_effects.png: PNG zTXt chunk 'Comment'"),
    "(5) PNG Software key with other text": (_png_with_text(b"Software", b"firm 12345 sales 9876543"),
                                             "PNG tEXt chunk 'Software' is not what matplotlib writes"),
    "(5) SVG metadata with numbers": (_svg_metadata, "fig_II-2-4-2_3_distributions.svg: SVG <metadata> holds "
                                                     "description"),
    "(5) results.json with a secret key": (_results_json(_secret_key), "results.json: must hold exactly the keys"),
    "(5) results.json with a forged count": (_results_json(_forged_count), "results.json: the line of effects.csv "
                                                                            "differs from what the checker "
                                                                            "recomputes"),
    "(5) results.json with a key in a file's line": (_results_json(_key_in_a_line),
                                                     "results.json: the line of run.log differs"),
    "(5) results.json settings smuggling an object": (
        _results_json(lambda report: report["settings"].update(radius_km={"firm 12345": 9876543})),
        "results.json: 'settings' must map setting names to plain values"),
}


def _refused(copy: Path, mutate: Callable[[Path], object], message: str, capsys: pytest.CaptureFixture) -> None:
    """check-disclosure on the folder after ``mutate``: exit 1, ``message`` on stderr, no traceback."""
    mutate(copy)
    code = main(["check-disclosure", str(copy)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_manifest_declarations_are_not_trusted(case: str, copy: Path, capsys: pytest.CaptureFixture) -> None:
    _refused(copy, *FORGERIES[case], capsys)


def test_resealing_alone_changes_nothing(copy: Path, capsys: pytest.CaptureFixture) -> None:
    """The forgeries above fail for what they add, not for the resealing: the same steps on the untouched folder
    pass."""
    _reseal_everything(copy)
    assert main(["check-disclosure", str(copy)]) == 0, capsys.readouterr().err


TAMPERING: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "edited png figure": (_append("fig_II-2-4-1_effects.png", b"\x00"), 1,
                          "fig_II-2-4-1_effects.png: sha256 differs"),
    "edited svg figure": (_append("fig_II-2-4-2_3_distributions.svg", b"<!-- 123.456 -->"), 1,
                          "fig_II-2-4-2_3_distributions.svg: sha256 differs"),
    "edited report.html": (_append("report.html", b"<p>firm 17: sales 1234.5</p>"), 1, "report.html: sha256 differs"),
    "edited run.log": (_append("run.log", b"firm 17 sales 1234.5\n"), 1, "run.log: sha256 differs"),
    "edited value, not resealed": (_edit_table("effects.csv", _set_first_shown("estimate", "0.5"), reseal=False), 1,
                                   "effects.csv: sha256 differs"),
    "extra csv": (_write("extra.csv", b"firm,sales\n1,10\n"), 1, "extra.csv: not in the manifest"),
    "extra parquet": (_write("microdata.parquet", b"PAR1...."), 1, "microdata.parquet: not in the manifest"),
    "extra file without extension": (_write("notes", b"1234.5"), 1, "notes: not in the manifest"),
    "extra hidden file": (_write(".cache", b"1234.5"), 1, ".cache: not in the manifest"),
    "extra file, other case": (_write("EFFECTS.CSV", b"estimate\n1\n"), 1, "EFFECTS.CSV: not in the manifest"),
    "extra file in a sub-folder": (_write("sub/effects.csv", b"estimate\n1\n"), 1, "sub/effects.csv: not in the "
                                                                                  "manifest"),
    "empty sub-folder": (lambda folder: (folder / "empty").mkdir(), 1, "empty/: a folder not in the manifest"),
    "symbolic link": (_symlink, 1, "link.csv: a symbolic link"),
    "listed file deleted": (_delete("spillover.csv"), 1, "spillover.csv: listed in the manifest but missing"),
    "edited rules in the folder": (_loosen_rules_in_folder, 1, "fewer than 3 firms but shown"),
    "blanked count": (_edit_table("effects.csv", _set_first_shown("n_firms", "")), 1,
                      "blank or non-numeric count in 'n_firms'"),
    "non-numeric count": (_edit_table("effects.csv", _set_first_shown("n_treated", "many")), 1,
                          "blank or non-numeric count in 'n_treated'"),
    "blanked group counts": (_edit_table("effects.csv", _set_first_shown("groups", "")), 1,
                             "without the firm count of each group"),
    "one group below the rule": (_edit_table("effects.csv", _set_first_shown("groups", "starters=1;controls=90")), 1,
                                 "with a group of fewer than 3 firms but shown"),
    "dominance raised": (_edit_table("distributions.csv", _set_first_shown("dominance_share", "0.99")), 1,
                         "dominance share above 0.85"),
    "p % rule broken": (_edit_table("effects.csv", _set_first_shown("p_ratio", "0.01")), 1, "below the p % rule"),
    "coefficient without residual df": (_edit_table("spillover.csv", _set_first_shown("residual_df", "4")), 1,
                                        "fewer than 10 residual degrees of freedom"),
    "coefficient on few firms": (_edit_table("production.csv", _set_first_shown("groups", "firms=5")), 1,
                                 "a coefficient identified by fewer than 10 firms"),
    "suppressed with its value kept": (_edit_table("effects.csv", _suppress_but_keep_value), 1,
                                       "suppressed but values still present"),
    "suppressed flag not boolean": (_edit_table("effects.csv", _set_first_shown("suppressed", "no")), 1,
                                    "'suppressed' must be True or False"),
    "text in a value column": (_edit_table("effects.csv", _set_first_shown("estimate", "F000123")), 1,
                               "holds text where a number belongs"),
    "firm_id column": (_edit_table("effects.csv", _add_column("firm_id", lambda n: list(range(n)))), 1,
                       "identifier column(s) ['firm_id']"),
    "企業番号 column": (_edit_table("distributions.csv", _add_column("企業番号", lambda n: list(range(n)))), 1,
                    "identifier column(s) ['企業番号']"),
    "Firm ID in full-width letters": (_edit_table("production.csv", _add_column("Ｆｉｒｍ ＩＤ", _ids)), 1,
                                      "identifier column(s) ['Ｆｉｒｍ ＩＤ']"),
    "事業所番号 column": (_edit_table("spillover.csv", _add_column("事業所番号", _ids)), 1, "identifier column(s)"),
    "column of id-like values": (_edit_table("effects.csv", _add_column("code", _ids)), 1,
                                 "column 'code' holds values that look like identifiers"),
    "undeclared column": (_edit_table("effects.csv", _add_column("note", lambda n: ["x"] * n), declare=False), 1,
                          "column(s) ['note'] not declared in the manifest"),
    "marker smuggling a list": (lambda folder: _marker(folder, extra=[1234.5, 17]), 1,
                                "key(s) 'extra' are not ones kaigai writes"),
    "marker with a wrong sha256": (_marker_with_wrong_hash, 1, "sha256 of effects.csv differs from the file"),
    "marker listing an unknown file": (lambda folder: _marker(folder, files=["secret.csv"], sha256={}), 1,
                                       "lists files that are not in the disclosure manifest"),
    "unreadable manifest": (_manifest_text("{not json"), 2, "unreadable manifest"),
    "manifest without files": (_manifest_text('{"rules": {}}'), 2, "unreadable manifest"),
    "manifest pointing outside": (_manifest_escape, 2, "points outside the folder"),
    "no manifest": (_delete(MANIFEST), 2, "no disclosure manifest"),
    "manifest that is a list": (_manifest_text("[1, 2]"), 2, "unreadable manifest"),
    "binary garbage as a table, resealed": (_garbage_table, 1, "effects.csv:"),
    "a named pipe": (lambda folder: os.mkfifo(folder / "pipe"), 1, "pipe: not in the manifest"),
}


@pytest.fixture
def copy(tiny_results: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(tiny_results, folder, symlinks=True)
    return folder


def test_the_untouched_folder_passes_and_a_valid_marker_is_accepted(copy: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    assert main(["check-disclosure", str(copy)]) == 0
    _marker(copy)  # exactly the keys kaigai writes (an extra key fails: test_check_disclosure_hostile.py)
    assert main(["check-disclosure", str(copy)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "passes disclosure control against the default rules" in out and "review by the output checker" in out


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_caught(case: str, copy: Path, capsys: pytest.CaptureFixture) -> None:
    mutate, status, message = TAMPERING[case]
    mutate(copy)
    code = main(["check-disclosure", str(copy)])
    err = capsys.readouterr().err
    assert code == status, err
    assert message in err, err
    assert "Traceback" not in err


def test_rules_come_from_the_secure_room_config(copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    strict = tmp_path / "room.toml"
    strict.write_text("[disclosure]\nmin_firms = 100000\n", encoding="utf-8")
    assert main(["check-disclosure", str(copy), "--config", str(strict)]) == 1
    assert "fewer than 100000 firms but shown" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[disclosure]\nmin_firms = true\n", encoding="utf-8")
    assert main(["check-disclosure", str(copy), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "min_firms" in err and "nothing was checked" in err


def test_not_a_folder_cannot_be_checked(copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "file.csv").write_text("a\n1\n")
    (tmp_path / "link").symlink_to(copy)
    for target in (tmp_path / "file.csv", tmp_path / "missing", tmp_path / "link"):
        assert main(["check-disclosure", str(target)]) == 2
        assert "is not a folder" in capsys.readouterr().err


def test_results_json_lists_every_file_with_status_rule_counts_and_sha256(tiny_results: Path) -> None:
    report = json.loads((tiny_results / "results.json").read_text(encoding="utf-8"))
    listed = {entry["file"]: entry for entry in report["files"]}
    on_disk = {p.name for p in tiny_results.iterdir()} - {"results.json", MANIFEST, OUTPUT_MARKER}
    assert set(listed) == on_disk
    for name, entry in listed.items():
        assert entry["status"] in {"pass", "review", "fail"} and entry["rule"]
        assert entry["sha256"] == sha256_of(tiny_results / name)
    effects = listed["effects.csv"]
    assert effects["status"] == "pass"
    assert effects["counts"]["rows"] == len(pd.read_csv(tiny_results / "effects.csv"))
    assert all(g.startswith("starters=") and ";controls=" in g for g in effects["counts"]["groups_per_row"])
    assert report["rules"]["p_percent"] == 10.0 and report["settings"]["radius_km"] == 5.0


def test_a_run_whose_dominance_rule_summed_fewer_firms_than_the_rooms_fails(copy: Path) -> None:
    """The tables' dominance_share is the share of the run's ``dominance_n`` largest firms: a run with
    dominance_n = 1 wrote 0.53 for a cell whose 2 largest firms held 0.93, and the room's check (2 largest ≤ 85 %)
    passed it. The checker now refuses a folder whose recorded rule sums fewer firms than the room's."""
    from kaigai_lib import DisclosureRules, check_results

    written_with = json.loads((copy / "results.json").read_text(encoding="utf-8"))["rules"]["dominance_n"]
    assert not check_results(copy, DisclosureRules(dominance_n=written_with)).problems
    stricter_room = check_results(copy, DisclosureRules(dominance_n=written_with + 1))
    expected = (f"results.json: the run's dominance rule summed the {written_with} largest firm(s) and the room's "
                f"sums the {written_with + 1} largest")
    assert any(expected in problem for problem in stricter_room.problems), stricter_room.problems
    # a run that summed more firms than the room's rule wrote shares at least as large: conservative, accepted
    assert not check_results(copy, DisclosureRules(dominance_n=written_with - 1)).problems


# ---- hostile review 10: what a forger could still smuggle out after resealing every hash and results.json line
# (the forger's tool recomputes results.json exactly as the checker does, so only the new checks can catch these)

def _reseal_with_results(folder: Path) -> None:
    """The forger's full reseal: manifest hashes and columns, every results.json line recomputed with the
    checker's own helpers, and the marker."""
    from kaigai_lib.data import disclosure

    manifest = _manifest(folder)
    report = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    rules = disclosure.DisclosureRules.from_mapping(report["rules"])
    lines = []
    for name, entry in manifest["files"].items():
        if name == "results.json" or not (folder / name).is_file():
            continue
        if entry["kind"] == "table":
            entry["columns"] = pd.read_csv(folder / name, nrows=0).columns.tolist()
            entry["counts"] = disclosure._count_columns(entry["columns"])
        entry["sha256"] = sha256_of(folder / name)
        lines.append(disclosure._result_of(folder, name, {**entry, "holds": disclosure.OTHER_FILES.get(name, "")},
                                           rules))
    report["files"] = json.loads(json.dumps(lines, ensure_ascii=False, default=str))
    (folder / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str),
                                         encoding="utf-8")
    manifest["files"]["results.json"]["sha256"] = sha256_of(folder / "results.json")
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    _marker(folder)


SECRET = "Toyota Motor: sales 31,234,567"
EFFECTS_SVG = "fig_II-2-4-1_effects.svg"


def _resealed(change: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        change(folder)
        _reseal_with_results(folder)
    return mutate


def _marker_rows(folder: Path) -> None:
    """Repro 13a: microdata rows as extra keys of the marker, nothing else touched (no hash to forge)."""
    marker = json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8"))
    marker.update({f"r{i}": f"F{100000 + i},2019,{9876543 + i}" for i in range(2000)})
    (folder / OUTPUT_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def _png_chunk(kind: bytes) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / "fig_II-2-4-1_effects.png"
        data, body = path.read_bytes(), SECRET.encode()
        chunk = len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        at = data.index(b"IDAT") - 4
        path.write_bytes(data[:at] + chunk + data[at:])
    return _resealed(change)


def _svg_edit(old: str, new: str, *, count: int = 1) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        text = (folder / EFFECTS_SVG).read_text(encoding="utf-8")
        assert old in text
        (folder / EFFECTS_SVG).write_text(text.replace(old, new, count), encoding="utf-8")
    return _resealed(change)


def _svg_add(element: str) -> Callable[[Path], None]:
    return _svg_edit("</svg>", element + "\n</svg>")


def _json_edit(name: str, change: Callable[[dict], None], *, reseal: bool) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        change(data)
        (folder / name).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        if reseal:
            _reseal_with_results(folder)
    return mutate


def _extra_figure(folder: Path) -> None:
    shutil.copy(folder / "fig_II-2-4-1_effects.png", folder / "extra_firms.png")
    manifest = _manifest(folder)
    manifest["files"]["extra_firms.png"] = {"kind": "figure", "sources": ["effects.csv"], "sha256": ""}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    _reseal_with_results(folder)


def _figure_from_other_sources(folder: Path) -> None:
    manifest = _manifest(folder)
    manifest["files"]["fig_II-2-4-1_effects.png"]["sources"] = ["production.csv"]
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    _reseal_with_results(folder)


def _append_text(name: str, text: str) -> Callable[[Path], None]:
    return _resealed(lambda folder: (folder / name).write_text(
        (folder / name).read_text(encoding="utf-8") + text, encoding="utf-8"))


def _report_hidden(folder: Path) -> None:
    path = folder / "report.html"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "</body>", f"<div style='display:none'>{SECRET}</div><!-- kigyo_bango 0001234 --></body>"), encoding="utf-8")


def _first_shown_count(name: str, column: str, value: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        table.loc[table.index[table["suppressed"] == "False"][0], column] = value
        table.to_csv(folder / name, index=False)
    return _resealed(change)


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    # 1. the marker holds exactly kaigai's keys
    "marker with 2,000 rows as extra keys (13a)": (
        _marker_rows, "key(s) 'r0', 'r1', 'r10', 'r100', 'r1000' and 1995 more are not ones kaigai writes"),
    "marker timestamp carrying digits": (lambda folder: _marker(folder, created="2026-11-30T03:00:00.31234567"),
                                         "'created' must be a timestamp to the second"),
    # 2. figures hold only what matplotlib writes, under kaigai's names and sources
    "PNG eXIf chunk": (_png_chunk(b"eXIf"), "PNG chunk(s) ['eXIf'] are not what matplotlib writes"),
    "PNG private chunk": (_png_chunk(b"prVt"), "PNG chunk(s) ['prVt']"),
    "PNG second tEXt chunk": (_png_chunk(b"tEXt"), "is not what matplotlib writes"),
    "SVG comment outside a text group": (_svg_add(f"<!-- {SECRET} -->"), "SVG comment 'Toyota Motor"),
    "SVG comment of a text group rewritten": (_svg_edit("<!-- sales -->", f"<!-- {SECRET} -->"),
                                              "is not the text drawn there"),
    "SVG comment with as many characters as glyphs": (_svg_edit("<!-- sales -->", "<!-- 31234 -->"),
                                                      "is drawn with another glyph elsewhere"),
    "SVG foreignObject": (_svg_add(f'<foreignObject width="1" height="1"><div xmlns="http://www.w3.org/1999/xhtml">'
                                   f'{SECRET}</div></foreignObject>'), "SVG element <foreignObject>"),
    "SVG data- attribute": (_svg_add(f'<g data-note="{SECRET}"></g>'), "attribute data-note="),
    "SVG id carrying text": (_svg_add('<g id="Toyota_sales_31234567"></g>'), "attribute id='Toyota_sales_31234567'"),
    "SVG style with content": (_svg_add(f"<style>/* {SECRET} */</style>"), "SVG <style> holds text"),
    "SVG script": (_svg_add(f"<script>var s = '{SECRET}';</script>"), "SVG element <script>"),
    "SVG link": (_svg_add(f'<a href="https://example.org/?{SECRET}"><path d="M0 0"/></a>'), "SVG element <a>"),
    "a figure the run never writes": (_extra_figure, "extra_firms.png: not a figure kaigai replicate writes"),
    "a figure declared from other tables": (_figure_from_other_sources, "drawn from effects.csv, but the manifest"),
    # 3. JSON side channels
    "results.json invented settings (resealed)": (
        _json_edit("results.json", lambda r: r["settings"].update({"toyota.sales": 31234567}), reseal=True),
        "setting(s) 'toyota.sales' are not ones kaigai replicate records"),
    "disclosure.json extra top-level key": (
        _json_edit(MANIFEST, lambda m: m.update(analyst_notes=[SECRET] * 1000), reseal=False),
        "disclosure.json: key(s) 'analyst_notes' are not ones kaigai writes"),
    "disclosure.json extra key in an entry": (
        _json_edit(MANIFEST, lambda m: m["files"]["effects.csv"].update(note=SECRET), reseal=False),
        "the entry of effects.csv has key(s) 'note'"),
    "disclosure.json rules with a comment": (
        _json_edit(MANIFEST, lambda m: m["rules_when_written"].update(comment=SECRET), reseal=False),
        "'rules_when_written' are not disclosure rules"),
    "disclosure.json free-text description": (
        _json_edit(MANIFEST, lambda m: m["files"]["run.log"].update(holds=SECRET), reseal=False),
        "the entry of run.log says it holds"),
    "disclosure.json declaring extra columns": (
        _json_edit(MANIFEST, lambda m: m["files"]["effects.csv"]["values"].append(SECRET), reseal=False),
        "the entry of effects.csv declares columns, values or counts other than the table's own"),
    # 4. free text: run.log lines and report.html
    "run.log with firm rows appended (resealed)": (_append_text("run.log", "F000123,2019,manufacturing,9876543\n"),
                                                   "is not a line kaigai writes ('F000123,2019"),
    "run.log line of kaigai's with a name in a slot": (
        _append_text("run.log", "2026-11-30 03:00:00,000 spillovers: 5 centres, overlap share 0.100; control Toyota "
                                "Motor, standard errors entity\n"), "is not a line kaigai writes"),
    "report.html hidden element and comment (resealed)": (_resealed(_report_hidden),
                                                          "report.html: differs from the page kaigai renders"),
    "report.html with an edited estimate (resealed)": (
        _resealed(lambda folder: (folder / "report.html").write_text((folder / "report.html").read_text(
            encoding="utf-8").replace("<td>", "<td>9876543", 1), encoding="utf-8")), "report.html: differs"),
    "disclosure.json entry whose kind is a list": (
        _json_edit(MANIFEST, lambda m: m["files"]["run.log"].update(kind=["other"]), reseal=False),
        "run.log: unknown kind ['other'] in the manifest"),
    # 6. count columns against the rules and the groups
    "n_treated = 1 on a shown row (groups unchanged)": (_first_shown_count("effects.csv", "n_treated", "1"),
                                                       "'n_treated' below the minimum count of 3"),
    "n_control below its group of controls": (_first_shown_count("effects.csv", "n_control", "4"),
                                              "'n_control' below the number of controls in 'groups'"),
    "n_obs = 2 on a shown coefficient": (_first_shown_count("production.csv", "n_obs", "2"),
                                         "'n_obs' not above the residual degrees of freedom"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_smuggled_content_is_refused_naming_it(case: str, copy: Path, capsys: pytest.CaptureFixture) -> None:
    _refused(copy, *HOSTILE[case], capsys)


def test_the_full_reseal_alone_passes_and_figures_are_listed_for_a_human(copy: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """The hostile cases fail for what they add: the forger's full reseal of the untouched folder passes, and
    every figure is listed for a human to look at (a program cannot read a table drawn in pixels)."""
    _reseal_with_results(copy)
    assert main(["check-disclosure", str(copy)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    figures = sorted(p.name for p in copy.iterdir() if p.suffix in (".png", ".svg"))
    assert len(figures) == 6
    for figure in figures:
        assert f"review by the output checker: {figure}: a figure: a human must look at it" in out, out
    report = json.loads((copy / "results.json").read_text(encoding="utf-8"))
    assert {line["status"] for line in report["files"] if line["kind"] == "figure"} == {"review"}


def test_every_run_log_line_of_a_real_run_is_a_template_and_the_report_renders_again(tiny_results: Path) -> None:
    from kaigai_lib.data.disclosure import OUTPUT_FIGURES, check_results
    from kaigai_lib.data.free_text import RUN_LOG, read_log

    problems, notes, timings = read_log((tiny_results / "run.log").read_text(encoding="utf-8"))
    assert problems == [] and notes == []
    assert len(timings) == 5  # one line per stage
    assert check_results(tiny_results).problems == []
    figures = {p.name for p in tiny_results.iterdir() if p.suffix in (".png", ".svg")}
    assert figures == {f"{stem}{suffix}" for stem in OUTPUT_FIGURES for suffix in (".png", ".svg")}
    assert "note" in RUN_LOG


def test_log_line_refuses_a_value_outside_its_slot() -> None:
    import logging

    from kaigai_lib.data.free_text import log_line

    log = logging.getLogger("kaigai.test.log_line")
    with pytest.raises(ValueError, match="is not a key"):
        log_line(log, "spillovers", 5, 0.1, "Toyota Motor", "entity")


def test_settings_and_figures_known_to_the_checker_are_replicates_own(tmp_path: Path) -> None:
    """One list each: results.json may record only replicate's settings (write_manifest refuses others)."""
    from kaigai_lib.data.disclosure import RESULT_SETTINGS, DisclosureRules, write_manifest
    from kaigai_lib.replication.replicate import ANALYSIS_DEFAULTS, TFP_DEFAULTS

    assert {*ANALYSIS_DEFAULTS, *(f"tfp.{key}" for key in TFP_DEFAULTS)} == RESULT_SETTINGS
    with pytest.raises(ValueError, match=r"not in disclosure\.RESULT_SETTINGS"):
        write_manifest(tmp_path, DisclosureRules(), {}, settings={"toyota.sales": 31234567})
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize(("name", "special"), [("effects.csv", "fifo"), ("effects.csv", "dev_zero"),
                                               ("results.json", "fifo")])
def test_a_fifo_or_device_in_place_of_a_file_is_reported_never_opened(name: str, special: str, copy: Path) -> None:
    """Repro 11: the check ends at once, naming the entry, instead of hanging on a FIFO or reading /dev/zero."""
    import subprocess
    import sys

    (copy / name).unlink()
    if special == "fifo":
        os.mkfifo(copy / name)
    else:
        (copy / name).symlink_to("/dev/zero")
    done = subprocess.run([sys.executable, "-m", "kaigai_lib", "check-disclosure", str(copy)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert f"{name}: listed in the manifest, but a link, FIFO, device or folder, not a plain file; it was not " \
           "opened" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_read_only_command_stopped_by_sigterm_does_not_talk_about_staging_folders(
        copy: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from kaigai_lib.data import disclosure
    from kaigai_lib.data.outputs import Interrupted

    def stopped(*args: object, **kwargs: object) -> None:
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(disclosure, "check_results", stopped)
    assert main(["check-disclosure", str(copy)]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "stopped by SIGTERM; this command only reads" in err and "staging" not in err
