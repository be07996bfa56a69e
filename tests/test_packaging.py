"""An installed wheel (not the editable checkout) carries everything the library reads at run time: the
widgets' scripts and catalogs, the survey tables and the example exercises. A trainee who installs kaigai_lib
from the repository (the downloadable notebooks do) sees the widgets in Japanese with KAIGAI_LANGUAGE=ja."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.mo")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, unpacked into a folder of its own."""
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds
    source = out / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("kaigai_lib", "locales"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=IGNORED)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(out), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheels = list(out.glob("kaigai*.whl"))
    assert len(wheels) == 1, wheels
    target = out / "site"
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(target)
    return target


def _run(installed: Path, code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(installed), "KAIGAI_LANGUAGE": "ja"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=installed,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_wheel_is_the_one_imported(installed: Path) -> None:
    where = _run(installed, "import kaigai_lib; print(kaigai_lib.__file__)")
    assert Path(where).resolve().is_relative_to(installed.resolve())


def test_the_installed_widgets_speak_japanese(installed: Path) -> None:
    from kaigai_lib.teaching.static_widgets import widget_catalog

    repository = widget_catalog("ja", ROOT / "locales")
    assert len(repository) > 100
    code = ("from kaigai_lib.teaching.static_widgets import LOCALE_DIR, widget_catalog, widget_language\n"
            "print(widget_language(), len(widget_catalog('ja')), LOCALE_DIR)")
    language, count, where = _run(installed, code).split(" ", 2)
    assert (language, int(count)) == ("ja", len(repository))
    assert Path(where).resolve().is_relative_to(installed.resolve()), "the catalog was read outside the wheel"


def test_the_installed_package_reads_its_data(installed: Path) -> None:
    code = ("from kaigai_lib.exercises.spec import exercise_files\n"
            "from kaigai_lib.teaching.static_widgets import _asset\n"
            "import kaigai_lib.teaching.survey as survey, importlib.resources as r\n"
            "print(len(list(exercise_files())), len(_asset('widget.js')) > 1000,"
            " len(list(r.files('kaigai_lib.data').joinpath('survey_data').iterdir())))")
    exercises, script, tables = _run(installed, code).split()
    assert int(exercises) >= 10 and script == "True" and int(tables) >= 2
