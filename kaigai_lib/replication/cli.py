"""The ``kaigai`` command.

    kaigai exercises list                         the shipped example exercises
    kaigai exercises check FILE [FILE ...]        validate exercise files; show each truth in the default world
    kaigai exercises make --exercise FILE --roster roster.csv --out DIR [--key KEY] [--force]
    kaigai exercises grade --key KEY --answers ANSWERS [--out GRADES]
    kaigai exercises page FILE --out page.html [--course] [--seed N] [--language en|ja]   one offline HTML page
    kaigai course make ASSIGNMENT --roster R --out HANDOUTS --key KEYDIR [--engine/--workers/--scheduler]
    kaigai course add --key KEYDIR --roster R --out HANDOUTS_LATE
    kaigai course grade --key KEYDIR --answers A --out GRADES
    kaigai generate --preset national --seed 0 --out DIR   a synthetic world in the input schema
    kaigai replicate --firms F --establishments F --foreign-demand F [--config TOML] --out DIR
    kaigai check-disclosure DIR [--config TOML]   re-check a results folder; 0 passes, 1 problems, 2 cannot check

Also ``python -m kaigai_lib …``. User errors (a malformed file, a missing
column) print a message on stderr and exit with status 2, without a
traceback. ``main(argv)`` returns the exit status, so tests and notebooks can
call it directly; new command groups (``generate``, ``replicate``) are added
as further sub-parsers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

USER_ERROR = 2


class UserError(Exception):
    """An error caused by the command's input, reported without a traceback."""


def _exercises_list(args: argparse.Namespace) -> int:
    from kaigai_lib.exercises.spec import exercise_files, load_exercise

    for name, path in exercise_files().items():
        spec = load_exercise(path)
        print(f"{name}\n    {spec.title}\n    {spec.quantity.describe()}\n    {path}")
    return 0


def _exercises_check(args: argparse.Namespace) -> int:
    from kaigai_lib.exercises.spec import load_exercise, quality_report

    for file in args.files:
        spec = load_exercise(file)
        ranges = ", ".join(f"{r.name} {r.min:g}–{r.max:g} (step {r.step:g})"
                           for r in spec.trainee_may_change.values()) or "none"
        print(f"{spec.source}: OK")
        print(f"  id:        {spec.id}")
        print(f"  world:     preset {spec.preset}, seed {spec.seed}, params {dict(spec.params) or '{}'}")
        print(f"  sliders:   {ranges}")
        if spec.vary_per_trainee:
            print(f"  per trainee: {', '.join(spec.vary_per_trainee)}")
        print(f"  quantity:  {spec.quantity.describe()}")
        truth = spec.truth(spec.generate())
        print(f"  truth in the default world: {truth:.4f} {spec.unit} (correct within ± {spec.tolerance:g})")
        if args.sample:
            report = quality_report(spec, sample=args.sample, estimate=not args.no_estimator)
            print(report.summary())
    return 0


def _exercises_make(args: argparse.Namespace) -> int:
    from kaigai_lib.exercises.spec import default_key_path, load_exercise, make_datasets, read_roster

    spec = load_exercise(args.exercise)
    trainees = read_roster(args.roster)
    out = Path(args.out)
    key_path = Path(args.key) if args.key else default_key_path(out)
    started = time.perf_counter()
    done = 0

    def progress(trainee: str) -> None:  # only on a terminal: logs and notebooks stay clean
        nonlocal done
        done += 1
        elapsed = time.perf_counter() - started
        estimate = f", about {elapsed / done * (len(trainees) - done):.0f} s left" if done < len(trainees) else ""
        print(f"\r  {done}/{len(trainees)} data sets{estimate}   ", end="\n" if done == len(trainees) else "",
              file=sys.stderr, flush=True)

    key = make_datasets(spec, trainees, out, key_path=key_path, progress=progress if sys.stderr.isatty() else None,
                        force=args.force, inputs=[args.roster])
    seconds = time.perf_counter() - started
    print(f"Exercise {spec.id}: {spec.quantity.describe()}")
    print(f"Wrote {len(key)} personal data sets (preset {spec.preset}, one seed per trainee) into {out}/ "
          f"in {seconds:.1f} s:")
    shown = list(key["trainee_id"])
    print("  " + ", ".join(f"{t}/" for t in shown[:5]) + (f", … ({len(shown) - 5} more)" if len(shown) > 5 else ""))
    print(f"  each with {', '.join(spec.tables)} and README.md")
    print(f"Answer key: {key_path} — keep it; hand out only the trainee folders.")
    answers = key["answer"]
    print(f"Answers range from {answers.min():.4f} to {answers.max():.4f} {spec.unit} "
          f"(tolerance ± {spec.tolerance:g}).")
    return 0


def _exercises_grade(args: argparse.Namespace) -> int:
    from kaigai_lib.data.outputs import check_output_file, write_file_atomically
    from kaigai_lib.exercises.spec import GRADES_WRITTEN_BY_US, grade, grade_summary, read_key, spreadsheet_safe

    answers = Path(args.answers)
    out = Path(args.out) if args.out else answers.with_name(f"{answers.stem}_graded.csv")
    # never the answers or the key (inputs), and --force replaces only a graded CSV: checked before grading
    options = {"inputs": [args.key, args.answers], "force": args.force, "written_by_us": GRADES_WRITTEN_BY_US}
    check_output_file(out, **options)
    key = read_key(args.key)
    grades = grade(key, args.answers)
    write_file_atomically(out, lambda tmp: spreadsheet_safe(grades).to_csv(tmp, index=False, lineterminator="\n"),
                          **options)
    print(grade_summary(grades))
    print(f"Grades: {out}")
    return 0


def _exercises_page(args: argparse.Namespace) -> int:
    from kaigai_lib.exercises.pages import write_exercise_page
    from kaigai_lib.teaching.static_widgets import LANGUAGES, widget_language

    language = args.language or widget_language()
    if language not in LANGUAGES:
        raise UserError(f"KAIGAI_LANGUAGE={language!r} is not a language of the pages ({', '.join(LANGUAGES)}): "
                        "set it to one of them, or give --language en|ja.")
    try:
        out = write_exercise_page(args.exercise, args.out, course=args.course, seed=args.seed, force=args.force,
                                  language=language)
    except FileExistsError as error:
        raise UserError(str(error)) from None
    edition = "course edition (no truth in the file; answers are submitted)" if args.course else "public edition"
    print(f"Wrote {out} ({out.stat().st_size / 1024:.0f} KB, {edition}): open it in any browser, no internet needed.")
    return 0
def _course_progress() -> bool:
    return sys.stderr.isatty()


def _course_made(made: object, what: str) -> None:
    print(f"{what} {made.trainees} trainee(s) in {made.seconds:.1f} s: hand-outs in {made.handouts}/ (a folder and "
          f"a zip per trainee), key in {made.key}/ — keep the key away from trainees.")
    if made.same_for_everyone:
        print(f"Note: the answer to {', '.join(made.same_for_everyone)} is the same for every trainee "
              "(the READMEs say so).")


def _course_make(args: argparse.Namespace) -> int:
    from kaigai_lib.exercises.classroom import make_course

    made = make_course(args.assignment, args.roster, args.out, args.key, engine=_engine(args),
                       workers=args.workers, scheduler=args.scheduler, force=args.force,
                       progress=_course_progress(), replace_key=args.replace_key)
    _course_made(made, "Made hand-outs for")
    return 0


def _course_add(args: argparse.Namespace) -> int:
    from kaigai_lib.exercises.classroom import add_trainees

    made = add_trainees(args.key, args.roster, args.out, engine=_engine(args), workers=args.workers,
                        scheduler=args.scheduler, progress=_course_progress())
    _course_made(made, "Added")
    return 0


def _course_grade(args: argparse.Namespace) -> int:
    from kaigai_lib.exercises.classroom import grade_course, parse_datetime

    as_of = parse_datetime(args.as_of, "--as-of") if args.as_of is not None else None
    result = grade_course(args.key, args.answers, args.out, force=args.force, full_feedback=args.full_feedback,
                          now=as_of)
    book, detail = result["gradebook"], result["detail"]
    total = next(c for c in book.columns if c.startswith("total"))
    print(f"Graded {int((detail['status'] == 'graded').sum())} answer(s) of {len(book)} trainee(s): mean "
          f"{book[total].mean():.2f} {total.removeprefix('total ')}; {int(book['late'].sum())} late.")
    attention = detail.loc[~detail["status"].isin(["graded"])]
    for message in attention["feedback"]:
        print(f"  ! {message}")
    if len(result["copy_check"]):
        print(f"  ! {len(result['copy_check'])} answer(s) are closer to a classmate's truth than to their own: "
              "see copy_check.csv")
    print(f"Gradebook (one row per trainee, for Moodle/Canvas): {result['folder']}/gradebook.csv; feedback/, "
          "detail.csv, statistics.csv, answers_vs_truth.png beside it.")
    return 0


def _engine(args: argparse.Namespace) -> str:
    return "dask" if args.scheduler or args.engine == "dask" else args.engine




def _generate(args: argparse.Namespace) -> int:
    """Write firms, establishments and foreign_demand (Parquet and CSV), plus the world's truth."""
    import json

    from kaigai_lib.data.outputs import OutputFolder
    from kaigai_lib.replication.replicate import WORLD_FILE
    from kaigai_lib.world.synthetic import generate

    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: give a whole number ≥ 0.")
    folder = OutputFolder(args.out, command="generate", force=args.force)  # refuses an unsafe --out up front
    started = time.perf_counter()
    with folder:
        world = generate(preset=args.preset, seed=args.seed)
        staging = folder.path
        tables = {"firms": world.firms, "establishments": world.establishments,
                  "foreign_demand": world.foreign_demand}
        for name, table in tables.items():
            table.to_parquet(staging / f"{name}.parquet", index=False)
            table.to_csv(staging / f"{name}.csv", index=False)
        truth_dir = staging / "truth"
        truth_dir.mkdir()
        world.truth.effects.to_csv(truth_dir / "effects.csv", index=False)
        world.truth.production.to_csv(truth_dir / "production.csv", index=False)
        world.truth.support.to_csv(truth_dir / "support.csv", index=False)  # the support programme's effects
        (truth_dir / "spillover.json").write_text(json.dumps(world.truth.spillover, indent=2), encoding="utf-8")
        (staging / WORLD_FILE).write_text(json.dumps(
            {"generator": "kaigai_lib.world.synthetic.generate", "preset": args.preset, "seed": args.seed,
             "truth": "truth/"}, indent=2), encoding="utf-8")
        out = folder.commit()
    print(f"Wrote a synthetic world (preset {args.preset}, seed {args.seed}) to {args.out}/ in "
          f"{time.perf_counter() - started:.1f} s: {len(world.firms):,} firm-years, "
          f"{len(world.establishments):,} establishment-years; truth in {out}/truth/.")
    return 0


CHECK_PROBLEMS = 1  # check-disclosure: the folder was checked and fails


def _check_disclosure(args: argparse.Namespace) -> int:
    """Exit 0: passes; 1: problems (listed); 2: could not check (no folder, unreadable manifest or config)."""
    from kaigai_lib.data.disclosure import DisclosureRules, check_results
    from kaigai_lib.data.outputs import parked_result_note
    from kaigai_lib.replication.replicate import ReplicationError, read_config

    folder = Path(args.folder)
    if not folder.is_dir() or folder.is_symlink():
        raise UserError(f"{folder} is not a folder (give the results folder written by kaigai replicate); "
                        f"nothing was checked. {parked_result_note(folder)}".rstrip())
    try:  # the secure room's rules: the config given here, or the defaults — never rules found in the folder
        rules = read_config(args.config).disclosure if args.config else DisclosureRules()
    except ReplicationError as error:
        raise UserError(f"--config: {error}; nothing was checked.") from error
    try:
        report = check_results(folder, rules)
    except Exception as error:  # a file the checks could not read: never a traceback, and never a pass
        raise UserError(f"{folder}: could not check ({type(error).__name__}: {error}); nothing was "
                        "checked.") from error
    if report.cannot_check:
        raise UserError(f"{report.cannot_check} Nothing was checked.")
    source = f"the rules of {args.config}" if args.config else "the default rules"
    if report.problems:
        print(f"{folder}: {len(report.problems)} disclosure problem(s) against {source} ({rules.describe()}):",
              file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return CHECK_PROBLEMS
    print(f"{folder}: every table passes disclosure control against {source} ({report.files} files; "
          "rules written in the folder are not used). The figures and the free text pass every check a program "
          "can make, but a human must look at each item below before it leaves the secure room:")
    for review in report.reviews:
        print(f"  review by the output checker: {review}")
    return 0


def _replicate(args: argparse.Namespace) -> int:
    from kaigai_lib.replication.replicate import replicate

    replicate(args.firms, args.establishments, args.foreign_demand, args.out, args.config, force=args.force,
              progress=sys.stderr.isatty())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kaigai", description="kaigai: causal evaluation of firms' overseas expansion (teaching kit).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_exercises_commands(commands)
    _add_course_commands(commands)
    _add_data_commands(commands)
    return parser


def _add_exercises_commands(commands: Any) -> None:
    exercises = commands.add_parser("exercises", help="instructor-set exercises: check, hand out, grade",
                                    description="Instructor-set exercises (see book/instructors.md).")
    actions = exercises.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = actions.add_parser("list", help="list the example exercises shipped with kaigai_lib")
    p.set_defaults(func=_exercises_list)

    p = actions.add_parser("check", help="validate exercise files; truth, estimator spread, tolerance, warnings")
    p.add_argument("files", nargs="+", metavar="FILE", help="exercise file (.yml/.yaml/.toml) or shipped name")
    p.add_argument("--sample", type=int, default=5, metavar="N",
                   help="trainee worlds to draw for the quality report (0: skip it; default 5)")
    p.add_argument("--no-estimator", action="store_true", help="skip running the estimator on each world")
    p.set_defaults(func=_exercises_check)

    p = actions.add_parser("make", help="write each trainee's own data set and the answer key")
    p.add_argument("--exercise", required=True, metavar="FILE", help="exercise file or shipped name")
    p.add_argument("--roster", required=True, metavar="CSV", help="CSV with a trainee_id column")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the trainees' data sets")
    p.add_argument("--key", metavar="CSV", help="the answer key, outside DIR (default DIR_key.csv beside DIR; "
                   "inside DIR it is refused)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier class and key written by this command (nothing else)")
    p.set_defaults(func=_exercises_make)

    p = actions.add_parser("grade", help="grade a class's answers against the answer key")
    p.add_argument("--key", required=True, metavar="CSV", help="answer key written by `make`")
    p.add_argument("--answers", required=True, metavar="CSV", help="CSV with trainee_id, answer [, exercise_id]")
    p.add_argument("--out", metavar="CSV", help="graded CSV (default ANSWERS_graded.csv next to the answers)")
    p.add_argument("--force", action="store_true", help="replace an existing graded CSV")
    p.set_defaults(func=_exercises_grade)

    p = actions.add_parser("page", help="write one self-contained offline HTML page with the exercise's widget")
    p.add_argument("exercise", metavar="FILE", help="exercise file (.yml/.yaml/.toml) or shipped name")
    p.add_argument("--out", required=True, metavar="HTML", help="the page to write (e.g. exercise.html)")
    p.add_argument("--course", action="store_true",
                   help="course edition: no truth or answer key in the page; it says how to submit instead")
    p.add_argument("--seed", type=int, default=None, help="the world's seed (default: the file's)")
    p.add_argument("--language", choices=["en", "ja"], default=None,  # static_widgets.LANGUAGES (a light parser)
                   help="the page's language: its intro, widget and the exercise file's own ja: texts "
                        "(default: KAIGAI_LANGUAGE, else en)")
    p.add_argument("--force", action="store_true", help="accepted for symmetry: a page this command wrote is "
                   "replaced anyway, any other file never")
    p.set_defaults(func=_exercises_page)


def _engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=["processes", "serial", "dask"], default="processes",
                   help="how trainees are made: worker processes on this machine (default), one by one, or Dask")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (default: the CPU count)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask scheduler (tcp://host:8786); --engine dask without it starts a local cluster")


def _add_course_commands(commands: Any) -> None:
    course = commands.add_parser("course", help="assignments: hand-outs, late trainees, gradebook",
                                 description="Run a course (see book/instructors.md).")
    actions = course.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = actions.add_parser("make", help="hand-outs for a roster, and the answer key in a separate folder")
    p.add_argument("assignment", metavar="ASSIGNMENT", help="assignment file (YAML)")
    p.add_argument("--roster", required=True, metavar="CSV", help="trainee_id[,name][,email] (UTF-8 or cp932)")
    p.add_argument("--out", required=True, metavar="HANDOUTS", help="new folder for the trainees' hand-outs")
    p.add_argument("--key", required=True, metavar="KEYDIR", help="new folder for the key (not inside HANDOUTS)")
    p.add_argument("--force", action="store_true",
                   help="replace earlier results of this command (the key's salt is kept)")
    p.add_argument("--replace-key", action="store_true",
                   help="with --force: replace a key that lists late trainees or other hand-outs, with a new salt "
                        "(the hand-outs it lists can no longer be graded)")
    _engine_options(p)
    p.set_defaults(func=_course_make)

    p = actions.add_parser("add", help="hand-outs for late trainees (others unchanged); the key gains them")
    p.add_argument("--key", required=True, metavar="KEYDIR", help="the key folder of `course make`")
    p.add_argument("--roster", required=True, metavar="CSV", help="the roster with the late trainees added")
    p.add_argument("--out", required=True, metavar="HANDOUTS", help="new folder for the late trainees' hand-outs")
    _engine_options(p)
    p.set_defaults(func=_course_add)

    p = actions.add_parser("grade", help="gradebook, feedback, statistics and copy check")
    p.add_argument("--key", required=True, metavar="KEYDIR")
    p.add_argument("--answers", required=True, metavar="CSV",
                   help="trainee_id, question, answer [, submitted_at as 2026-12-01T17:00+09:00]")
    p.add_argument("--out", required=True, metavar="DIR", help="new folder for the grades")
    p.add_argument("--force", action="store_true", help="replace an earlier result of this command")
    p.add_argument("--full-feedback", action="store_true",
                   help="give trainees the full diagnosis before the deadline too (by default, before it, their "
                        "feedback says only how far a wrong answer is, not which way or why)")
    p.add_argument("--as-of", metavar="DATETIME",
                   help="grade as at this time, e.g. 2026-12-05T09:00+09:00 (default: now); it decides only "
                        "whether the deadline has passed for the feedback (late answers follow submitted_at)")
    p.set_defaults(func=_course_grade)


def _add_data_commands(commands: Any) -> None:
    """generate (a synthetic world), replicate (the pipeline on real files) and check-disclosure."""
    p = commands.add_parser("generate", help="write a synthetic world in the input schema (Parquet and CSV)")
    p.add_argument("--preset", default="book", choices=["tiny", "book", "national"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=_generate)

    p = commands.add_parser("replicate", help="run the white paper's pipeline on your files (outputs pass "
                                              "disclosure control)")
    p.add_argument("--firms", required=True, metavar="FILE", help="firm panel (CSV or Parquet)")
    p.add_argument("--establishments", required=True, metavar="FILE", help="establishment panel (CSV or Parquet)")
    p.add_argument("--foreign-demand", required=True, metavar="FILE", help="foreign-demand DI by year")
    p.add_argument("--config", metavar="TOML", help="column mapping, disclosure rules, analysis settings")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=_replicate)

    p = commands.add_parser("check-disclosure", help="re-check a results folder against the secure room's "
                                                     "disclosure rules (exit 0 passes, 1 problems, 2 cannot check)")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--config", metavar="TOML", help="the secure room's replicate.toml whose [disclosure] rules "
                                                    "apply (default: the built-in defaults)")
    p.set_defaults(func=_check_disclosure)


def _stopped(signum: int, args: argparse.Namespace | None = None) -> int:
    """One line for a run stopped by a signal; the exit status is the shell's 128 + signal number. A command
    that only reads says so (it has no staging folder to talk about)."""
    import signal

    name = signal.Signals(signum).name
    how = "Ctrl-C" if signum == signal.SIGINT else name
    if getattr(args, "func", None) in (_check_disclosure, _exercises_list, _exercises_check):
        print(f"kaigai: stopped by {how}; this command only reads, so nothing was written or changed.",
              file=sys.stderr)
        return 128 + signum
    print(f"kaigai: stopped by {how}; nothing half-written was left (the staging folder is removed and --out is "
          "as before, or complete if the signal came during the final move).", file=sys.stderr)
    return 128 + signum


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kaigai`` command with ``argv`` (default: the process's arguments); return the exit status.

    Every error becomes one line on stderr and exit status 2 (``check-disclosure``: 1 = problems found);
    Ctrl-C, SIGTERM and SIGHUP stop the command with 128 + the signal number, after the clean-up. A traceback
    is shown only for a bug in kaigai itself and only with ``KAIGAI_DEBUG=1``.
    """
    import os
    import signal

    from kaigai_lib.data.outputs import Interrupted, signals_as_exceptions

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # usage errors and --help: argparse has printed the message
        return int(exit_.code or 0)
    try:
        with signals_as_exceptions():
            return args.func(args)
    except KeyboardInterrupt:
        return _stopped(signal.SIGINT, args)
    except Interrupted as stop:
        return _stopped(stop.signum, args)
    except MemoryError:
        print("kaigai: error: out of memory; close other programs, or run on a machine with more memory "
              "(the national-scale run needs about 8 GB).", file=sys.stderr)
        return USER_ERROR
    except (UserError, ValueError, OSError) as error:  # OutputError, ReplicationError, ExerciseError are ValueErrors
        print(f"kaigai: error: {_describe(error)}", file=sys.stderr)
        return USER_ERROR
    except Exception as error:  # a bug in kaigai: still one line, and how to see more
        if os.environ.get("KAIGAI_DEBUG"):
            raise
        print(f"kaigai: unexpected error ({type(error).__name__}: {error}). This is a bug in kaigai; please "
              "report it with the command you ran (set KAIGAI_DEBUG=1 to see the traceback).", file=sys.stderr)
        return USER_ERROR


def _describe(error: BaseException) -> str:
    """The error's message; an OS error also names its file (``str(OSError)`` alone can be bare)."""
    if isinstance(error, UnicodeDecodeError):
        return (f"a file is not UTF-8 ({error}); save it as UTF-8 (e.g. iconv -f CP932 -t UTF-8 in > out) and "
                "run again.")
    if isinstance(error, OSError) and error.filename and str(error.filename) not in str(error):
        return f"{error.filename}: {error.strerror or error}"
    return str(error)


if __name__ == "__main__":
    sys.exit(main())
