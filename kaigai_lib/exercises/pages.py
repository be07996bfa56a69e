"""An instructor's exercise on a page: the ``{kaigai-exercise}`` directive of the book and
``kaigai exercises page EXERCISE.yml --out page.html``, one self-contained HTML file (question, data
dictionary, the widget with its sliders, answer box and hints) that works offline — posted on an LMS or
opened from a USB stick. ``course=True`` writes the course edition: no truth or answer key in the file;
the widget says how to submit instead.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from kaigai_lib.data import schema
from kaigai_lib.exercises.spec import ExerciseSpec, ExerciseWidget, load_exercise
from kaigai_lib.teaching.static_widgets import SOURCE_LANGUAGE, page_translator, standalone_html

GENERATOR = "kaigai exercises page"  # marks the files this command wrote (and may overwrite)
TABLE_FILES = {"firms": "firms.csv.gz", "establishments": "establishments.csv.gz",
               "foreign_demand": "foreign_demand.csv", "deflators": "deflators.csv"}


def _is_page(path: Path) -> bool:
    with open(path, "rb") as handle:
        return f'content="{GENERATOR}"' in handle.read(20000).decode("utf-8", errors="replace")


PAGE_WRITTEN_BY_US = (f"a page written by '{GENERATOR}' (no generator marker in it)", _is_page)


# What the intro and the page's header say, in English: messages of the widget catalog (intro_messages), shown in
# the page's language by page_translator
EXERCISE = "Exercise {id}."
ANSWER_IN = "Answer in {unit}. Your data: the tables"
NO_UNIT = "the unit asked for"
TABLE_ITEM = "{file} ({attribute} of the widget in a notebook)"
WHERE_FROM = ("from your instructor's hand-out, or in a notebook {call} then {firms} (the sliders below set the same "
              "world).")
DICTIONARY = "Data dictionary: columns of {table}"
DICTIONARY_HEAD = ("column", "unit", "meaning")
HEADER = "kaigai exercise ({edition}). This page works offline, with no Python."
EDITION = {False: "answers checked here", True: "course edition: answers are submitted, not checked here"}


def intro_messages() -> list[str]:
    """Every text :func:`exercise_intro_html` and :func:`exercise_page` may show (``make gettext`` puts them in
    the widget catalog, and the coverage tests check their translations): the templates above and the unit and
    meaning of every column of the firms' data dictionary."""
    columns = schema.SCHEMAS["firms"].columns
    texts = [EXERCISE, ANSWER_IN, NO_UNIT, TABLE_ITEM, WHERE_FROM, DICTIONARY, *DICTIONARY_HEAD, HEADER,
             *EDITION.values(), *(c.unit for c in columns), *(c.description for c in columns)]
    return list(dict.fromkeys(texts))


def _own_or_catalog(spec: ExerciseSpec, key: str, english: str, language: str, t: Callable[..., str]) -> str:
    """The exercise file's own translation (its ``ja:`` block) of a text, else the catalog's, else English."""
    own = spec.ja if language == "ja" else {}
    return own.get(key) or (t(english) if english else english)


def exercise_intro_html(spec: ExerciseSpec, language: str = SOURCE_LANGUAGE) -> str:
    """The exercise's data (tables, the firms' data dictionary) and how to get them, as HTML in ``language``."""
    t = page_translator(language)
    tables = "".join("<li>" + t(TABLE_ITEM, file=f"<code>{html.escape(TABLE_FILES.get(name, name))}</code>",
                                attribute=f"<code>.{html.escape(name)}</code>") + "</li>" for name in spec.tables)
    unit = _own_or_catalog(spec, "unit", spec.unit, language, t) or t(NO_UNIT)
    call = f"w = kaigai_lib.exercise_widget(\"{html.escape(Path(spec.source).name)}\")"
    parts = ['<div class="kaigai-exercise-intro"><p><b>' + t(EXERCISE, id=f"<code>{html.escape(spec.id)}</code>")
             + "</b> " + t(ANSWER_IN, unit=html.escape(unit)) + f"</p><ul>{tables}</ul><p>"
             + t(WHERE_FROM, call=f"<code>{call}</code>", firms="<code>w.firms</code>") + "</p>"]
    if "firms" in spec.tables:
        rows = "".join(f"<tr><td><code>{html.escape(c.name)}</code></td><td>{html.escape(t(c.unit))}"
                       f"</td><td>{html.escape(t(c.description))}</td></tr>" for c in schema.SCHEMAS["firms"].columns)
        head = "".join(f"<th>{html.escape(t(text))}</th>" for text in DICTIONARY_HEAD)
        parts.append("<details><summary>" + t(DICTIONARY, table="<code>firms</code>") + "</summary>"
                     f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></details>")
    parts.append("</div>")
    return "".join(parts)


# A page ends with its edition and a seal (the SHA-256 of everything before the seal): --force replaces only a
# page kaigai wrote, unedited since, of the same edition (a public page carries the answer keys)
_SEAL = re.compile(r'<!-- kaigai-edition="(\w+)" kaigai-sha256="([0-9a-f]{64})" -->\n\Z')


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def exercise_page(spec: ExerciseSpec, *, course: bool, seed: int | None = None,
                  language: str = SOURCE_LANGUAGE) -> str:
    """The exercise as one self-contained HTML page in ``language`` (see the module doc)."""
    t = page_translator(language)
    widget = ExerciseWidget(spec, seed=seed, course=course)
    title = _own_or_catalog(spec, "title", spec.title, language, t)
    body = (f'<meta name="generator" content="{GENERATOR}" />\n<h1>{html.escape(title)}</h1>\n'
            f"<p><i>{t(HEADER, edition=t(EDITION[course]))}</i></p>\n" + exercise_intro_html(spec, language))
    page = standalone_html(title, body, [widget], course=course, language=language)
    sealed = f'{page.rstrip(chr(10))}\n<!-- kaigai-edition="{"course" if course else "public"}" kaigai-sha256="'
    return f'{sealed}{_sha256(sealed)}" -->\n'


def _replaceable_page(out: Path, course: bool, force: bool) -> None:
    """Refuse an existing page unless ``force``, and then unless kaigai wrote it, unedited, in the same edition."""
    edition = "course" if course else "public"
    if not force:
        raise FileExistsError(f"--out {out} exists: add --force to replace it (only a page kaigai wrote, unedited "
                              "since, of the same edition), or choose another --out.")
    text = out.read_text(encoding="utf-8", errors="replace")
    seal = _SEAL.search(text)
    if seal is None or _sha256(text[:seal.start(2)]) != seal.group(2):
        raise FileExistsError(f"--out {out} was edited since kaigai wrote it (or by a kaigai that did not seal its "
                              "pages): it is not replaced. Keep your edits under another name, or delete it "
                              "yourself, then run again.")
    if seal.group(1) != edition:
        other = seal.group(1)
        raise FileExistsError(f"--out {out} is the {other} edition and this is the {edition} edition"
                              + (" (which carries the answer keys)" if edition == "public" else "")
                              + ": it is not replaced. Write it to another --out"
                              + (", e.g. without --course" if course else ", or add --course") + ".")


def write_exercise_page(exercise: str | Path, out: str | Path, *, course: bool, seed: int | None = None,
                        force: bool = False, language: str = SOURCE_LANGUAGE) -> Path:
    """Write :func:`exercise_page` to ``out`` atomically. An existing file is replaced only with ``force``, and
    only if this command wrote it (its generator marker), it is unedited since (its seal) and of the same
    edition; never the exercise file itself."""
    from kaigai_lib.data.outputs import check_output_file

    named = str(out)
    out = Path(out)
    # "newdir/" names a folder even when it does not exist yet (Path drops the slash: it would become a file)
    if out.is_dir() or named.endswith(("/", os.sep)):
        raise IsADirectoryError(f"--out {named} is a folder: give a file name such as {out / 'exercise.html'}")
    spec = load_exercise(exercise)
    check_output_file(out, inputs=[spec.source, exercise], force=True, written_by_us=PAGE_WRITTEN_BY_US)
    if out.exists():
        _replaceable_page(out, course, force)
    page = exercise_page(spec, course=course, seed=seed, language=language)
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
