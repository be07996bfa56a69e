"""No file is ever lost or half-written (issue 13, §2): ``--out`` checks, ``--force``, atomic results, signals,
a lock against two runs, files added during a run.

The subprocess tests run ``kaigai replicate`` on the tiny world and stop it with SIGTERM, SIGHUP and SIGINT
mid-run, and start two runs into the same ``--out``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kaigai_lib.data.outputs import (
    OUTPUT_MARKER,
    STAGING_MARKER,
    Interrupted,
    OutputError,
    OutputFolder,
    check_output_path,
    read_marker,
    write_file_atomically,
)
from kaigai_lib.replication.cli import USER_ERROR, main

TABLES = ("firms", "establishments", "foreign_demand")


@pytest.fixture(scope="module")
def world(tiny_inputs: Path) -> Path:
    """The session's tiny world written by `kaigai generate` (tests/conftest.py); tests copy it before editing."""
    return tiny_inputs


def snapshot(folder: Path) -> dict[str, str]:
    state = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            state[rel] = "link -> " + os.readlink(path)
        else:
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return state


def earlier_result(out: Path, command: str = "replicate", files: dict[str, str] | None = None) -> Path:
    """A folder as an earlier ``kaigai COMMAND`` left it (marker included)."""
    with OutputFolder(out, command=command) as folder:
        for name, content in (files or {"effects.csv": "estimate\n1.0\n"}).items():
            (folder.path / name).parent.mkdir(parents=True, exist_ok=True)
            (folder.path / name).write_text(content)
        folder.commit()
    return out


def replicate_argv(inputs: Path, out: str | Path, *extra: str) -> list[str]:
    return ["replicate", "--firms", str(inputs / "firms.csv"), "--establishments", str(inputs / "establishments.csv"),
            "--foreign-demand", str(inputs / "foreign_demand.csv"), "--out", str(out), *extra]


# --------------------------------------------------------------------------- refused --out, through the CLI

def _with_earlier_result(files: dict[str, str] | None = None, command: str = "replicate",
                         then: Callable[[Path], None] | None = None, *extra: str) -> Callable[[Path, Path], list[str]]:
    """A case whose --out is an earlier result (changed by ``then``), replicated into with ``extra`` options."""
    def setup(root: Path, inputs: Path) -> list[str]:
        earlier_result(root / "out", files=files, command=command)
        if then is not None:
            then(root)
        return replicate_argv(inputs, root / "out", *extra)
    return setup


def _ancestor_of_an_input(root: Path, inputs: Path) -> list[str]:
    os.chdir(root.parent)  # so that root is not the current folder, only the inputs' ancestor
    return replicate_argv(inputs, root, "--force")


def _the_config_file(root: Path, inputs: Path) -> list[str]:
    (root / "replicate.toml").write_text("[analysis]\nradius_km = 5.0\n")
    return replicate_argv(inputs, root / "replicate.toml", "--config", str(root / "replicate.toml"))


def _the_folder_holding_the_config(root: Path, inputs: Path) -> list[str]:
    (root / "conf").mkdir()
    (root / "conf" / "replicate.toml").write_text("[analysis]\nradius_km = 5.0\n")
    return replicate_argv(inputs, root / "conf", "--config", str(root / "conf" / "replicate.toml"), "--force")


def _link_to_an_input_in_a_result(root: Path, inputs: Path) -> list[str]:
    earlier_result(root / "old", files={"firms.csv": (inputs / "firms.csv").read_text()})
    os.symlink(root / "old" / "firms.csv", root / "link.csv")
    argv = replicate_argv(inputs, root / "old", "--force")
    argv[argv.index("--firms") + 1] = str(root / "link.csv")
    return argv


def _symlink_to_empty_folder(root: Path, inputs: Path) -> list[str]:
    (root / "real").mkdir()
    os.symlink(root / "real", root / "out")
    return replicate_argv(inputs, root / "out")


def _symlink_to_earlier_result(root: Path, inputs: Path) -> list[str]:
    earlier_result(root / "real")
    os.symlink(root / "real", root / "out")
    return replicate_argv(inputs, root / "out", "--force")


def _write(path: str, text: str) -> Callable[[Path], None]:
    return lambda root: (root / path).write_text(text)


def _a_folder_kaigai_did_not_write(root: Path, inputs: Path) -> list[str]:
    (root / "out").mkdir()
    (root / "out" / "thesis.tex").write_text("three years of work")
    return replicate_argv(inputs, root / "out", "--force")


def _result_replaced_by_a_link(root: Path) -> None:
    (root / "out" / "effects.csv").unlink()
    (root / "precious.csv").write_text("precious")
    os.symlink(root / "precious.csv", root / "out" / "effects.csv")


def _forged_marker(root: Path, inputs: Path) -> list[str]:
    (root / "out").mkdir()
    (root / "out" / OUTPUT_MARKER).write_text('{"written_by": "someone", "command": "replicate", "files": []}')
    (root / "out" / "data.csv").write_text("x")
    return replicate_argv(inputs, root / "out", "--force")


def _generate_over_a_replicate_result(root: Path, inputs: Path) -> list[str]:
    earlier_result(root / "out")
    return ["generate", "--preset", "tiny", "--out", str(root / "out"), "--force"]


def _generate_into_a_file(root: Path, inputs: Path) -> list[str]:
    (root / "world").write_text("x")
    return ["generate", "--preset", "tiny", "--out", str(root / "world")]


def _file_then(path: str, out: str, *extra: str) -> Callable[[Path, Path], list[str]]:
    def setup(root: Path, inputs: Path) -> list[str]:
        (root / path).write_text("my notes")
        return replicate_argv(inputs, root / out, *extra)
    return setup


# case -> (builds the situation under root and returns the command line, part of the expected message)
CASES: dict[str, tuple[Callable[[Path, Path], list[str]], str]] = {
    "dot": (lambda root, inputs: replicate_argv(inputs, "."), "is the current folder"),
    "empty string": (lambda root, inputs: replicate_argv(inputs, ""), "is the current folder"),
    "the current folder by its path": (lambda root, inputs: replicate_argv(inputs, root),
                                       "is the current folder or contains it"),
    "an ancestor of the current folder": (lambda root, inputs: replicate_argv(inputs, ".."),
                                          "is the current folder or contains it"),
    "an input file": (lambda root, inputs: replicate_argv(inputs, inputs / "firms.csv"), "is an existing file"),
    "the input folder": (lambda root, inputs: replicate_argv(inputs, inputs, "--force"),
                         "is, or contains, the input {inputs}/firms.csv"),
    "an ancestor of an input": (_ancestor_of_an_input, "is, or contains, the input {inputs}/firms.csv"),
    "the config file": (_the_config_file, "is an existing file"),
    "the folder holding the config": (_the_folder_holding_the_config, "is, or contains, the input"),
    "a link to an input inside an earlier result": (_link_to_an_input_in_a_result, "is, or contains, the input"),
    "a symlink to an empty folder": (_symlink_to_empty_folder, "is a symbolic link"),
    "a symlink to an earlier result": (_symlink_to_earlier_result, "is a symbolic link"),
    "a file": (_file_then("out", "out", "--force"), "is an existing file"),
    "a missing parent": (lambda root, inputs: replicate_argv(inputs, root / "no" / "out"), "its parent folder"),
    "a parent that is a file": (_file_then("notes.txt", "notes.txt/out"), "is a file, not a folder"),
    "a non-empty folder without --force": (_with_earlier_result(),
                                           "is not empty: choose a new folder, or add --force"),
    "--force on a folder kaigai did not write": (_a_folder_kaigai_did_not_write,
                                                 "was not written by 'kaigai replicate'"),
    "--force on another command's result": (_with_earlier_result(None, "generate", None, "--force"),
                                            "was not written by 'kaigai replicate'"),
    "--force with a file added to an earlier result": (
        _with_earlier_result(None, "replicate", _write("out/notes.md", "my comments on the results"), "--force"),
        "holds files kaigai did not write (notes.md)"),
    "--force with a file added in a sub-folder": (
        _with_earlier_result({"figs/a.png": "png", "effects.csv": "x"}, "replicate",
                             _write("out/figs/mine.png", "mine"), "--force"),
        "holds files kaigai did not write (figs/mine.png)"),
    "--force with an edited result": (
        _with_earlier_result(None, "replicate", _write("out/effects.csv", "estimate\n1.0  # checked by hand\n"),
                             "--force"),
        "changed since kaigai wrote them (effects.csv)"),
    "--force with a result replaced by a link": (
        _with_earlier_result(None, "replicate", _result_replaced_by_a_link, "--force"),
        "changed since kaigai wrote them (effects.csv)"),
    "--force with a forged marker": (_forged_marker, "was not written by 'kaigai replicate'"),
    "generate into the current folder": (lambda root, inputs: ["generate", "--preset", "tiny", "--out", "."],
                                         "is the current folder"),
    "generate --force over a replicate result": (_generate_over_a_replicate_result,
                                                 "was not written by 'kaigai generate'"),
    "generate into a file": (_generate_into_a_file, "is an existing file"),
}


def _case_setup(case: str, root: Path, world: Path) -> tuple[list[str], str]:
    """Build the situation of one refused --out under ``root``; return (argv, expected message part)."""
    if case not in CASES:
        raise AssertionError(case)
    setup, expected = CASES[case]
    inputs = root / "inputs"
    return setup(root, inputs), expected.replace("{inputs}", str(inputs))


REFUSED = list(CASES)


@pytest.mark.parametrize("case", REFUSED)
def test_unsafe_out_is_refused_before_any_work(case: str, world: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    root = tmp_path / "root"
    root.mkdir()
    shutil.copytree(world, root / "inputs")
    monkeypatch.chdir(root)
    argv, expected = _case_setup(case, root, world)
    before = snapshot(tmp_path)
    started = time.perf_counter()
    status = main(argv)
    err = capsys.readouterr().err
    assert status == USER_ERROR, err
    assert expected in err, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert snapshot(tmp_path) == before  # nothing written, deleted, locked or staged
    assert time.perf_counter() - started < 5, "refused only after reading the inputs"


# --------------------------------------------------------------------------- OutputFolder itself

def test_failure_inside_leaves_out_and_its_parent_as_they_were(tmp_path: Path) -> None:
    out = earlier_result(tmp_path / "out")
    before = snapshot(tmp_path)
    with pytest.raises(RuntimeError), OutputFolder(out, command="replicate", force=True) as folder:
        (folder.path / "effects.csv").write_text("half")
        raise RuntimeError("a stage failed")
    assert snapshot(tmp_path) == before


STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@pytest.fixture
def stoppable() -> Iterator[None]:
    """The stopping signals at their default disposition. A test run under ``nohup`` (SIGHUP ignored) or started
    in the background by a shell without job control (SIGINT ignored) inherits ignored signals, which kaigai
    rightly leaves ignored (``test_a_signal_ignored_by_the_user_stays_ignored``): the tests that send them
    start from the defaults a user's terminal gives."""
    previous = {signum: signal.getsignal(signum) for signum in STOPPING_SIGNALS}
    for signum in STOPPING_SIGNALS:
        if previous[signum] is signal.SIG_IGN:
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(signum: int, tmp_path: Path, stoppable: None) -> None:
    out = earlier_result(tmp_path / "out")
    before, handler = snapshot(tmp_path), signal.getsignal(signum)
    with pytest.raises(Interrupted) as stop, OutputFolder(out, command="replicate", force=True) as folder:
        (folder.path / "effects.csv").write_text("half")
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler raises at once; never reached
    assert stop.value.signum == signum
    assert snapshot(tmp_path) == before
    assert signal.getsignal(signum) is handler  # handlers restored


def test_ctrl_c_cleans_up(tmp_path: Path, stoppable: None) -> None:
    before = snapshot(tmp_path)
    with pytest.raises(KeyboardInterrupt), OutputFolder(tmp_path / "new", command="generate") as folder:
        (folder.path / "firms.csv").write_text("half")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert snapshot(tmp_path) == before


def test_a_signal_ignored_by_the_user_stays_ignored(tmp_path: Path) -> None:
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with OutputFolder(tmp_path / "out", command="generate") as folder:
            os.kill(os.getpid(), signal.SIGHUP)
            (folder.path / "firms.csv").write_text("complete")
            folder.commit()
        assert (tmp_path / "out" / "firms.csv").read_text() == "complete"
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_force_replaces_an_earlier_result_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    out = earlier_result(tmp_path / "out", files={"old.csv": "old", "figs/a.png": "png"})
    with OutputFolder(out, command="replicate", force=True) as folder:
        (folder.path / "effects.csv").write_text("new")
        folder.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "effects.csv"]
    marker = read_marker(out)
    assert marker is not None and marker["command"] == "replicate" and marker["files"] == ["effects.csv"]
    assert marker["sha256"]["effects.csv"] == hashlib.sha256(b"new").hexdigest()


@pytest.mark.parametrize("where", ["top", "sub-folder", "empty folder made by the user"])
def test_a_file_put_into_out_during_the_run_is_not_deleted(where: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    if where == "empty folder made by the user":
        out.mkdir()
    else:
        earlier_result(out, files={"effects.csv": "old", "figs/a.png": "png"})
    with pytest.raises(OutputError, match="changed during the run") as error, \
            OutputFolder(out, command="replicate", force=True) as folder:
        (folder.path / "effects.csv").write_text("new")
        (out / ("figs/mine.png" if where == "sub-folder" else "mine.txt")).write_text("someone's file")
        folder.commit()
    assert "nothing was replaced" in str(error.value)
    assert (out / ("figs/mine.png" if where == "sub-folder" else "mine.txt")).read_text() == "someone's file"
    if where != "empty folder made by the user":
        assert (out / "effects.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # staging and lock gone


def test_out_replaced_by_a_file_during_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="replaced by a file or link"), \
            OutputFolder(out, command="generate") as folder:
        (folder.path / "firms.csv").write_text("new")
        out.write_text("someone's file")
        folder.commit()
    assert out.read_text() == "someone's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_second_run_into_the_same_out_gets_the_lock_message(tmp_path: Path) -> None:
    with OutputFolder(tmp_path / "out", command="generate") as first:
        with pytest.raises(OutputError, match=r"is being written by another kaigai run \(pid \d+"):
            OutputFolder(tmp_path / "out", command="generate").__enter__()
        (first.path / "firms.csv").write_text("first")
        first.commit()
    with OutputFolder(tmp_path / "out", command="generate", force=True) as second:  # lock released
        (second.path / "firms.csv").write_text("second")
        second.commit()
    assert (tmp_path / "out" / "firms.csv").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_killed_run_is_tidied_by_the_next_one(tmp_path: Path) -> None:
    out = earlier_result(tmp_path / "out")
    # what SIGKILL leaves: a staging folder, and (killed between the two moves) the earlier result parked
    (tmp_path / ".out.kaigai-staging-abc123").mkdir()
    (tmp_path / ".out.kaigai-staging-abc123" / "effects.csv").write_text("half")
    # the marker every staging folder holds until its final move (a folder without it is never deleted)
    (tmp_path / ".out.kaigai-staging-abc123" / STAGING_MARKER).write_text(
        json.dumps({"written_by": "kaigai", "state": "unfinished"}))
    (tmp_path / ".out.kaigai-old-def456").mkdir()
    os.rename(out, tmp_path / ".out.kaigai-old-def456" / "previous")
    (tmp_path / ".out.kaigai-lock").write_text("pid 1")
    (tmp_path / ".other.kaigai-staging-x").mkdir()  # another folder's: not ours to touch
    with OutputFolder(out, command="replicate", force=True):
        assert (out / "effects.csv").read_text() == "estimate\n1.0\n"  # the earlier result is back
        assert not (tmp_path / ".out.kaigai-staging-abc123").exists()
        assert not (tmp_path / ".out.kaigai-old-def456").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.kaigai-staging-x", "out"]


def test_check_output_path_returns_the_resolved_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "via")
    assert check_output_path("via/out", command="generate") == (tmp_path / "real" / "out").resolve()
    assert check_output_path("results/", command="generate") == tmp_path.resolve() / "results"


@pytest.mark.parametrize(("case", "expected"), [
    ("a folder", "is a folder"), ("a link", "is a symbolic link"), ("an input", "is also an input"),
    ("exists", "already exists"), ("missing folder", "does not exist"),
])
def test_write_file_atomically_refuses(case: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / "answers.csv").write_text("trainee_id,answer\n")
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path / "answers.csv", tmp_path / "link.csv")
    (tmp_path / "grades.csv").write_text("old grades")
    target = {"a folder": "dir", "a link": "link.csv", "an input": "answers.csv", "exists": "grades.csv",
              "missing folder": "no/grades.csv"}[case]
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match=expected):
        write_file_atomically(tmp_path / target, lambda p: p.write_text("x"), inputs=[tmp_path / "answers.csv"])
    assert snapshot(tmp_path) == before


def test_write_file_atomically_leaves_no_half_file(tmp_path: Path) -> None:
    (tmp_path / "grades.csv").write_text("old grades")

    def fails(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_file_atomically(tmp_path / "grades.csv", fails, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]
    assert (tmp_path / "grades.csv").read_text() == "old grades"
    write_file_atomically(tmp_path / "grades.csv", lambda p: p.write_text("new"), force=True)
    assert (tmp_path / "grades.csv").read_text() == "new"


# --------------------------------------------------------------------------- real processes

def _start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("KAIGAI_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "kaigai_lib", *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_child_stoppable)


def _child_stoppable() -> None:
    """In the child before exec: SIGHUP and SIGTERM at their defaults, SIGINT too (Python then turns it into
    KeyboardInterrupt), whatever the test run inherited (the ``stoppable`` fixture)."""
    for signum in STOPPING_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


def _wait_for(condition: object, process: subprocess.Popen[str], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if process.poll() is not None:
            raise AssertionError(f"kaigai ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _staging(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if ".kaigai-staging-" in p.name]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_replicate_stopped_mid_run_exits_non_zero_and_leaves_out_untouched(signum: int, world: Path,
                                                                           tmp_path: Path) -> None:
    out = earlier_result(tmp_path / "out")
    before = snapshot(tmp_path)
    process = _start(replicate_argv(world, out, "--force"), tmp_path)
    # the run log appears in the staging folder once every input is validated: the stages are running
    _wait_for(lambda: any((s / "run.log").exists() for s in _staging(tmp_path)), process, "the first stage")
    # at once: a tiny world's stages can all finish within half a second (CI saw exit 0 after a 0.5 s wait)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, (stdout, stderr)
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    assert stderr.strip().splitlines()[-1].startswith(f"kaigai: stopped by {name};"), stderr
    assert "Traceback" not in stderr
    assert snapshot(tmp_path) == before  # no staging folder, no lock, --out as it was


def test_sigkill_leftovers_are_tidied_by_the_next_run(world: Path, tmp_path: Path) -> None:
    out = earlier_result(tmp_path / "out")
    before = snapshot(tmp_path)
    process = _start(replicate_argv(world, out, "--force"), tmp_path)
    _wait_for(lambda: any((s / "run.log").exists() for s in _staging(tmp_path)), process, "the first stage")
    process.kill()
    process.communicate()
    left = _staging(tmp_path)
    assert left  # SIGKILL cannot be caught: the staging folder stays …
    with OutputFolder(out, command="replicate", force=True) as folder:
        assert _staging(tmp_path) == [folder.path]  # … until the next run, under the lock, removes it
    assert snapshot(tmp_path) == before


def test_two_runs_into_the_same_out_exactly_one_succeeds(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _start(replicate_argv(world, out), tmp_path)
    _wait_for(lambda: (tmp_path / ".out.kaigai-lock").exists(), first, "the first run's lock")
    second = _start(replicate_argv(world, out, "--force"), tmp_path)
    _, second_err = second.communicate(timeout=120)
    assert second.returncode == USER_ERROR, second_err
    assert f"--out {out} is being written by another kaigai run (pid {first.pid}" in second_err, second_err
    assert "Traceback" not in second_err
    first_out, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert "kaigai replicate: wrote" in first_out
    marker = read_marker(out)
    assert marker is not None and marker["command"] == "replicate" and "effects.csv" in marker["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging, no lock
    assert main(["check-disclosure", str(out)]) == 0


def test_a_link_planted_as_the_lock_file_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("precious")
    os.symlink(tmp_path / "precious.txt", tmp_path / ".out.kaigai-lock")
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match="cannot use the lock file"):
        OutputFolder(tmp_path / "out", command="generate").__enter__()
    assert snapshot(tmp_path) == before and (tmp_path / "precious.txt").read_text() == "precious"
