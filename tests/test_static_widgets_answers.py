"""The page's answer box reads a typed answer by the rules of ``parse_number`` (the tester's "0,12" → 12 and
"1,2%" → 12 were judged correct for a truth of 12 %, "0.15%" for 0.15 log points). widget.js runs under node.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import pytest

from kaigai_lib.exercises.spec import parse_number
from kaigai_lib.teaching.static_widgets import _asset

NODE = shutil.which("node")
UNITS = ["", "%", "log points", "firms"]
ANSWERS = ["0.12", "+0.12", "-0.5", ".5", "1e-3", "12", "12%", "12 %", "0.15%", "0,12", "1,2", "1,2%", "12,5 %",
           "0,123", "1,234", "1,234%", "12,345", "12,345,678", "1,234.5", "1,23,456", "1,,2", ",5", "1,234,56",
           "12,34", "1_5", "abc", "", "%", "1e400", "nan", "0x10", "5,000 %"]

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


@pytest.fixture(scope="module")
def read_in_js(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict]]:
    folder = tmp_path_factory.mktemp("widget")
    (folder / "widget.mjs").write_text(_asset("widget.js"), encoding="utf-8")
    (folder / "run.mjs").write_text(
        'import { readAnswer, judge } from "./widget.mjs";\n'
        f"const units = {json.dumps(UNITS)}, answers = {json.dumps(ANSWERS)};\n"
        "const out = {};\n"
        "for (const unit of units) { out[unit] = {};\n"
        "  for (const a of answers) { const r = readAnswer(a, unit);\n"
        "    out[unit][a] = { value: Number.isNaN(r.value) ? null : r.value, why: r.why || '' }; } }\n"
        "const key = { truth: 12, tolerance: 0.5, slips: [] };\n"
        "out.judged = Object.fromEntries(['0,12', '1,2%', '12 %'].map((a) => [a, judge(readAnswer(a, '%').value, "
        "key, '%').verdict]));\n"
        "console.log(JSON.stringify(out));\n", encoding="utf-8")
    done = subprocess.run([NODE, str(folder / "run.mjs")], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("unit", UNITS)
def test_the_page_reads_every_answer_as_parse_number_does(read_in_js, unit) -> None:
    for answer in ANSWERS:
        expected, _ = parse_number(answer, unit)
        got = read_in_js[unit][answer]["value"]
        assert (got is None) == (expected is None), (answer, unit, got, expected)
        if expected is not None:
            assert math.isclose(got, expected), (answer, unit)


def test_commas_and_percent_signs_are_refused_with_a_reason_not_dropped(read_in_js) -> None:
    assert read_in_js["judged"] == {"0,12": "not a number", "1,2%": "not a number", "12 %": "correct"}
    assert read_in_js["log points"]["0.15%"] == {"value": None, "why": "percent"}
    assert read_in_js["%"]["12 %"]["value"] == 12 and read_in_js["%"]["1,2%"]["why"] == "decimal comma"
    assert read_in_js["%"]["1,234"]["why"] == "two readings" and read_in_js["firms"]["1,234"]["value"] == 1234
    assert read_in_js[""]["1,23,456"]["why"] == "comma"
    assert read_in_js["firms"]["12,345,678"]["value"] == 12345678


@pytest.mark.parametrize(("answer", "unit", "says"), [
    ("0,12", "%", "uses a decimal comma"), ("0.15%", "log points", "is in %, but the answer is in log points"),
    ("1,234", "log points", "reads as 1234 (a thousands separator) or as 1.234 (a decimal comma)"),
    ("1,23,456", "firms", "neither a decimal point nor a thousands separator")])
def test_parse_number_says_why(answer, unit, says) -> None:
    value, why = parse_number(answer, unit)
    assert value is None and says in why


@pytest.mark.parametrize(("answer", "unit", "value"), [("1,234", "firms", 1234.0), ("12,345,678", "firms", 12345678.0),
                                                      ("12 %", "%", 12.0), ("-3.5%", "%", -3.5)])
def test_parse_number_reads_thousands_in_counts_and_percent_in_percent(answer, unit, value) -> None:
    assert parse_number(answer, unit) == (value, "")


def test_the_refusals_are_translated() -> None:
    from kaigai_lib.teaching.static_widgets import ui_messages, widget_catalog

    catalog = widget_catalog("ja")
    for text in ("Use a decimal point, not a decimal comma: e.g. 0.15.",
                 "The answer is in {unit}, not in %: leave out the % sign."):
        assert text in ui_messages() and catalog.get(text)
