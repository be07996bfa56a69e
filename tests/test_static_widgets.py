"""Widgets that work with no kernel (kaigai_lib.teaching.static_widgets): answer keys and their judge, the course
edition's redaction, and a page made by `kaigai exercises page` driven in Chromium (public and course)."""

from __future__ import annotations

import functools
import http.server
import json
import math
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_site import PageLog, _QuietHandler, browser_test
from widget_driver import drive_widgets

from kaigai_lib.exercises.spec import NumericExercise, exercise_widget, load_exercise
from kaigai_lib.replication.cli import main
from kaigai_lib.teaching.static_widgets import (
    AnswerCheck,
    answer_key,
    concept_check,
    judge,
    redact_state,
)


def test_answer_key_recognises_unit_slips_the_naive_estimate_and_the_sign() -> None:
    key = answer_key(0.10, 0.02, "log points", naive=0.25)
    assert judge(0.11, key, "log points").verdict == "correct"
    assert judge(0.10 + 0.02, key, "log points").correct  # the edge counts
    assert judge(10.0, key, "log points").verdict == "unit slip"  # 100·τ
    assert judge(10.5, key, "log points").verdict == "unit slip"  # 100·(e^τ − 1)
    assert judge(0.25, key, "log points").verdict == "naive estimate"
    assert judge(-0.10, key, "log points").verdict == "sign error"
    assert judge(0.5, key, "log points").verdict == "too high"
    assert judge(0.05, key, "log points").verdict == "too low"
    assert judge(float("nan"), key, "log points").verdict == "not a number"
    # a wrong answer never gives the truth away
    assert "0.1" not in judge(0.5, key, "log points").message


def test_percent_exercise_recognises_an_answer_in_log_points() -> None:
    truth = 100 * math.expm1(0.2)
    key = answer_key(truth, 1.0, "%")
    assert judge(0.2, key, "%").verdict == "unit slip"
    assert judge(truth + 0.5, key, "%").verdict == "correct"


def test_a_slip_inside_the_tolerance_is_not_listed() -> None:
    # truth 0: the sign error is the truth itself, and must not be reported as a slip
    key = answer_key(0.0, 0.01, "log points")
    assert all(s["verdict"] != "sign error" for s in key["slips"])
    assert judge(0.0, key, "log points").correct


def test_numeric_exercise_widget_carries_its_key_and_hints() -> None:
    box = NumericExercise("How much?", 0.1, 0.02, "log points", ["first", "second"]).widget()
    assert isinstance(box, AnswerCheck)
    assert box.setup["check"]["hints"] == ["first", "second"]
    assert box.answer_keys[""]["truth"] == 0.1
    assert box.check(10.0).verdict == "unit slip"


def test_course_edition_widget_computes_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIGAI_HIDE_SOLUTIONS", "1")
    box = NumericExercise("How much?", 0.123456, 0.02, "log points").widget()
    assert box.answer_keys == {} and box.setup["edition"] == "course"
    assert "0.123456" not in json.dumps(box.state())
    concept = concept_check("Which?", ["a", "b"], 1)
    assert concept.answer_keys[""]["choice"] == 1  # self-assessment stays


def test_redact_state_removes_every_answer_key() -> None:
    box = NumericExercise("How much?", 0.123456, 0.02, "log points").widget()
    saved = {"version_major": 2, "state": {"m1": {"model_module": "anywidget", "state": box.state()},
                                           "m2": {"model_module": "@jupyter-widgets/base", "state": {"x": 1}}}}
    redacted = redact_state(saved)
    assert "0.123456" not in json.dumps(redacted)
    assert redacted["state"]["m2"] == saved["state"]["m2"]
    assert redacted["state"]["m1"]["state"]["setup"]["edition"] == "course"


def test_exercise_widget_precomputes_every_setting(tmp_path: Path) -> None:
    spec = load_exercise("selection-bias-export-tfp")
    box = exercise_widget(spec)
    grid = spec.trainee_may_change["selection_strength"].grid()
    assert len(box.views) == len(box.answer_keys) == len(grid)
    for label, key in box.answer_keys.items():
        world = spec.generate(changes={"selection_strength": float(label)})
        assert key["truth"] == pytest.approx(spec.truth(world), abs=1e-12)
        assert key["tolerance"] == spec.tolerance
    # off the grid, in a kernel: computed on demand, sent alone
    box.set(selection_strength=0.3)
    assert box.live["key"] == "0.3" and "answer_key" in box.live


# --------------------------------------------------------------------------------------------------
# `kaigai exercises page`: one self-contained HTML file


def test_exercises_page_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path, capsys) -> None:
    other = tmp_path / "notes.html"
    other.write_text("<p>my notes</p>", encoding="utf-8")
    assert main(["exercises", "page", "selection-bias-export-tfp", "--out", str(other)]) == 2
    assert "was not written by" in capsys.readouterr().err
    assert other.read_text(encoding="utf-8") == "<p>my notes</p>"
    mine = tmp_path / "page.html"
    assert main(["exercises", "page", "selection-bias-export-tfp", "--out", str(mine), "--course"]) == 0
    assert mine.stat().st_mode & 0o044, "a page meant for sharing must not be private to its writer"
    assert main(["exercises", "page", "no-such-exercise", "--out", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()


@pytest.fixture(scope="module")
def exercise_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    pages = {}
    for edition in ("public", "course"):
        out = folder / f"{edition}.html"
        args = ["exercises", "page", "selection-bias-export-tfp", "--out", str(out)]
        assert main(args + (["--course"] if edition == "course" else [])) == 0
        assert main(args + (["--course"] if edition == "course" else [])) == 2  # exists: --force needed
        assert main(args + ["--force"] + (["--course"] if edition == "course" else [])) == 0  # its own: replaced
        pages[edition] = out
    return pages


def test_course_page_carries_no_truth(exercise_pages: dict[str, Path]) -> None:
    spec = load_exercise("selection-bias-export-tfp")
    course = exercise_pages["course"].read_text(encoding="utf-8")
    public = exercise_pages["public"].read_text(encoding="utf-8")
    for value in spec.trainee_may_change["selection_strength"].grid():
        truth = spec.truth(spec.generate(changes={"selection_strength": value}))
        digits = f"{truth:.6f}"[:-1]  # any rendering with 5 decimals or more
        assert digits in public
        assert digits not in course
    assert '"answer_keys": {}' in course
    assert not re.search(r"https?://", course.replace("http://www.w3.org", ""))


@pytest.fixture(scope="module")
def page_server(exercise_pages: dict[str, Path]) -> Iterator[str]:
    folder = exercise_pages["public"].parent
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@browser_test
@pytest.mark.browser
@pytest.mark.parametrize("edition", ["public", "course"])
def test_exercises_page_works_offline_in_a_browser(chromium, page_server: str, edition: str) -> None:
    from urllib.parse import urlsplit

    context = chromium.new_context()
    local = urlsplit(page_server).netloc
    context.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).netloc == local else r.abort())
    try:
        page = context.new_page()
        log = PageLog(page, local)
        page.goto(page_server + f"{edition}.html", wait_until="load")
        counts = drive_widgets(page, course=edition == "course")
        page.wait_for_timeout(200)
    finally:
        context.close()
    assert counts["widgets"] == 1 and counts["settings"] >= 3 and counts["checks"] == 1, counts
    assert not log.foreign, log.foreign
    assert not log.errors, log.errors
