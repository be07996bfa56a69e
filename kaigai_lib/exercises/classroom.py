"""Courses: assignments that bundle exercises, per-trainee hand-outs, a key kept apart, and a gradebook.

The cycle (``kaigai course …`` on the command line, see ``book/instructors.md``):

* :func:`load_assignment` reads an assignment file (YAML): questions (exercise files with points and
  partial-credit bands), a deadline, a late policy, which attempt counts, how to submit, the language.
* :func:`make_course` gives every trainee of a roster a folder and a zip — README in the course language,
  the data of each question, a starter notebook — and writes the answer key into a separate folder
  (refused inside the hand-outs). Trainees' worlds are made in parallel (processes, or Dask with
  ``scheduler=``). Each course has a secret salt in its key: seeds cannot be derived from a hand-out and
  the shipped exercise files, so no truth is reachable from what trainees get.
* :func:`add_trainees` makes hand-outs for late trainees with the same salt; nobody else's data changes.
* :func:`grade_course` grades timestamped answers (last or best attempt, deadline, late policy) into a
  gradebook (one row per trainee, for Moodle/Canvas), per-answer detail with a diagnosis (unit slip, naive
  estimate, sign, out of tolerance by how much), a feedback file per trainee, class statistics with a
  figure, and a copy check (answers closer to a classmate's truth than to one's own).

Every folder is written through :class:`kaigai_lib.data.outputs.OutputFolder`: all or nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import math
import os
import secrets
import shutil
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kaigai_lib.data.outputs import (
    OutputError,
    OutputFolder,
    commit_together,
    parked_result_note,
    recover_output,
)
from kaigai_lib.exercises.parallel import run_all
from kaigai_lib.exercises.spec import (
    EFFECT_KINDS,
    ExerciseError,
    ExerciseSpec,
    Trainee,
    _hash_int,
    _StrictLoader,
    file_name_problem,
    given_for_handout,
    load_exercise,
    naive_for,
    numeric_columns,
    parse_number,
    read_csv_rows,
    read_roster_table,
    read_text,
    read_text_table,
    roster_error,
    spreadsheet_safe,
    trainee_changes,
    trainee_files,
    trainee_id_problems,
)

LANGUAGES = ("en", "ja")
ATTEMPTS = ("last", "best", "first")
_TOP_KEYS = ("id", "title", "language", "deadline", "late_policy", "attempts", "submit", "questions")
_QUESTION_KEYS = ("id", "exercise", "points", "partial_credit")
_LATE_KEYS = ("penalty_per_day", "accept_days")
KEY_FILE = "key.csv"
COURSE_FILE = "course.json"
HANDOUT_FILES = ("README.md", "answers.csv", "starter.ipynb")  # beside the question folders in a hand-out
ROSTER_FILE = "roster.csv"


@dataclass(frozen=True)
class Band:
    """Partial credit: an answer within ``within`` × the tolerance earns ``share`` of the points."""

    within: float
    share: float


@dataclass(frozen=True)
class Question:
    id: str
    exercise: ExerciseSpec
    points: float
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """An assignment file, validated (see :func:`load_assignment`)."""

    id: str
    title: str
    questions: tuple[Question, ...]
    deadline: dt.datetime
    language: str = "en"
    attempts: str = "last"
    penalty_per_day: float = 0.0
    accept_days: float = math.inf
    submit: str = ""
    source: str = "<assignment>"
    text: str = field(default="", repr=False)

    @property
    def total_points(self) -> float:
        return sum(q.points for q in self.questions)

    def late_share(self, submitted: dt.datetime | None) -> tuple[bool, float, float]:
        """``(late, days late, share of points kept)`` for an answer submitted at ``submitted``."""
        if submitted is None or submitted <= self.deadline:
            return False, 0.0, 1.0
        days = (submitted - self.deadline).total_seconds() / 86400
        if days > self.accept_days:
            return True, days, 0.0
        return True, days, max(0.0, 1.0 - self.penalty_per_day * math.ceil(days))


class AssignmentError(ValueError):
    """A malformed assignment file; the message names the file and every bad field."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = "\n".join(f"  - {where}: {what}" for where, what in problems)
        super().__init__(f"Assignment file {source} has {len(problems)} problem(s):\n{lines}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_datetime(text: Any, where: str) -> dt.datetime:
    """An ISO 8601 date-time with a time zone (``2026-12-01T17:00+09:00``); a naive one is refused."""
    if isinstance(text, dt.datetime):
        value = text
    elif isinstance(text, str):
        raw = text.strip()
        if parse_number(raw)[0] is not None:
            raise ValueError(f"{where}: {raw!r} looks like a spreadsheet serial number; write the date as "
                             "2026-12-01T17:00+09:00 (format the cell as text in Excel)")
        try:
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}: {raw!r} is not a date-time; write it as 2026-12-01T17:00+09:00") from None
    else:
        raise ValueError(f"{where}: {text!r} is not a date-time; write it as 2026-12-01T17:00+09:00")
    if value.tzinfo is None:
        raise ValueError(f"{where}: {text!s} has no time zone; add one, e.g. {value.isoformat()}+09:00")
    return value


def load_assignment(path: str | Path) -> Assignment:
    """Read and validate an assignment file; exercises are paths relative to it, or shipped names."""
    import yaml

    path = Path(path)
    text = read_text(path, "Assignment file")
    source = str(path)
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        raise AssignmentError(source, [("(file)", f"not valid YAML: {error}")]) from None
    return parse_assignment(data, source=source, base=path.parent, text=text)


def parse_assignment(data: Any, source: str = "<assignment>", base: Path | None = None,
                     text: str = "") -> Assignment:
    problems: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise AssignmentError(source, [("(top level)", f"must be a mapping ({', '.join(_TOP_KEYS)})")])
    # one function per section, in the file's order, each adding to the same list of problems
    header = _assignment_header(data, problems)
    penalty, accept = _late_policy(data, problems)
    submit = data.get("submit", "")
    if not isinstance(submit, str):
        problems.append(("submit", "must be a text: how and where trainees submit"))
        submit = ""
    questions = _assignment_questions(data, base, problems)
    if problems:
        raise AssignmentError(source, problems)
    return Assignment(id=header["id"], title=str(header["title"]), questions=tuple(questions),
                      deadline=header["deadline"], language=header["language"], attempts=header["attempts"],
                      penalty_per_day=float(penalty), accept_days=float(accept), submit=submit.strip(),
                      source=source, text=text)


def _assignment_header(data: Mapping[str, Any], problems: list[tuple[str, str]]) -> dict[str, Any]:
    """Unknown fields, then id, title, language, attempts and the deadline."""
    for key in data:
        if key not in _TOP_KEYS:
            problems.append((str(key), f"unknown field; fields are {', '.join(_TOP_KEYS)}"))
    assignment_id = data.get("id")
    if not isinstance(assignment_id, str) or not assignment_id.strip():
        problems.append(("id", f"missing or not a text: {assignment_id!r}"))
        assignment_id = "assignment"
    title = data.get("title", assignment_id)
    language = data.get("language", "en")
    if language not in LANGUAGES:
        problems.append(("language", f"{language!r}: choose one of {list(LANGUAGES)}"))
        language = "en"
    attempts = data.get("attempts", "last")
    if attempts not in ATTEMPTS:
        problems.append(("attempts", f"{attempts!r}: choose one of {list(ATTEMPTS)} (which attempt counts)"))
        attempts = "last"
    deadline = dt.datetime.max.replace(tzinfo=dt.UTC)
    if "deadline" not in data:
        problems.append(("deadline", "missing (required), e.g. deadline: 2026-12-01T17:00+09:00"))
    else:
        try:
            deadline = parse_datetime(data["deadline"], "deadline")
        except ValueError as error:
            problems.append(("deadline", str(error).split(": ", 1)[1]))
    return {"id": assignment_id, "title": title, "language": language, "attempts": attempts, "deadline": deadline}


def _late_policy(data: Mapping[str, Any], problems: list[tuple[str, str]]) -> tuple[Any, Any]:
    """late_policy: the share of points lost per day started, and the days after which nothing is accepted."""
    late = data.get("late_policy", {}) or {}
    penalty, accept = 0.0, math.inf
    if not isinstance(late, Mapping):
        problems.append(("late_policy", "must be a mapping {penalty_per_day: 0.1, accept_days: 3}"))
        return penalty, accept
    for key in late:
        if key not in _LATE_KEYS:
            problems.append((f"late_policy.{key}", f"unknown field; fields are {', '.join(_LATE_KEYS)}"))
    penalty = late.get("penalty_per_day", 0.0)
    if not _number(penalty) or not 0 <= penalty <= 1:
        problems.append(("late_policy.penalty_per_day", f"must be a share 0–1 of the points lost per day "
                                                        f"started, got {penalty!r}"))
        penalty = 0.0
    accept = late.get("accept_days", math.inf)
    if (not _number(accept) and accept != math.inf) or (_number(accept) and accept < 0):
        problems.append(("late_policy.accept_days", f"must be a number of days ≥ 0, got {accept!r}"))
        accept = math.inf
    return penalty, accept


def _assignment_questions(data: Mapping[str, Any], base: Path | None,
                          problems: list[tuple[str, str]]) -> list[Question]:
    questions: list[Question] = []
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append(("questions", "missing or empty: a list of {exercise: FILE, points: N}"))
        raw_questions = []
    for i, q in enumerate(raw_questions, start=1):
        question = _assignment_question(i, q, base, {x.id for x in questions}, problems)
        if question is not None:
            questions.append(question)
    return questions


def _question_exercise(where: str, exercise: Any, base: Path | None,
                       problems: list[tuple[str, str]]) -> ExerciseSpec | None:
    """The question's exercise: a file relative to the assignment, or a shipped name."""
    if not isinstance(exercise, str):
        problems.append((f"{where}.exercise", "missing: an exercise file (relative to this file) or a "
                                              "shipped name"))
        return None
    candidate = (base / exercise) if base is not None and (base / exercise).exists() else exercise
    try:
        return load_exercise(candidate)
    except (ExerciseError, FileNotFoundError, ValueError) as error:
        problems.append((f"{where}.exercise", str(error)))
        return None


def _assignment_question(i: int, q: Any, base: Path | None, earlier_ids: set[str],
                         problems: list[tuple[str, str]]) -> Question | None:
    where = f"questions[{i}]"
    if not isinstance(q, Mapping):
        problems.append((where, "must be a mapping {exercise: FILE, points: N}"))
        return None
    for key in q:
        if key not in _QUESTION_KEYS:
            problems.append((f"{where}.{key}", f"unknown field; fields are {', '.join(_QUESTION_KEYS)}"))
    spec = _question_exercise(where, q.get("exercise"), base, problems)
    points = q.get("points", 1)
    if not _number(points) or points <= 0:
        problems.append((f"{where}.points", f"must be a number > 0, got {points!r}"))
        points = 1
    bands = []
    for j, band in enumerate(q.get("partial_credit", []) or [], start=1):
        ok = (isinstance(band, Mapping) and set(band) == {"within", "share"} and _number(band["within"])
              and band["within"] > 1 and _number(band["share"]) and 0 < band["share"] < 1)
        if not ok:
            problems.append((f"{where}.partial_credit[{j}]", "must be {within: k (> 1, multiples of the "
                                                             f"tolerance), share: s (0–1)}}, got {band!r}"))
            continue
        bands.append(Band(float(band["within"]), float(band["share"])))
    question_id = q.get("id", spec.id if spec else f"q{i}")
    # it names a folder in every hand-out, a line of answers.csv and a string in starter.ipynb: the rules of a
    # trainee id, and not the name of a file beside it (README.md, answers.csv, starter.ipynb)
    problem = (file_name_problem(question_id, "id", "a folder in every hand-out", "the question", HANDOUT_FILES)
               if isinstance(question_id, str) and question_id else f"must be a text, got {question_id!r}")
    if problem is not None:
        problems.append((f"{where}.id", problem.removeprefix("id ")))
    elif question_id.casefold() in {x.casefold() for x in earlier_ids}:
        problems.append((f"{where}.id", f"{question_id!r} repeats an earlier question (ignoring case: Windows "
                                        "and macOS take them for one folder); give each an id"))
    if spec is None:
        return None
    return Question(str(question_id), spec, float(points), tuple(sorted(bands, key=lambda b: b.within)))


# --------------------------------------------------------------------------
# One trainee's hand-out (runs in a worker process or on a Dask worker)
# --------------------------------------------------------------------------

def course_seed(salt: str, question: Question, trainee_id: str) -> int:
    """A trainee's seed for one question: a hash with the course's secret salt (in the key only)."""
    return _hash_int("kaigai-course", salt, question.exercise.id, question.exercise.seed, trainee_id)


@dataclass
class TraineeResult:
    trainee_id: str
    files: dict[str, bytes]
    rows: list[dict[str, Any]]
    seconds: float


def build_trainee(assignment: Assignment, trainee: Trainee, salt: str) -> TraineeResult:
    """Everything one trainee gets (as bytes) and their key rows; pure, so it runs anywhere."""
    started = time.perf_counter()
    files: dict[str, bytes] = {}
    rows = []
    givens = {}
    for question in assignment.questions:
        spec = question.exercise
        seed = course_seed(salt, question, trainee.id)
        changes = trainee_changes(spec, f"{salt}:{trainee.id}")
        try:
            world = spec.generate(seed, changes)
            truth = spec.truth(world)
        except (ValueError, KeyError) as error:  # name the trainee and question: this may run on a worker
            raise ValueError(f"{spec.source}: the world of trainee {trainee.id!r} for question {question.id!r} "
                             f"(preset {spec.preset}, params {spec.world_params(changes)}) could not be generated "
                             f"or has no answer: {error}. Widen the world (e.g. more firms) or change the "
                             "question.") from None
        for name, data in trainee_files(spec, world).items():
            files[f"{question.id}/{name}"] = data
        givens[question.id] = given_for_handout(spec, world)
        rows.append({"trainee_id": trainee.id, "question": question.id, "exercise_id": spec.id, "seed": seed,
                     "preset": spec.preset,
                     "params": json.dumps(spec.world_params(changes), sort_keys=True, ensure_ascii=False),
                     "truth": truth, "tolerance": spec.tolerance, "unit": spec.unit,
                     "naive": naive_for(spec, world), "points": question.points})
    files["README.md"] = trainee_readme(assignment, trainee, givens, {q.id: sorted(
        n.split("/", 1)[1] for n in files if n.startswith(f"{q.id}/")) for q in assignment.questions}).encode()
    files["starter.ipynb"] = starter_notebook(assignment, files).encode()
    files["answers.csv"] = answers_template(assignment, trainee.id).encode()
    return TraineeResult(trainee.id, files, rows, time.perf_counter() - started)


_TEXT = {
    "en": {"for": "Hand-out for", "questions": "Questions", "points": "points", "unit": "answer in",
           "tolerance": "counts as correct within ±", "same": "This answer is the same for every trainee.",
           "differs": "Your data are yours alone: other trainees' data and answers differ.",
           "data": "Your data", "setup": "Set-up (two commands)", "submit": "How and by when to submit",
           "deadline": "Deadline", "late": "Late answers lose {p:.0%} of the points per day started",
           "late_until": ", and are not accepted after {d:g} day(s)", "template": (
               "Fill in `answers.csv` (one row per question; a plain number with a decimal point, no unit) "
               "and submit it."),
           "dictionary": "Columns of firms", "given": "Given",
           "synthetic": "Synthetic data: no row describes a real firm. Money is in million yen."},
    "ja": {"for": "配布資料：", "questions": "設問", "points": "点", "unit": "単位", "tolerance": "正解の許容幅 ±",
           "same": "この設問の答えは全員同じです。",
           "differs": "データは一人ひとり異なり、答えも人によって異なります。",
           "data": "データ", "setup": "準備（2つのコマンド）", "submit": "提出方法と期限", "deadline": "締切",
           "late": "遅れた解答は開始日ごとに配点の {p:.0%} を減点", "late_until": "、{d:g} 日を過ぎると受け付けません",
           "template": "`answers.csv` に設問ごとに1行、数値（小数点、単位なし）を記入して提出してください。",
           "dictionary": "firms の列", "given": "与えられる値",
           "synthetic": "合成データです（実在の企業ではありません）。金額の単位は百万円。"},
}


def trainee_readme(assignment: Assignment, trainee: Trainee, givens: Mapping[str, str],
                   files: Mapping[str, list[str]]) -> str:
    from kaigai_lib.data import schema

    t = _TEXT[assignment.language]
    who = trainee.name or trainee.id
    lines = [f"# {assignment.title}", "", f"{t['for']} **{who}** (`{trainee.id}`)", "", t["synthetic"], "",
             f"## {t['questions']}", ""]
    for i, q in enumerate(assignment.questions, start=1):
        spec = q.exercise
        lines += [f"### {i}. `{q.id}` — {spec.title} ({q.points:g} {t['points']})", "", spec.question, "",
                  f"- {t['unit']}: {spec.unit or '—'}; {t['tolerance']}{spec.tolerance:g}",
                  f"- {t['same'] if q.exercise.same_for_everyone else t['differs']}",
                  f"- {t['data']}: " + ", ".join(f"`{q.id}/{name}`" for name in files[q.id])]
        if givens.get(q.id):
            lines += [f"- {t['given']}: {givens[q.id]}"]
        lines.append("")
    lines += [f"### {t['dictionary']}", "", "| column | unit | meaning |", "| --- | --- | --- |"]
    for _, row in schema.SCHEMAS["firms"].to_frame().iterrows():
        lines.append(f"| {row['column']} | {row['unit']} | {row['description']} |")
    lines += ["", f"## {t['setup']}", "", "```", "python -m pip install pandas jupyterlab",
              "jupyter lab starter.ipynb", "```", "", f"## {t['submit']}", "",
              f"- {t['deadline']}: {assignment.deadline.isoformat()}"]
    if assignment.penalty_per_day:
        late = t["late"].format(p=assignment.penalty_per_day)
        if math.isfinite(assignment.accept_days):
            late += t["late_until"].format(d=assignment.accept_days)
        lines.append(f"- {late}.")
    lines.append(f"- {t['template']}")
    if assignment.submit:
        lines.append(f"- {assignment.submit}")
    return "\n".join(lines) + "\n"


def answers_template(assignment: Assignment, trainee_id: str) -> str:
    return "trainee_id,question,answer\n" + "".join(f"{trainee_id},{q.id},\n" for q in assignment.questions)


def starter_notebook(assignment: Assignment, files: Mapping[str, bytes]) -> str:
    import nbformat

    cells = [nbformat.v4.new_markdown_cell(f"# {assignment.title}\n\nSee README.md for the questions.")]
    for q in assignment.questions:
        loads = [f'{name.split("/")[1].split(".")[0]} = pd.read_csv("{name}")'
                 for name in sorted(files) if name.startswith(f"{q.id}/")]
        cells.append(nbformat.v4.new_markdown_cell(f"## {q.id}\n\n{q.exercise.question}"))
        cells.append(nbformat.v4.new_code_cell("import pandas as pd\n\n" + "\n".join(loads) + "\nfirms.head()"
                                               if any("firms" in line for line in loads) else
                                               "import pandas as pd\n\n" + "\n".join(loads)))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    return nbformat.writes(notebook)


# --------------------------------------------------------------------------
# Running many trainees: serial, processes or Dask
# --------------------------------------------------------------------------

def _zip_bytes(files: Mapping[str, bytes], folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if not name.endswith(".gz") else zipfile.ZIP_STORED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _overlap(a: Path, b: Path) -> bool:
    """One folder is the other or inside it (after resolving '..' and links)."""
    a, b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    return a == b or a in b.parents or b in a.parents


def _check_apart(handouts: Path, key: Path) -> None:
    """The key may not be inside the hand-outs (a zip of the class would leak it), nor the other way round."""
    if _overlap(handouts, key):
        raise OutputError(f"--key {key} is inside --out {handouts} (or contains it): keep the key in a folder "
                          "trainees never get, e.g. --key key_week3 beside --out handouts_week3.")


def _check_grades_apart(out: Path, key_dir: Path, meta: Mapping[str, Any]) -> None:
    """The grades hold every truth (detail.csv): never inside a hand-outs folder of this course."""
    for handouts in meta.get("handouts", []):
        if _overlap(out, Path(handouts)):
            raise OutputError(f"--out {out} is inside the hand-outs {handouts} (or contains them; "
                              f"{key_dir / COURSE_FILE} lists them): the grades hold every trainee's truth. Write "
                              "them beside the key, e.g. --out grades_week3.")


def _progress(total: int, estimate: float | None, workers: int, show: bool) -> Any:
    from tqdm.auto import tqdm

    if show and estimate is not None:
        print(f"Making {total} hand-outs on {workers} worker(s): about {estimate:.0f} s.", file=sys.stderr)
    return tqdm(total=total, unit="trainee", disable=not show, file=sys.stderr)


def _build_class(assignment: Assignment, trainees: list[Trainee], salt: str, staging: Path, *, engine: str,
                 workers: int | None, scheduler: str | None, progress: bool) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    workers = workers or os.cpu_count() or 1
    todo = list(trainees)
    estimate = None
    first = None
    if len(todo) > 1:  # one trainee here first: an up-front estimate, and any error before workers start
        first = build_trainee(assignment, todo.pop(0), salt)
        parallel = 1 if engine == "serial" else workers
        estimate = first.seconds * len(todo) / parallel
    bar = _progress(len(trainees), estimate, 1 if engine == "serial" else workers, progress)
    results = run_all(build_trainee, [(assignment, t, salt) for t in todo], engine=engine, workers=workers,
                      scheduler=scheduler)
    with bar, contextlib.closing(results):  # closing: an interruption here also stops the workers at once
        if first:
            bar.update(1)
        for result in itertools.chain([first] if first else [], results):
            folder = staging / result.trainee_id
            for name, data in result.files.items():
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            (staging / f"{result.trainee_id}.zip").write_bytes(_zip_bytes(result.files, result.trainee_id))
            rows.extend(result.rows)
            if result is not first:
                bar.update(1)
    order = {t.id: i for i, t in enumerate(trainees)}
    key = pd.DataFrame(rows)
    key["_order"] = key["trainee_id"].map(order)
    return key.sort_values(["_order", "question"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _roster_frame(trainees: Iterable[Trainee]) -> pd.DataFrame:
    return pd.DataFrame([{"trainee_id": t.id, "name": t.name, "email": t.email} for t in trainees])


def _resolved_assignment(assignment: Assignment) -> dict[str, Any]:
    """The assignment as data, each question's exercise pointing at its copy in the key (``exercises/``)."""
    late: dict[str, float] = {"penalty_per_day": assignment.penalty_per_day}
    if math.isfinite(assignment.accept_days):
        late["accept_days"] = assignment.accept_days
    return {"id": assignment.id, "title": assignment.title, "language": assignment.language,
            "deadline": assignment.deadline.isoformat(), "late_policy": late, "attempts": assignment.attempts,
            "submit": assignment.submit,
            "questions": [{"id": q.id, "exercise": f"exercises/{q.id}{Path(q.exercise.source).suffix}",
                           "points": q.points,
                           "partial_credit": [{"within": b.within, "share": b.share} for b in q.bands]}
                          for q in assignment.questions]}


def _write_key(staging: Path, assignment: Assignment, key: pd.DataFrame, roster: pd.DataFrame, salt: str,
               handouts: Path) -> None:
    """The key folder: key.csv, roster.csv, course.json (the salt), and the assignment with a copy of every
    exercise file as it was, so a late trainee's world is drawn from the same specification as the class's."""
    import yaml

    key.to_csv(staging / KEY_FILE, index=False, lineterminator="\n")  # floats as repr: exact truth
    roster.to_csv(staging / ROSTER_FILE, index=False, lineterminator="\n")
    (staging / "exercises").mkdir()
    for q in assignment.questions:
        text = read_text(q.exercise.source, "Exercise file")
        (staging / "exercises" / f"{q.id}{Path(q.exercise.source).suffix}").write_text(text, encoding="utf-8")
    (staging / "assignment.yml").write_text(
        yaml.safe_dump(_resolved_assignment(assignment), allow_unicode=True, sort_keys=False), encoding="utf-8")
    (staging / "assignment-original.yml").write_text(assignment.text, encoding="utf-8")
    same = [q.id for q in assignment.questions if q.exercise.same_for_everyone
            or (len(key) > 1 and key.loc[key["question"] == q.id, "truth"].nunique() == 1)]
    meta = {"assignment": assignment.id, "source": assignment.source, "salt": salt,
            "handouts": [str(handouts)], "same_for_everyone": same}
    (staging / COURSE_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass
class CourseMade:
    """What :func:`make_course` made.

    Parameters
    ----------
    handouts : pathlib.Path
        The hand-outs' folder (a folder and a zip per trainee).
    key : pathlib.Path
        The key's folder (for ``grade_course``).
    trainees : int
        How many hand-outs were made.
    seconds : float
        How long it took.
    same_for_everyone : list of str
        The questions whose answer every trainee shares.

    Examples
    --------
    See :func:`make_course`; the fields read like this:

    >>> from pathlib import Path
    >>> from kaigai_lib.exercises.classroom import CourseMade
    >>> made = CourseMade(Path("handouts"), Path("key"), trainees=2, seconds=1.5, same_for_everyone=[])
    >>> made.trainees, made.key.name
    (2, 'key')
    """

    handouts: Path
    key: Path
    trainees: int
    seconds: float
    same_for_everyone: list[str]


def make_course(assignment_path: str | Path, roster_path: str | Path, out: str | Path, key_dir: str | Path, *,
                engine: str = "processes", workers: int | None = None, scheduler: str | None = None,
                force: bool = False, progress: bool = False, salt: str | None = None,
                replace_key: bool = False) -> CourseMade:
    """Make the hand-outs for a roster into ``out`` and the key into ``key_dir`` (apart; all-or-nothing).

    Each trainee gets a folder and a zip with their own data set (their own
    seed and, for ``vary_per_trainee`` parameters, their own truth), a
    README and an answers template; the key holds every trainee's truth,
    the assignment and the roster, for :func:`grade_course`. This is
    ``kaigai course make``.

    Parameters
    ----------
    assignment_path : str or pathlib.Path
        The assignment file (YAML): id, title, deadline, late policy and the
        questions, each an exercise file (relative to the assignment) or a
        shipped example's name.
    roster_path : str or pathlib.Path
        A CSV with ``trainee_id`` (and optionally ``name``, ``email``).
    out : str or pathlib.Path
        The hand-outs' folder: new or empty (or an earlier result with ``force``).
    key_dir : str or pathlib.Path
        The key's folder, apart from ``out`` (neither inside the other).
    engine : {"processes", "serial", "dask"}, default "processes"
        How the trainees' worlds are generated.
    workers : int or None, optional
        Worker processes (default: the machine's cores).
    scheduler : str or None, optional
        A Dask scheduler's address (engine "dask").
    force : bool, default False
        Replace an earlier result of this command in ``out`` and ``key_dir``.
        The earlier key's salt is kept (the same trainees get the same
        worlds), and a key that lists late trainees missing from the roster,
        or hand-outs other than ``out``, is refused unless ``replace_key``.
    progress : bool, default False
        Show a progress bar on standard error.
    salt : str or None, optional
        The course's secret, from which each trainee's seed is derived
        (default: the replaced key's, else a fresh random one); give one
        only to reproduce a class.
    replace_key : bool, default False
        With ``force``, replace a key whose hand-outs were given out (late
        trainees, other hand-out folders) with a new one and a new salt:
        the hand-outs it lists can no longer be graded.

    Returns
    -------
    CourseMade
        ``handouts`` and ``key`` (the folders), ``trainees`` (how many),
        ``seconds`` and ``same_for_everyone`` (questions whose answer every
        trainee shares).

    Raises
    ------
    ValueError
        If the assignment, an exercise or the roster is malformed (the
        message names the file, the line and the field).
    OutputError
        If ``out`` or ``key_dir`` is not empty, or one is inside the other.

    See Also
    --------
    grade_course : Grade the class's answers against the key.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "effect.yml").write_text('''
    ... id: effect
    ... question: "The true 5-year effect of exporting on the log sales of firms with 50-99 employees?"
    ... world:
    ...   preset: tiny
    ...   params: {n_firms: 300, n_establishments: 100}
    ...   trainee_may_change:
    ...     export_effects.50-99.sales: {min: 0.05, max: 0.30, step: 0.05}
    ...   vary_per_trainee: [export_effects.50-99.sales]
    ... quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
    ... tolerance: 0.01
    ... ''', encoding="utf-8")
    >>> _ = (root / "week1.yml").write_text('''
    ... id: week1
    ... title: "Week 1"
    ... deadline: 2026-12-01T17:00+09:00
    ... questions:
    ...   - {exercise: effect.yml, id: effect, points: 4}
    ... ''', encoding="utf-8")
    >>> _ = (root / "roster.csv").write_text("trainee_id,name,email\\ns01,Aiko,\\ns02,Ben,\\n", encoding="utf-8")
    >>> from kaigai_lib import make_course
    >>> made = make_course(root / "week1.yml", root / "roster.csv", root / "handouts", root / "key",
    ...                    engine="serial", salt="docs")
    >>> made.trainees, sorted(path.name for path in (made.handouts / "s01").iterdir())
    (2, ['README.md', 'answers.csv', 'effect', 'starter.ipynb'])
    >>> import pandas as pd
    >>> pd.read_csv(made.key / "key.csv")[["trainee_id", "question", "truth", "tolerance"]]
      trainee_id question  truth  tolerance
    0        s01   effect    0.2       0.01
    1        s02   effect    0.1       0.01
    >>> make_course(root / "week1.yml", root / "roster.csv", root / "handouts", root / "key2", engine="serial")
    Traceback (most recent call last):
    ...
    kaigai_lib.data.outputs.OutputError: --out .../handouts is not empty: choose a new folder, or add --force ...
    """
    started = time.perf_counter()
    assignment = load_assignment(assignment_path)
    trainees = read_roster_table(roster_path)
    _check_apart(Path(out), Path(key_dir))
    recover_key(key_dir)  # a key a killed run left parked keeps its salt under --force
    inputs = [assignment_path, roster_path, *(q.exercise.source for q in assignment.questions)]
    earlier = _earlier_salt(Path(key_dir), Path(out), trainees, replace_key) if force else None
    salt = salt or earlier or secrets.token_hex(16)
    handouts = OutputFolder(out, command="course make", inputs=inputs, force=force)
    keys = OutputFolder(key_dir, command="course key", inputs=inputs, force=force, option="--key")
    with handouts as h_stage, keys as k_stage:
        key = _build_class(assignment, trainees, salt, h_stage.path, engine=engine, workers=workers,
                           scheduler=scheduler, progress=progress)
        _write_key(k_stage.path, assignment, key, _roster_frame(trainees), salt, handouts.out)
        # one move for both: a signal or an error leaves neither, a SIGKILL is finished by the next command
        commit_together(h_stage, k_stage, first_extra={"assignment": assignment.id})
    meta = json.loads((keys.out / COURSE_FILE).read_text(encoding="utf-8"))
    return CourseMade(handouts.out, keys.out, len(trainees), time.perf_counter() - started,
                      meta["same_for_everyone"])


def _earlier_salt(key_dir: Path, out: Path, trainees: list[Trainee], replace_key: bool) -> str | None:
    """The salt of the course key ``--force`` would replace (kept: the same trainees get the same worlds), or
    None for a new course; a key whose hand-outs this run would orphan is refused unless ``replace_key``."""
    if not (key_dir / COURSE_FILE).is_file():
        return None
    _, _, roster, meta = read_course_key(key_dir)
    if replace_key:
        return None  # a new course: a new salt
    dropped = sorted(set(roster["trainee_id"]) - {t.id for t in trainees})
    elsewhere = [h for h in meta.get("handouts", []) if os.path.realpath(h) != os.path.realpath(out)]
    if dropped or elsewhere:
        lost = ([f"trainee(s) {', '.join(dropped[:10])} missing from the roster"] if dropped else []) + (
            [f"hand-outs in {', '.join(elsewhere)}"] if elsewhere else [])
        raise OutputError(f"--key {key_dir} lists {' and '.join(lost)} (`course add`): replacing it would leave "
                          "their hand-outs ungradable. Add them to the roster and remake into the same --out, use "
                          "`kaigai course add` for new trainees, or give --replace-key to start a new course "
                          "(a new salt) knowing those hand-outs can no longer be graded.")
    return str(meta["salt"])


def recover_key(key_dir: str | Path, option: str = "--key") -> list[str]:
    """Put back a key a killed run (SIGKILL, power loss) left beside ``key_dir`` (parked while being replaced, or
    not yet moved in after its hand-outs were), saying so on standard error; return what was said."""
    notes = recover_output(key_dir, option=option)
    for note in notes:
        print(f"kaigai: {note}", file=sys.stderr)
    return notes


def read_course_key(key_dir: str | Path) -> tuple[Assignment, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The assignment, key, roster and metadata of a key folder written by :func:`make_course`."""
    key_dir = Path(key_dir)
    notes = recover_key(key_dir)
    missing = [f for f in (KEY_FILE, COURSE_FILE, ROSTER_FILE, "assignment.yml") if not (key_dir / f).is_file()]
    if not key_dir.is_dir() or missing:
        raise ValueError(f"--key {key_dir} is not a course key folder (missing {missing or 'the folder'}); give "
                         "the --key folder of `kaigai course make`." + "".join(
                             f" {note}" for note in [*notes, parked_result_note(key_dir)] if note))
    try:
        meta = json.loads((key_dir / COURSE_FILE).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{key_dir / COURSE_FILE}: not valid JSON ({error}); restore it from the run.") from None
    for handouts in meta.get("handouts", []):  # hand-outs a killed run left parked go back too: they are handed out
        recover_key(handouts, option="--out")
    assignment = load_assignment(key_dir / "assignment.yml")  # its exercises are the copies in the key
    key = _read_key_table(key_dir / KEY_FILE)
    roster = pd.read_csv(key_dir / ROSTER_FILE, dtype=str, keep_default_na=False)
    return assignment, key, roster, meta


def _read_key_table(path: Path) -> pd.DataFrame:
    """key.csv with every text cell as text (an empty unit stays "", an id "NA" stays "NA") and the numeric
    columns as numbers; a truth or tolerance that is not a number refuses the key with its lines."""
    key = read_text_table(read_text(path, "Course key"))
    numeric_columns(key, ("seed", "truth", "tolerance", "naive", "points"), path,
                    "Restore key.csv as `kaigai course make` wrote it.", required=("seed", "truth", "tolerance"))
    key["seed"] = key["seed"].astype("int64")
    return key


def add_trainees(key_dir: str | Path, roster_path: str | Path, out: str | Path, *, engine: str = "processes",
                 workers: int | None = None, scheduler: str | None = None, progress: bool = False) -> CourseMade:
    """Hand-outs for the roster's trainees not yet in the key, into a new ``out``; the key gains their rows.

    Existing trainees' hand-outs and key rows are not touched (the key folder is rewritten with their rows
    byte for byte, plus the new ones).
    """
    started = time.perf_counter()
    assignment, key, roster, meta = read_course_key(key_dir)
    trainees = read_roster_table(roster_path)
    known = set(roster["trainee_id"])
    new = [t for t in trainees if t.id not in known]
    # the late ones against those handed out: t1 in the key and T1 now would share a folder on Windows
    clashes = trainee_id_problems([(t.row, t.id) for t in new], known=known)
    if clashes:
        raise roster_error(roster_path, clashes, f" (against the key {key_dir})")
    if not new:
        raise ValueError(f"{roster_path}: every trainee in it already has a hand-out (the key lists "
                         f"{len(known)}); add the late trainees' rows to the roster.")
    _check_apart(Path(out), Path(key_dir))
    handouts = OutputFolder(out, command="course make", inputs=[roster_path, key_dir])
    keys = OutputFolder(key_dir, command="course key", inputs=[roster_path], force=True, option="--key")
    with handouts as h_stage, keys as k_stage:
        added = _build_class(assignment, new, meta["salt"], h_stage.path, engine=engine, workers=workers,
                             scheduler=scheduler, progress=progress)
        for name in (ROSTER_FILE, "assignment.yml", "assignment-original.yml"):
            (k_stage.path / name).write_bytes((Path(key_dir) / name).read_bytes())
        shutil.copytree(Path(key_dir) / "exercises", k_stage.path / "exercises")
        with (k_stage.path / KEY_FILE).open("wb") as handle:  # old rows byte for byte, then the new ones
            handle.write((Path(key_dir) / KEY_FILE).read_bytes())
            handle.write(added[list(key.columns)].to_csv(index=False, header=False, lineterminator="\n").encode())
        with (k_stage.path / ROSTER_FILE).open("ab") as handle:
            handle.write(_roster_frame(new).to_csv(index=False, header=False, lineterminator="\n").encode())
        meta["handouts"] = [*meta.get("handouts", []), str(handouts.out)]
        (k_stage.path / COURSE_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
        commit_together(h_stage, k_stage, first_extra={"assignment": assignment.id})
    return CourseMade(handouts.out, keys.out, len(new), time.perf_counter() - started,
                      meta.get("same_for_everyone", []))


# --------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------

def diagnose(answer: float, truth: float, tolerance: float, naive: float, unit: str) -> str:
    """Why a wrong answer is wrong: unit slip, naive estimate, sign, or how far out of tolerance."""
    tol = max(tolerance, 1e-12)
    unit = unit if isinstance(unit, str) and unit else "the one asked"  # a unitless question has unit ""

    def near(value: float) -> bool:
        return math.isfinite(value) and abs(answer - value) <= tol

    if near(naive) and not near(truth):
        return "naive estimate: this is the naive starters-vs-non-starters difference, not the effect"
    if truth != 0 and (near(100 * truth) or near(100 * math.expm1(truth))):
        return "unit slip: answered in percent where the unit is " + unit
    if truth != 0 and (near(truth / 100) or near(math.log1p(truth / 100) if truth > -100 else math.nan)):
        return "unit slip: answered as a share or in log points where the unit is " + unit
    if truth != 0 and near(-truth):
        return "sign: the size is right but the sign is wrong"
    return f"out of tolerance by {abs(answer - truth) - tolerance:.4g} ({abs(answer - truth) / tol:.1f}× the tolerance)"


def read_answers(path: str | Path, assignment: Assignment) -> list[dict[str, Any]]:
    """Answer rows: ``trainee_id``, ``question`` (optional with one question), ``answer``, ``submitted_at``."""
    rows = read_csv_rows(path, "Answers file", ["trainee_id", "answer"], ["question", "submitted_at"])
    if rows and "question" not in rows[0].cells and len(assignment.questions) > 1:
        raise ValueError(f"{path}: the assignment has {len(assignment.questions)} questions; add a question "
                         f"column ({', '.join(q.id for q in assignment.questions)}).")
    out, problems = [], []
    for row in rows:
        submitted = None
        if row.cells.get("submitted_at"):
            try:
                submitted = parse_datetime(row.cells["submitted_at"], f"line {row.line}, submitted_at")
            except ValueError as error:
                problems.append(str(error))
                continue
        out.append({"line": row.line, "trainee_id": row.cells["trainee_id"],
                    # a blank cell means the only question, never the first of several (reported as unknown)
                    "question": row.cells.get("question") or (assignment.questions[0].id
                                                              if len(assignment.questions) == 1 else ""),
                    "raw": row.cells["answer"], "submitted_at": submitted})
    if problems:
        raise ValueError(f"Answers file {path}: {len(problems)} bad timestamp(s); nothing was graded:\n  - "
                         + "\n  - ".join(problems[:10]))
    return out


def _grade_answer(a: Mapping[str, Any], base: dict[str, Any], assignment: Assignment,
                  questions: Mapping[str, Question], entries: Mapping[tuple[str, str], Any]) -> dict[str, Any]:
    """One answer line's row of detail.csv: its status, points and feedback."""
    if a["question"] not in questions:
        said = (f"question {a['question']!r} is not in the assignment" if a["question"] else
                f"the question cell is empty and the assignment has {len(questions)} questions")
        return {**base, "status": "unknown question", "feedback": f"line {a['line']}: {said} "
                f"({', '.join(questions)}); write which one in the question column"}
    entry = entries.get((a["trainee_id"], a["question"]))
    if entry is None:
        return {**base, "status": "unknown trainee", "feedback": f"line {a['line']}: trainee {a['trainee_id']!r} "
                "is not on the roster; check the spelling"}
    base.update(truth=entry.truth, tolerance=entry.tolerance, unit=entry.unit)
    value, why = parse_number(a["raw"], entry.unit)
    late, days, share = assignment.late_share(a["submitted_at"])
    base.update(late=late, days_late=round(days, 3))
    if value is None:
        return {**base, "status": "malformed", "feedback": f"line {a['line']}: {why}"}
    distance = abs(value - entry.truth)
    raw_points = _points(questions[a["question"]], distance, entry.tolerance)
    correct = raw_points == questions[a["question"]].points
    diagnosis = "correct" if correct else diagnose(value, entry.truth, entry.tolerance, entry.naive, entry.unit)
    feedback = diagnosis + ("; partial credit" if raw_points > 0 and not correct else "")
    refused = late and days > assignment.accept_days
    if refused:
        feedback += (f"; late by {days:.2f} day(s), past the {assignment.accept_days:g} day(s) the late policy "
                     "accepts: not accepted, so it never replaces an accepted attempt")
    elif late:
        feedback += f"; late by {days:.2f} day(s): {share:.0%} of the points kept"
    return {**base, "status": "graded", "correct": correct, "points_raw": raw_points, "points": raw_points * share,
            "feedback": feedback, "_value": value, "_refused": refused,
            "_coarse": diagnosis if correct else _size_class(distance, entry.tolerance), "_diagnosis": diagnosis}


def _points(question: Question, distance: float, tolerance: float) -> float:
    if distance <= tolerance or math.isclose(distance, tolerance):
        return question.points
    for band in question.bands:
        if distance <= band.within * tolerance:
            return question.points * band.share
    return 0.0


DETAIL_COLUMNS = ("line", "trainee_id", "question", "answer", "submitted_at", "status", "truth", "tolerance", "unit",
                  "correct", "points_raw", "late", "days_late", "points", "counted", "feedback")


def grade_course(key_dir: str | Path, answers_path: str | Path, out: str | Path, *,
                 force: bool = False, full_feedback: bool = False,
                 now: dt.datetime | None = None) -> dict[str, pd.DataFrame]:
    """Grade a class's answers against the key, into a folder of results.

    Writes ``gradebook.csv``, ``detail.csv`` (every answer line, its
    verdict and points), ``feedback/<trainee_id>.md``, ``statistics.csv``,
    ``answers_vs_truth.png`` and ``copy_check.csv`` (answers wrong for the
    trainee's own world but right for a classmate's). This is ``kaigai
    course grade``.

    Parameters
    ----------
    key_dir : str or pathlib.Path
        The key folder written by :func:`make_course`.
    answers_path : str or pathlib.Path
        A CSV with ``trainee_id``, ``answer`` and, with several questions,
        ``question``; ``submitted_at`` (optional) applies the late policy.
    out : str or pathlib.Path
        The results' folder: new or empty, and neither the answers nor the key (nor containing them).
    force : bool, default False
        Replace an earlier result of this command in ``out``.
    full_feedback : bool, default False
        Give trainees the full diagnosis (unit slip, sign, how far and which
        way) before the deadline too; by default, before it, their feedback
        files say only how far a wrong answer is (``detail.csv`` says all).
    now : datetime or None, optional
        The grading time compared with the deadline (default: now).

    Returns
    -------
    dict
        ``gradebook``, ``detail``, ``copy_check`` and ``statistics``
        (DataFrames, as written) and ``folder`` (the results' path).

    Raises
    ------
    ValueError
        If the key folder is not one, or the answers file is malformed (nothing is graded).
    OutputError
        If ``out`` is not empty, or is or contains an input.

    See Also
    --------
    make_course : Make the hand-outs and the key.

    Examples
    --------
    Ben (s02) hands in Aiko's answer: wrong for his world, right for hers.

    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "effect.yml").write_text('''
    ... id: effect
    ... question: "The true 5-year effect of exporting on the log sales of firms with 50-99 employees?"
    ... world:
    ...   preset: tiny
    ...   params: {n_firms: 300, n_establishments: 100}
    ...   trainee_may_change:
    ...     export_effects.50-99.sales: {min: 0.05, max: 0.30, step: 0.05}
    ...   vary_per_trainee: [export_effects.50-99.sales]
    ... quantity: {kind: true_effect, analysis: export, outcome: sales, group: "50-99", horizon: 5}
    ... tolerance: 0.01
    ... ''', encoding="utf-8")
    >>> _ = (root / "week1.yml").write_text('''
    ... id: week1
    ... title: "Week 1"
    ... deadline: 2026-12-01T17:00+09:00
    ... questions:
    ...   - {exercise: effect.yml, id: effect, points: 4}
    ... ''', encoding="utf-8")
    >>> _ = (root / "roster.csv").write_text("trainee_id,name,email\\ns01,Aiko,\\ns02,Ben,\\n", encoding="utf-8")
    >>> from kaigai_lib import grade_course, make_course
    >>> made = make_course(root / "week1.yml", root / "roster.csv", root / "handouts", root / "key",
    ...                    engine="serial", salt="docs")
    >>> _ = (root / "answers.csv").write_text("trainee_id,answer\\ns01,0.2\\ns02,0.2\\n", encoding="utf-8")
    >>> grades = grade_course(made.key, root / "answers.csv", root / "grades")
    >>> grades["gradebook"][["trainee_id", "effect (4)", "total (4)"]]
      trainee_id  effect (4)  total (4)
    0        s01         4.0        4.0
    1        s02         0.0        0.0
    >>> grades["copy_check"][["trainee_id", "answer", "closest_classmate"]]
      trainee_id answer closest_classmate
    0        s02    0.2               s01
    >>> sorted(path.name for path in (root / "grades").iterdir() if not path.name.startswith("."))
    ['answers_vs_truth.png', 'copy_check.csv', 'detail.csv', 'feedback', 'gradebook.csv', 'statistics.csv']
    """
    assignment, key, roster, meta = read_course_key(key_dir)
    _check_grades_apart(Path(out), Path(key_dir), meta)
    folder = OutputFolder(out, command="course grade", inputs=[answers_path, key_dir], force=force)
    answers = read_answers(answers_path, assignment)
    questions = {q.id: q for q in assignment.questions}
    entries = {(r.trainee_id, r.question): r for r in key.itertuples(index=False)}
    names = roster.set_index("trainee_id")
    detail = []
    for a in answers:
        base = {"line": a["line"], "trainee_id": a["trainee_id"], "question": a["question"], "answer": a["raw"],
                "submitted_at": a["submitted_at"].isoformat() if a["submitted_at"] else "", "truth": math.nan,
                "tolerance": math.nan, "unit": "", "correct": False, "points_raw": 0.0, "late": False,
                "days_late": 0.0, "points": 0.0, "counted": False}
        try:
            detail.append(_grade_answer(a, base, assignment, questions, entries))
        except Exception as error:
            detail.append({**base, "status": "error", "feedback": f"line {a['line']}: this answer could not be "
                           f"graded ({type(error).__name__}: {error}); grade it by hand and report it to the "
                           "kaigai maintainers"})
    table = pd.DataFrame(detail, columns=[*DETAIL_COLUMNS, "_value", "_refused", "_coarse", "_diagnosis"])
    _pick_attempts(table, assignment.attempts)
    # before the deadline a trainee's file says how far an answer is, never which way nor why (a sign or unit slip,
    # or "by 0.39" with several attempts, gives the truth away); detail.csv, for the instructor, says everything
    before = not full_feedback and (now or dt.datetime.now(dt.UTC)) < assignment.deadline
    trainee_feedback = table["feedback"].copy()
    if before:
        coarse = table["_diagnosis"].notna() & (table["_diagnosis"] != table["_coarse"])
        trainee_feedback[coarse] = [f.replace(d, c, 1) for f, d, c in zip(
            table.loc[coarse, "feedback"], table.loc[coarse, "_diagnosis"], table.loc[coarse, "_coarse"], strict=True)]
    table = table.drop(columns=["_refused", "_coarse", "_diagnosis"])
    values = table.pop("_value")
    gradebook = _gradebook(assignment, roster, table)
    copy_check = _copy_check(table.assign(value=values), key)
    stats = _statistics(assignment, table.assign(value=values), key)
    with folder as staging:
        # opened in a spreadsheet: a trainee's text (answer, ids) is never run as a formula
        for name, frame in (("gradebook", gradebook), ("detail", table), ("copy_check", copy_check),
                            ("statistics", stats)):
            spreadsheet_safe(frame).to_csv(staging.path / f"{name}.csv", index=False, lineterminator="\n")
        _figure(table.assign(value=values)).savefig(staging.path / "answers_vs_truth.png", dpi=90)
        (staging.path / "feedback").mkdir()
        for tid in roster["trainee_id"]:
            name = names.loc[tid, "name"] if tid in names.index else ""
            (staging.path / "feedback" / f"{tid}.md").write_text(
                _feedback(assignment, tid, name, table.assign(feedback=trainee_feedback), gradebook, before),
                encoding="utf-8")
        staging.commit()
    return {"gradebook": gradebook, "detail": table, "copy_check": copy_check, "statistics": stats,
            "folder": folder.out}


def _pick_attempts(table: pd.DataFrame, attempts: str) -> None:
    """Mark the attempt that counts per trainee and question, in place: the last (by time in UTC, then by line;
    answers without a time first), the first, or the best, among the accepted ones (a late answer past the late
    policy never replaces an accepted one)."""
    graded = table["status"] == "graded"
    # compared as instants: "2026-11-30T02:00Z" is later than "2026-11-30T10:00+09:00", which sorts after it as text
    when = pd.to_datetime(table["submitted_at"].replace("", None), utc=True, format="ISO8601")
    for (_, _), group in table.loc[graded].groupby(["trainee_id", "question"]):
        accepted = group.loc[~group["_refused"].astype(bool)]
        if accepted.empty:
            continue  # nothing accepted: no attempt counts (each row says why)
        order = accepted.assign(_t=when[accepted.index]).sort_values(["_t", "line"], na_position="first")
        pick = {"last": order.index[-1], "first": order.index[0],
                "best": accepted["points"].astype(float).idxmax()}[attempts]
        table.loc[pick, "counted"] = True
        for other in accepted.index.drop(pick):
            table.loc[other, "feedback"] = (f"{table.loc[other, 'feedback']} (not counted: the "
                                            f"{attempts} attempt, line {table.loc[pick, 'line']}, counts)")


def _gradebook(assignment: Assignment, roster: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    counted = table.loc[table["counted"]]
    book = roster[["trainee_id", "name", "email"]].copy()
    for q in assignment.questions:
        points = counted.loc[counted["question"] == q.id].set_index("trainee_id")["points"]
        book[f"{q.id} ({q.points:g})"] = book["trainee_id"].map(points).fillna(0.0).round(4)
    book[f"total ({assignment.total_points:g})"] = book.filter(like=" (").sum(axis=1).round(4)
    late = counted.groupby("trainee_id")["late"].any()
    book["late"] = book["trainee_id"].isin(late.index[late])
    answered = table.groupby("trainee_id").size()
    book["answered"] = book["trainee_id"].map(answered).fillna(0).astype(int)
    return book


def _copy_check(table: pd.DataFrame, key: pd.DataFrame) -> pd.DataFrame:
    """Counted answers that are wrong for the trainee's own world but right (within the tolerance) for a
    classmate's, and closer to that classmate's truth than to their own. An answer right for one's own world
    is never flagged, however close a classmate's truth lies."""
    rows = []
    counted = table.loc[table["counted"]]
    for question, answers in counted.groupby("question"):
        truths = key.loc[key["question"] == question].set_index("trainee_id")["truth"]
        if truths.nunique() < 2:
            continue  # everyone has the same truth: nothing to tell apart
        for r in answers.itertuples():
            others = truths.drop(r.trainee_id)
            distances = (others - r.value).abs()
            nearest = distances.idxmin()
            own = abs(r.value - r.truth)
            if own > r.tolerance and distances[nearest] < own and distances[nearest] <= r.tolerance:
                rows.append({"trainee_id": r.trainee_id, "question": question, "line": r.line,
                             "answer": r.answer, "distance_to_own_truth": own, "closest_classmate": nearest,
                             "distance_to_classmate_truth": float(distances[nearest])})
    return pd.DataFrame(rows, columns=["trainee_id", "question", "line", "answer", "distance_to_own_truth",
                                       "closest_classmate", "distance_to_classmate_truth"])


def _statistics(assignment: Assignment, table: pd.DataFrame, key: pd.DataFrame) -> pd.DataFrame:
    rows = []
    counted = table.loc[table["counted"]]
    for q in assignment.questions:
        c = counted.loc[counted["question"] == q.id]
        n_class = int((key["question"] == q.id).sum())
        error = c["value"] - c["truth"]
        rows.append({"question": q.id, "trainees": n_class, "answered": len(c), "correct": int(c["correct"].sum()),
                     "share_correct": c["correct"].mean() if len(c) else math.nan,
                     "mean_points": c["points"].sum() / n_class if n_class else math.nan, "max_points": q.points,
                     "median_error": error.median(), "mean_abs_error": error.abs().mean(),
                     "late": int(c["late"].sum())})
    return pd.DataFrame(rows)


def _figure(table: pd.DataFrame) -> Any:
    from matplotlib.figure import Figure

    counted = table.loc[table["counted"]]
    questions = list(dict.fromkeys(counted["question"])) or ["(no answers)"]
    fig = Figure(figsize=(3.2 * len(questions), 3.2))
    axes = fig.subplots(1, len(questions), squeeze=False)[0]
    for ax, question in zip(axes, questions, strict=True):
        c = counted.loc[counted["question"] == question]
        ax.scatter(c["truth"], c["value"], c=np.where(c["correct"], "C2", "C3"), s=14)
        if len(c):
            lo = float(np.nanmin([c["truth"].min(), c["value"].min()]))
            hi = float(np.nanmax([c["truth"].max(), c["value"].max()]))
            ax.plot([lo, hi], [lo, hi], color="0.5", linewidth=0.8)
        ax.set(title=question, xlabel="truth", ylabel="answer")
    fig.tight_layout()
    return fig


def _size_class(distance: float, tolerance: float) -> str:
    """How far a wrong answer is, in classes of the tolerance, without its direction: what feedback before the
    deadline may say (a direction would let a trainee halve the interval attempt by attempt)."""
    times = distance / max(tolerance, 1e-12)
    if times <= 3:
        return "close: within 3× the tolerance, but not within it"
    if times <= 10:
        return "off: between 3× and 10× the tolerance away"
    return "far off: more than 10× the tolerance away"


def _feedback(assignment: Assignment, tid: str, name: str, table: pd.DataFrame, gradebook: pd.DataFrame,
              before_deadline: bool = False) -> str:
    row = gradebook.set_index("trainee_id").loc[tid]
    total = next(c for c in gradebook.columns if c.startswith("total"))
    lines = [f"# {assignment.title} — {name or tid}", "", f"Total: {row[total]:g} of {assignment.total_points:g} "
             "points" + (" (late)" if row["late"] else ""), ""]
    if before_deadline:
        lines += [f"Before the deadline ({assignment.deadline.isoformat()}) this feedback says how far a wrong "
                  "answer is, not which way or why; the full diagnosis comes after it.", ""]
    mine = table.loc[table["trainee_id"] == tid]
    for q in assignment.questions:
        answers = mine.loc[mine["question"] == q.id]
        lines.append(f"## {q.id} ({q.points:g} points)")
        if answers.empty:
            lines += ["", "No answer received.", ""]
            continue
        for a in answers.itertuples():
            mark = "counted" if a.counted else "not counted"
            lines.append(f"- answer {a.answer!r} ({mark}, {a.points:g} points): {a.feedback}")
        lines.append("")
    return "\n".join(lines)


def handout_texts(handouts: str | Path) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of every file and zip member of a hand-out folder, data decompressed."""
    import gzip

    def decoded(name: str, data: bytes) -> Iterator[tuple[str, str]]:
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    yield from decoded(f"{name}!{member}", archive.read(member))
            return
        yield name, data.decode("utf-8", errors="replace")

    for path in sorted(Path(handouts).rglob("*")):
        if path.is_file():
            yield from decoded(str(path), path.read_bytes())


def truth_leaks(handouts: str | Path, key: pd.DataFrame, meta: Mapping[str, Any]) -> list[str]:
    """Where a trainee could read a truth or the way to it: the salt or a seed in any file; in any text that is
    not a data table (README, notebook, template, marker), a number with 3+ decimals that rounds a truth."""
    import re

    found = []
    secrets_ = [str(meta["salt"]), *map(str, key["seed"])]
    truths = np.array([t for t in key["truth"] if t != 0 and math.isfinite(t)])
    for name, text in handout_texts(handouts):
        for secret in secrets_:
            if secret in text:
                found.append(f"{name}: holds the key's secret {secret}")
        if name.endswith((".csv", ".csv.gz")) and not name.endswith("answers.csv"):
            continue  # data: a number there is a firm's value, and no column is the answer
        for number in set(re.findall(r"-?\d+\.\d{3,}", text)):
            decimals = len(number.split(".")[1])
            close = np.abs(truths - float(number)) <= 0.5 * 10.0 ** -decimals + 1e-15
            if close.any():
                found.append(f"{name}: {number} is a truth ({truths[close][0]!r}) rounded")
    return found


__all__ = [
    "EFFECT_KINDS",
    "Assignment",
    "AssignmentError",
    "Band",
    "CourseMade",
    "Question",
    "add_trainees",
    "build_trainee",
    "diagnose",
    "grade_course",
    "handout_texts",
    "load_assignment",
    "make_course",
    "read_course_key",
    "truth_leaks",
]
