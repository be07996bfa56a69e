"""An instructor's exercise on a page: the ``{kaigai-exercise}`` directive of the book and
``kaigai exercises page EXERCISE.yml --out page.html``, one self-contained HTML file (question, data
dictionary, the widget with its sliders, answer box and hints) that works offline — posted on an LMS or
opened from a USB stick. ``course=True`` writes the course edition: no truth or answer key in the file;
the widget says how to submit instead.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

from kaigai_lib.data import schema
from kaigai_lib.exercises.spec import ExerciseSpec, ExerciseWidget, load_exercise
from kaigai_lib.teaching.static_widgets import standalone_html

GENERATOR = "kaigai exercises page"  # marks the files this command wrote (and may overwrite)
TABLE_FILES = {"firms": "firms.csv.gz", "establishments": "establishments.csv.gz",
               "foreign_demand": "foreign_demand.csv", "deflators": "deflators.csv"}


def _is_page(path: Path) -> bool:
    with open(path, "rb") as handle:
        return f'content="{GENERATOR}"' in handle.read(20000).decode("utf-8", errors="replace")


PAGE_WRITTEN_BY_US = (f"a page written by '{GENERATOR}' (no generator marker in it)", _is_page)


def exercise_intro_html(spec: ExerciseSpec) -> str:
    """The exercise's data (tables, the firms' data dictionary) and how to get them, as HTML."""
    tables = "".join(f"<li><code>{html.escape(TABLE_FILES.get(t, t))}</code> (<code>.{html.escape(t)}</code> of "
                     f"the widget in a notebook)</li>" for t in spec.tables)
    parts = [f'<div class="kaigai-exercise-intro"><p><b>Exercise <code>{html.escape(spec.id)}</code>.</b> '
             f"Answer in {html.escape(spec.unit or 'the unit asked for')}. Your data: the tables</p>"
             f"<ul>{tables}</ul><p>from your instructor's hand-out, or in a notebook "
             f"<code>w = kaigai_lib.exercises.spec.exercise_widget(\"{html.escape(Path(spec.source).name)}\")</code> "
             "then <code>w.firms</code> (the sliders below set the same world).</p>"]
    if "firms" in spec.tables:
        rows = "".join(f"<tr><td><code>{html.escape(str(r['column']))}</code></td><td>{html.escape(str(r['unit']))}"
                       f"</td><td>{html.escape(str(r['description']))}</td></tr>"
                       for _, r in schema.SCHEMAS["firms"].to_frame().iterrows())
        parts.append("<details><summary>Data dictionary: columns of <code>firms</code></summary>"
                     f"<table><thead><tr><th>column</th><th>unit</th><th>meaning</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table></details>")
    parts.append("</div>")
    return "".join(parts)


def exercise_page(spec: ExerciseSpec, *, course: bool, seed: int | None = None) -> str:
    """The exercise as one self-contained HTML page (see the module doc)."""
    widget = ExerciseWidget(spec, seed=seed, course=course)
    edition = "course edition: answers are submitted, not checked here" if course else "answers checked here"
    body = (f'<meta name="generator" content="{GENERATOR}" />\n<h1>{html.escape(spec.title)}</h1>\n'
            f"<p><i>kaigai exercise ({edition}). This page works offline, with no Python.</i></p>\n"
            + exercise_intro_html(spec))
    return standalone_html(spec.title, body, [widget], course=course)


def write_exercise_page(exercise: str | Path, out: str | Path, *, course: bool, seed: int | None = None,
                        force: bool = False) -> Path:
    """Write :func:`exercise_page` to ``out`` atomically. An existing file is replaced only if this command
    wrote it (its generator marker), with or without ``force``; never the exercise file itself."""
    from kaigai_lib.data.outputs import check_output_file

    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(f"--out {out} is a folder: give a file name such as {out / 'exercise.html'}")
    spec = load_exercise(exercise)
    check_output_file(out, inputs=[spec.source, exercise], force=True, written_by_us=PAGE_WRITTEN_BY_US)
    page = exercise_page(spec, course=course, seed=seed)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(page)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would keep a page meant for sharing private
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out
