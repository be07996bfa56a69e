"""Output folders and files that never lose anything: the one way every ``kaigai`` command writes results.

Rules (DESIGN.md, "Never lose a file"):

- an ``--out`` is checked before any work starts: never ``.``, the current folder or one of its ancestors,
  an input file or folder or an ancestor of one, a symlink, an existing file, or a folder whose parent is
  missing;
- an existing, non-empty ``--out`` is replaced only with ``force=True`` and only if its marker
  (:data:`OUTPUT_MARKER`) says kaigai wrote it *and* it holds nothing but the files that marker lists, each
  unchanged (sha256); a file added or changed in ``--out`` during the run stops the final move instead;
- results are written into a staging folder beside ``--out`` and moved into place in one rename at the end;
  an error, Ctrl-C, SIGTERM or SIGHUP removes the staging folder and leaves ``--out`` as it was (the moves
  and the clean-up themselves run with those signals held, so they are never cut in half; a signal that
  was ignored when the command started, e.g. SIGHUP under ``nohup``, stays ignored);
- one run at a time per ``--out`` (a lock beside it); a second run is refused with a clear message. What a
  killed run (SIGKILL, or a native library's abort) left beside ``--out`` is tidied by the next run under the
  lock: a staging folder only while it holds its :data:`STAGING_MARKER` (it says the folder is unfinished and
  never disclosure-checked), a parked earlier result only if it is still kaigai's, unchanged and with nothing
  added; anything else is left where it is.

Usage::

    with OutputFolder(out, command="replicate", inputs=[firms_path], force=force) as staging:
        (staging.path / "effects.csv").write_text(...)
        staging.commit()
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import glob
import hashlib
import json
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

OUTPUT_MARKER = ".kaigai-output.json"
# written into a staging folder when it is made, removed just before the final move: a folder beside --out that
# still holds it is an unfinished run's (killed, or aborted by a native library), which the next run may remove;
# a folder without it was not made by kaigai (or is a finished result) and is never deleted
STAGING_MARKER = ".kaigai-unfinished.json"


class OutputError(ValueError):
    """A refused output path or a failed move into place; the message says what to do.

    Examples
    --------
    A folder that kaigai did not write is never replaced:

    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> from kaigai_lib import OutputError, OutputFolder
    >>> parent = Path(tempfile.mkdtemp())
    >>> (parent / "mine").mkdir()
    >>> _ = (parent / "mine" / "notes.txt").write_text("my own file")
    >>> try:
    ...     OutputFolder(parent / "mine", command="example")
    ... except OutputError as error:
    ...     print(str(error).replace(str(parent.resolve()), "<parent>"))
    --out <parent>/mine is not empty: choose a new folder, or add --force to replace an earlier result of 'kaigai
    example'.
    >>> shutil.rmtree(parent)
    """


class Interrupted(BaseException):  # like KeyboardInterrupt: not caught by "except Exception"
    """Raised in the main thread when SIGTERM or SIGHUP arrives, so clean-up code runs as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_under(folder: Path) -> list[str]:
    """Every entry below ``folder`` (files, links, empty folders) as POSIX paths relative to it."""
    entries = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder)
        for name in files:
            entries.append((rel_root / name).as_posix())
        for name in dirs:
            path = Path(root) / name
            if path.is_symlink() or not any(path.iterdir()):
                entries.append((rel_root / name).as_posix() + ("" if path.is_symlink() else "/"))
    return sorted(entries)


def _kaigai_json(path: Path) -> dict[str, Any] | None:
    """A JSON object kaigai wrote (``written_by`` kaigai) at ``path``, or None: absent, a link, unreadable or
    someone else's."""
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == "kaigai" else None


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker kaigai left in ``folder``, or None if there is none or it is not kaigai's."""
    data = _kaigai_json(folder / OUTPUT_MARKER)
    return data if data is not None and isinstance(data.get("files"), list) else None


def foreign_entries(folder: Path) -> list[str]:
    """Entries of a kaigai output folder that its marker does not list (someone else put them there)."""
    marker = read_marker(folder)
    listed = set(marker["files"]) if marker else set()
    return [entry for entry in _files_under(folder) if entry != OUTPUT_MARKER and entry not in listed]


def _unfinished(folder: Path) -> bool:
    """True if ``folder`` holds kaigai's :data:`STAGING_MARKER`: a staging folder its run never finished."""
    data = _kaigai_json(folder / STAGING_MARKER)
    return data is not None and data.get("state") == "unfinished"


def _own_result(folder: Path) -> bool:
    """True if ``folder`` is a finished kaigai result exactly as written: its marker, nothing added or changed."""
    return read_marker(folder) is not None and not foreign_entries(folder) and not edited_entries(folder)


def _is_relative_to(path: Path, other: Path) -> bool:
    try:
        path.relative_to(other)
    except ValueError:
        return False
    return True


def check_output_path(out: str | os.PathLike[str], *, command: str, inputs: Iterable[str | os.PathLike[str]] = (),
                      force: bool = False, option: str = "--out") -> Path:
    """Refuse an unsafe output folder before any work starts; return its absolute path.

    ``inputs`` are the files and folders the command reads: the output may be none of them, nor contain one.
    """
    raw = Path(out)
    if str(out).strip() in {"", ".", "./"}:
        raise OutputError(f"{option} '{out}' is the current folder: give a new folder name, e.g. {option} results")
    if raw.is_symlink():
        raise OutputError(f"{option} {out} is a symbolic link: give a real folder path (kaigai never writes "
                          "through links, so it cannot replace what the link points to).")
    target = Path(os.path.abspath(raw))
    if target.parent.exists() and not target.parent.is_dir():
        raise OutputError(f"{option} {out}: {target.parent} is a file, not a folder; give a path inside a folder.")
    if not target.parent.is_dir():
        raise OutputError(f"{option} {out}: its parent folder {target.parent} does not exist; create it first.")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {out}: you cannot write into {target.parent}; choose a folder you own.")
    resolved = target.parent.resolve() / target.name
    cwd = Path.cwd().resolve()
    if resolved == cwd or _is_relative_to(cwd, resolved):
        raise OutputError(f"{option} {out} is the current folder or contains it: give a new folder name.")
    if resolved.exists() and not resolved.is_dir():
        raise OutputError(f"{option} {out} is an existing file: give a folder path that is new or was written "
                          f"by 'kaigai {command}'.")
    for item in inputs:
        literal = Path(os.path.abspath(item))
        # the path as given and the file it finally points to: a link to an input is that input too
        for source in {literal.parent.resolve() / literal.name if literal.parent.exists() else literal,
                       literal.resolve()}:
            if source == resolved or _is_relative_to(source, resolved):
                raise OutputError(f"{option} {out} is, or contains, the input {item}: write the results to "
                                  "another folder so no input can be replaced.")
    if resolved.is_dir() and any(resolved.iterdir()):
        _check_replaceable(resolved, out, command=command, force=force, option=option)
    return resolved


def _check_replaceable(resolved: Path, out: str | os.PathLike[str], *, command: str, force: bool,
                       option: str) -> None:
    """A non-empty output folder may be replaced only with --force, and only if it is this command's own
    result, untouched and with nothing added."""
    marker = read_marker(resolved)
    if not force:
        raise OutputError(f"{option} {out} is not empty: choose a new folder, or add --force to replace an "
                          f"earlier result of 'kaigai {command}'.")
    if marker is None or marker.get("command") != command:
        raise OutputError(f"{option} {out} was not written by 'kaigai {command}' (no {OUTPUT_MARKER} of "
                          "that command in it): --force only replaces kaigai's own results; choose a new "
                          "folder.")
    extra = foreign_entries(resolved)
    if extra:
        raise OutputError(f"{option} {out} holds files kaigai did not write ({_some(extra)}): move them out, "
                          "or choose a new folder.")
    edited = edited_entries(resolved)
    if edited:
        raise OutputError(f"{option} {out} holds files changed since kaigai wrote them ({_some(edited)}): "
                          "move them out (or restore them), or choose a new folder.")


def _some(entries: list[str]) -> str:
    return ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")


def edited_entries(folder: Path) -> list[str]:
    """Files of a kaigai output folder whose content differs from the sha256 its marker recorded."""
    marker = read_marker(folder)
    recorded = marker.get("sha256", {}) if marker else {}
    if not isinstance(recorded, dict):
        return []
    edited = []
    for name, digest in sorted(recorded.items()):
        path = folder / name
        if path.is_symlink() or (path.exists() and (not path.is_file() or sha256_of(path) != digest)):
            edited.append(name)
    return edited


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Interrupted` (main thread only) while the block runs."""
    if not _in_main_thread():
        yield
        return

    def raise_interrupted(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_IGN:  # e.g. SIGHUP under nohup: the user asked to ignore it
            continue
        previous[signum] = signal.signal(signum, raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class _Lock:
    """An exclusive lock on ``path`` (fcntl.flock), released on close; the lock file is removed."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what, self.handle = path, what, None

    def acquire(self) -> None:
        while True:
            try:  # never through a link: truncating the lock file must not truncate what a link points to
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as error:
                raise OutputError(f"{self.what}: cannot use the lock file {self.path} ({error.strerror}); if it is "
                                  "a link or a folder, someone else made it: remove it, or choose another "
                                  "folder.") from None
            handle = os.fdopen(descriptor, "r+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                handle.seek(0)
                owner = handle.read().strip() or "another process"
                handle.close()
                if error.errno in (errno.EAGAIN, errno.EACCES):
                    raise OutputError(f"{self.what} is being written by another kaigai run ({owner}); wait for "
                                      "it to finish, or choose another folder.") from None
                raise
            try:  # the holder before us may have removed the file after we opened it: lock the live one
                if os.fstat(handle.fileno()).st_ino == os.stat(self.path).st_ino:
                    break
            except FileNotFoundError:
                pass
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {_dt.datetime.now().isoformat(timespec='seconds')}")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.handle.close()
        self.handle = None


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, so a move into place or a clean-up is never cut
    in half; a signal that arrived meanwhile is delivered (and raised) right after it."""
    if not _in_main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class OutputFolder:
    """A staging folder that becomes ``out`` in one move on :meth:`OutputFolder.commit`, and vanishes on any failure.

    Examples
    --------
    Files are written into a staging folder, which becomes ``out`` only when everything is written:

    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> from kaigai_lib import OutputFolder
    >>> parent = Path(tempfile.mkdtemp())
    >>> with OutputFolder(parent / "results", command="example") as folder:
    ...     _ = (folder.path / "table.csv").write_text("group,count\\n1,12\\n")
    ...     out = folder.commit()
    >>> out.name, sorted(path.name for path in out.iterdir())
    ('results', ['.kaigai-output.json', 'table.csv'])
    >>> shutil.rmtree(parent)
    """

    def __init__(self, out: str | os.PathLike[str], *, command: str,
                 inputs: Iterable[str | os.PathLike[str]] = (), force: bool = False, option: str = "--out") -> None:
        self.command, self.force, self.option = command, force, option
        self.inputs = list(inputs)
        self.requested = out
        self.out = check_output_path(out, command=command, inputs=self.inputs, force=force, option=option)
        self.path: Path = self.out  # replaced by the staging folder on entry
        self.committed = False
        self._lock = _Lock(self.out.parent / f".{self.out.name}.kaigai-lock", f"{option} {out}")
        self._signals: contextlib.AbstractContextManager[None] | None = None

    def __enter__(self) -> OutputFolder:
        self._signals = signals_as_exceptions()
        self._signals.__enter__()
        try:
            with signals_deferred():
                self._lock.acquire()
                self._recover()
                # another run may have finished between the first check and the lock
                self.out = check_output_path(self.requested, command=self.command, inputs=self.inputs,
                                             force=self.force, option=self.option)
                self.path = Path(tempfile.mkdtemp(prefix=self._prefix("staging"), dir=self.out.parent))
                (self.path / STAGING_MARKER).write_text(json.dumps(
                    {"written_by": "kaigai", "command": self.command, "state": "unfinished", "pid": os.getpid(),
                     "started": _dt.datetime.now().isoformat(timespec="seconds"),
                     "note": "an unfinished kaigai run: its files are incomplete and were never disclosure-checked; "
                             f"the next 'kaigai {self.command}' into {self.out.name} removes this folder"},
                    indent=2) + "\n", encoding="utf-8")
        except BaseException:
            self._lock.release()
            self._signals.__exit__(None, None, None)
            raise
        return self

    @classmethod
    def _beside(cls, out: Path) -> OutputFolder:
        """An OutputFolder that knows only ``out``, for :func:`recover_output` (it tidies, it writes nothing)."""
        folder = cls.__new__(cls)
        folder.out = out
        return folder

    def _prefix(self, kind: str) -> str:
        return f".{self.out.name}.kaigai-{kind}-"

    def _recover(self) -> None:
        """Under the lock, no other run is live: tidy what a killed run (SIGKILL, power loss) left beside ``out``.

        A staging folder is an unfinished result and goes; an earlier result parked for replacement goes back
        to ``out`` if ``out`` is missing (the run died between the two moves), and goes otherwise.
        """
        _finish_pair(self.out)  # a key whose hand-outs are in place goes in too (commit_together)
        kinds = (self._prefix("old"), self._prefix("staging"))
        for leftover in sorted(self.out.parent.iterdir()):
            if not leftover.name.startswith(kinds) or leftover.is_symlink() or not leftover.is_dir():
                continue
            if leftover.name.startswith(self._prefix("staging")):
                if _unfinished(leftover) or _own_result(leftover):  # killed before, or during, the final move
                    shutil.rmtree(leftover, ignore_errors=True)
                continue
            parked = leftover / "previous"
            if parked.is_dir() and not parked.is_symlink() and not self.out.exists():
                os.rename(parked, self.out)  # the run died between the two moves: the earlier result goes back
            elif parked.is_dir() and not _own_result(parked):
                continue  # changed since it was parked: not ours to delete
            if not any(entry != parked for entry in leftover.iterdir()):
                shutil.rmtree(leftover, ignore_errors=True)

    def commit(self, extra: dict[str, Any] | None = None) -> Path:
        """Write the marker (every file with its sha256) and move the staging folder onto ``out``."""
        self._seal(extra)
        with signals_deferred():
            old = self._park_previous()
            self._move_into_place()
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return self.out

    def _seal(self, extra: dict[str, Any] | None) -> None:
        """Write the marker: every file with its sha256, and ``extra``."""
        files = [entry for entry in _files_under(self.path) if entry not in (OUTPUT_MARKER, STAGING_MARKER)]
        marker = {"written_by": "kaigai", "command": self.command,
                  "created": _dt.datetime.now().isoformat(timespec="seconds"), "files": files,
                  "sha256": {f: sha256_of(self.path / f) for f in files if not f.endswith("/")}, **(extra or {})}
        (self.path / OUTPUT_MARKER).write_text(json.dumps(marker, indent=2, ensure_ascii=False) + "\n",
                                               encoding="utf-8")
        self.path.chmod(0o755)  # mkdtemp makes it private; results are an ordinary folder

    def _move_into_place(self) -> None:
        """The final move (signals held by the caller): the sealed staging folder becomes ``out``; from here it is
        a finished result (its output marker lists every file; _own_result), no longer an unfinished staging."""
        (self.path / STAGING_MARKER).unlink(missing_ok=True)
        os.rename(self.path, self.out)
        self.path = self.out
        self.committed = True

    def _park_previous(self) -> Path | None:
        """Move an earlier result out of the way (to a folder beside ``out``); refuse if someone added or
        changed a file in ``out`` during the run, so nothing of theirs is deleted."""
        if not self.out.exists() and not self.out.is_symlink():
            return None

        def changed(folder: Path) -> OutputError | None:
            if folder.is_symlink() or not folder.is_dir():
                return OutputError(f"{self.option} {self.requested} was replaced by a file or link during the run: "
                                   "nothing was replaced; choose another folder and run again.")
            if not any(folder.iterdir()):
                return None
            added = foreign_entries(folder) + edited_entries(folder)
            if read_marker(folder) is None or added:
                return OutputError(f"{self.option} {self.requested} changed during the run "
                                   f"({_some(added) if added else 'files appeared in it'}): nothing was replaced; "
                                   "move those files out and run again.")
            return None

        problem = changed(self.out)
        if problem:
            raise problem
        old = Path(tempfile.mkdtemp(prefix=self._prefix("old"), dir=self.out.parent))
        os.rename(self.out, old / "previous")
        problem = changed(old / "previous")  # a file may have landed between the check and the move
        if problem:
            os.rename(old / "previous", self.out)
            old.rmdir()
            raise problem
        return old

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            with signals_deferred():
                if not self.committed:
                    shutil.rmtree(self.path, ignore_errors=True)
                self._lock.release()
        finally:
            if self._signals is not None:
                self._signals.__exit__(None, None, None)


PAIR_FIELD = "committed_with"  # in both markers of a commit_together: the token that ties the two folders


def commit_together(first: OutputFolder, second: OutputFolder, *, first_extra: dict[str, Any] | None = None,
                    second_extra: dict[str, Any] | None = None) -> None:
    """Move two staging folders into place as one, both or neither (hand-outs and their key).

    Both are sealed first. Then, with Ctrl-C, SIGTERM and SIGHUP held: ``second`` is renamed to a "ready" folder
    beside its ``out``, ``first`` moves into place (the pair's commit point), then ``second``; if ``second``'s
    move fails, ``first``'s earlier result is put back. A SIGKILL cannot be held: both markers carry one token,
    and the next kaigai command on ``second.out`` (the next run into it, or :func:`recover_output`) moves the
    ready folder in if ``first`` is in place with that token, and removes it if ``first`` is not.
    """
    token = secrets.token_hex(16)
    first._seal({**(first_extra or {}), PAIR_FIELD: {"token": token}})
    second._seal({**(second_extra or {}), PAIR_FIELD: {"token": token, "partner": str(first.out)}})
    with signals_deferred():
        ready = second.out.parent / f"{second._prefix('ready')}{token[:8]}"
        os.rename(second.path, ready)
        second.path = ready
        first_old = first._park_previous()
        first._move_into_place()  # the commit point: from here a killed run is finished by the next command
        second_old = None
        try:
            second_old = second._park_previous()
            second._move_into_place()
        except BaseException:
            _roll_back(first, first_old)
            if second_old is not None and not second.out.exists():
                _put_back(second_old, second.out)
            raise
        for old in (first_old, second_old):
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)


def _roll_back(folder: OutputFolder, old: Path | None) -> None:
    """Undo ``folder``'s final move: its new result becomes a staging folder again (removed when the ``with``
    ends), and its earlier result, parked in ``old``, goes back."""
    undone = folder.out.parent / f"{folder._prefix('staging')}{secrets.token_hex(4)}"
    os.rename(folder.out, undone)
    folder.path, folder.committed = undone, False
    if old is not None:
        _put_back(old, folder.out)


def _put_back(old: Path, out: Path) -> None:
    """An earlier result parked in ``old`` (by ``_park_previous``) goes back to ``out``."""
    os.rename(old / "previous", out)
    old.rmdir()


def _finish_pair(out: Path) -> list[str]:
    """Finish or undo what a killed :func:`commit_together` left beside ``out`` (its second folder, "ready"),
    under ``out``'s lock; return what was done, or why a ready folder was left where it is."""
    notes = []
    for ready in sorted(out.parent.glob(f".{glob.escape(out.name)}.kaigai-ready-*")):
        marker = read_marker(ready) if ready.is_dir() and not ready.is_symlink() else None
        pair = marker.get(PAIR_FIELD) if marker else None
        if not isinstance(pair, dict) or not isinstance(pair.get("partner"), str):
            continue  # not one kaigai sealed: never touched
        partner = Path(pair["partner"])
        committed = _carries_token(partner, pair["token"])
        if committed and (out.exists() or out.is_symlink()) and (foreign_entries(out) or edited_entries(out)
                                                                or read_marker(out) is None):
            notes.append(f"{out} holds files kaigai did not write, so the finished result a killed run left in "
                         f"{ready} was not moved in: move those files out and run again, or move {ready} to "
                         "a folder of your choice.")
        elif committed:
            if out.exists() or out.is_symlink():  # the earlier result: parked, then tidied like any parked one
                os.rename(out, Path(tempfile.mkdtemp(prefix=f".{out.name}.kaigai-old-", dir=out.parent)) / "previous")
            os.rename(ready, out)
            (out / STAGING_MARKER).unlink(missing_ok=True)  # finished now, as _move_into_place would have left it
            notes.append(f"{out}: a kaigai run was killed after moving {partner} into place and before moving this "
                         f"folder; it was finished now (from {ready.name}).")
        elif partner.exists() or _sealed_staging_beside(partner, pair["token"]):
            shutil.rmtree(ready, ignore_errors=True)
            notes.append(f"{out}: a kaigai run was killed before moving {partner} into place; its unfinished "
                         f"{ready.name} was removed ({out} is as before).")
        else:
            notes.append(f"{out}: a kaigai run was killed while moving this folder and {partner} into place, and "
                         f"{partner} is not there: if you moved it, move {ready} to {out}; otherwise delete "
                         f"{ready}.")
    return notes


def _carries_token(folder: Path, token: str) -> bool:
    marker = read_marker(folder) if folder.is_dir() and not folder.is_symlink() else None
    return marker is not None and marker.get(PAIR_FIELD) == {"token": token}


def _sealed_staging_beside(folder: Path, token: str) -> bool:
    """A staging folder of ``folder`` sealed with ``token`` is still there: it never moved into place."""
    return any(_carries_token(staging, token)
               for staging in folder.parent.glob(f".{glob.escape(folder.name)}.kaigai-staging-*"))


def recover_output(out: str | os.PathLike[str], *, option: str = "--out") -> list[str]:
    """Before reading a kaigai result: put back what a killed run (SIGKILL, power loss) left beside ``out`` — an
    earlier result parked while being replaced, the second half of a :func:`commit_together` — as the next run
    into ``out`` would; return what was done (empty if nothing was left). A live run's folders are not touched.
    """
    out = Path(os.path.abspath(out))
    prefix = f".{out.name}.kaigai-"
    if not out.parent.is_dir() or not any(entry.name.startswith(prefix) and entry.name != f"{prefix}lock"
                                          for entry in out.parent.iterdir()):
        return []
    lock = _Lock(out.parent / f"{prefix}lock", f"{option} {out}")
    try:
        lock.acquire()
    except OutputError:
        return []  # a run is writing it now: what is beside it is that run's
    try:
        with signals_deferred():
            was_there = out.exists()
            notes = _finish_pair(out)
            OutputFolder._beside(out)._recover()
            if not was_there and out.exists() and not any(note.startswith(f"{out}:") for note in notes):
                notes.append(f"{out}: a kaigai run was killed while replacing it; the earlier result was put back.")
    finally:
        lock.release()
    return notes


def parked_result_note(out: str | os.PathLike[str]) -> str:
    """If ``out`` is missing because a killed run parked it beside itself, a sentence saying where it is and how to
    put it back (for commands that only read ``out``); "" otherwise."""
    out = Path(os.path.abspath(out))
    if out.exists() or not out.parent.is_dir():
        return ""
    parked = sorted(old / "previous" for old in out.parent.glob(f".{glob.escape(out.name)}.kaigai-old-*")
                    if (old / "previous").is_dir() and not (old / "previous").is_symlink())
    if not parked:
        return ""
    return (f"A kaigai run was killed while replacing {out}: the earlier result is parked in {parked[-1]}. The next "
            f"kaigai run writing to {out} puts it back, or move it back yourself: mv '{parked[-1]}' '{out}'.")


def parked_input_note(path: str | os.PathLike[str]) -> str:
    """For an input file that does not exist: :func:`parked_result_note` of the first folder above it (or of the
    path itself) that a killed run parked (``kaigai generate --force`` killed while replacing the world leaves
    ``world/firms.parquet`` missing); "" if none was."""
    path = Path(os.path.abspath(path))
    for candidate in (path, *path.parents):
        if candidate.exists():
            return ""
        note = parked_result_note(candidate)
        if note:
            return note
    return ""


def check_output_file(path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = (),
                      force: bool = False, option: str = "--out",
                      written_by_us: tuple[str, Any] | None = None) -> Path:
    """Refuse an unsafe output file before any work starts; return its absolute path.

    Refused: a link, a folder, a missing folder, any input (in any spelling: relative, ``..``, a link to it),
    an existing file without ``force`` and, with ``force``, an existing file that is not of the kind the
    command writes: ``written_by_us`` is ``(what, test)``, ``test(path)`` true for a file kaigai wrote.
    """
    target = Path(os.path.abspath(path))
    if Path(path).is_symlink():
        raise OutputError(f"{option} {path} is a symbolic link: give a plain file path.")
    if not target.parent.is_dir():
        raise OutputError(f"{option} {path}: its folder {target.parent} does not exist; create it first.")
    if target.is_dir():
        raise OutputError(f"{option} {path} is a folder: give a file name, e.g. {Path(path) / 'grades.csv'}")
    for item in inputs:
        if Path(os.path.abspath(item)).resolve() == target.resolve():
            raise OutputError(f"{option} {path} is also an input ({item}): write to another file.")
    if target.exists() and not force:
        raise OutputError(f"{option} {path} already exists: choose another file name, or add --force to replace "
                          "it.")
    if target.exists() and written_by_us is not None:
        what, ours = written_by_us
        try:
            is_ours = bool(ours(target))
        except (OSError, ValueError):
            is_ours = False
        if not is_ours:
            raise OutputError(f"{option} {path} exists and was not written by kaigai (it is not {what}): "
                              "--force replaces only kaigai's own output; choose another file name.")
    return target


def first_line(path: Path) -> str:
    """The first line of a text file (without its line end), for recognising kaigai's own CSV headers."""
    with open(path, "rb") as handle:
        return handle.readline(65536).decode("utf-8-sig", errors="replace").rstrip("\r\n")


def write_file_atomically(path: str | os.PathLike[str], write: Any, *, inputs: Iterable[str | os.PathLike[str]] = (),
                          force: bool = False, option: str = "--out",
                          written_by_us: tuple[str, Any] | None = None) -> Path:
    """Write one output file via a temporary file and a rename, after :func:`check_output_file`.
    ``write`` is called with the temporary path."""
    target = check_output_file(path, inputs=inputs, force=force, option=option, written_by_us=written_by_us)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.kaigai-", dir=target.parent)
    os.close(handle)
    try:
        with signals_as_exceptions():
            write(Path(temporary))
            os.chmod(temporary, 0o644)
            with signals_deferred():
                os.replace(temporary, target)
    except BaseException:
        with signals_deferred(), contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return target
