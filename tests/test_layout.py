"""The package layout: imports go one way only (data ← estimators/world ← whitepaper ← teaching ← exercises), no
module imports :mod:`kaigai_lib.replication`, there is no import cycle, and the top-level names all resolve.

Imports are read with :mod:`ast` from the source — at the top of a module *and* inside functions (a lazy import is
still a dependency) — so the check does not depend on which code paths a test happens to run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kaigai_lib

PACKAGE = Path(kaigai_lib.__file__).resolve().parent

# layer -> the layers it may import (itself included)
ALLOWED = {
    "data": {"data"},
    "estimators": {"data", "estimators"},
    "world": {"data", "world"},
    "whitepaper": {"data", "estimators", "world", "whitepaper"},
    "teaching": {"data", "estimators", "world", "whitepaper", "teaching"},
    "exercises": {"data", "estimators", "world", "whitepaper", "teaching", "exercises"},
    "replication": {"data", "estimators", "world", "whitepaper", "teaching", "exercises", "replication"},
}
# third-party packages a layer must not import: estimators return results, they draw no widgets
FORBIDDEN_EXTERNAL = {"estimators": {"ipywidgets", "anywidget"}, "data": {"ipywidgets", "anywidget"},
                      "world": {"ipywidgets", "anywidget"}}
ENTRY_POINT = "kaigai_lib.__main__"  # `python -m kaigai_lib` runs the command line: the one importer of replication


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """Every module (kaigai_lib's own, or a top-level third-party package) ``path`` imports, with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, node, path.name == "__init__.py")
            for alias in node.names:  # `from kaigai_lib.estimators import did` imports the module .did
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in known else target, node.lineno))
    return found


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "kaigai_lib" and parts[1] in ALLOWED else None


def graph() -> dict[str, list[tuple[str, int]]]:
    known = modules()
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def test_every_module_sits_in_a_layer() -> None:
    loose = [m for m in modules() if m not in ("kaigai_lib", ENTRY_POINT) and layer(m) is None]
    assert loose == [], f"modules outside the subpackages {sorted(ALLOWED)}: {loose}"


def direction_problems(imports: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Every import in ``imports`` (module -> [(imported module, line)]) that goes against the layers."""
    problems = []
    for importer, targets in imports.items():
        own = layer(importer)
        for target, line in targets:
            other = layer(target)
            where = f"{importer} (line {line}) imports {target}"
            if other == "replication" and own != "replication" and importer != ENTRY_POINT:
                problems.append(f"{where}: nothing imports replication")
            elif own is not None and other is not None and other not in ALLOWED[own]:
                problems.append(f"{where}: {own} may import only {sorted(ALLOWED[own])}")
            elif own in FORBIDDEN_EXTERNAL and target.split(".")[0] in FORBIDDEN_EXTERNAL[own]:
                problems.append(f"{where}: {own} must not import {target.split('.')[0]}")
            elif importer == "kaigai_lib" and target.startswith("kaigai_lib."):
                problems.append(f"{where}: the top level loads its names lazily (see _EXPORTS)")
    return problems


def test_imports_go_one_way() -> None:
    problems = direction_problems(graph())
    assert problems == [], "\n".join(problems)


def test_the_check_fails_on_each_kind_of_wrong_import() -> None:
    wrong = {"kaigai_lib.estimators.did": [("kaigai_lib.world.synthetic", 1), ("kaigai_lib.teaching.figures", 2),
                                           ("ipywidgets", 3), ("kaigai_lib.data.schema", 4)],
             "kaigai_lib.world.synthetic": [("kaigai_lib.whitepaper.samples", 5)],
             "kaigai_lib.teaching.figures": [("kaigai_lib.replication.replicate", 6)],
             "kaigai_lib.exercises.spec": [("kaigai_lib.teaching.figures", 7)],
             "kaigai_lib": [("kaigai_lib.estimators.did", 8)],
             ENTRY_POINT: [("kaigai_lib.replication.cli", 9)]}
    lines = sorted(int(p.split("(line ")[1].split(")")[0]) for p in direction_problems(wrong))
    assert lines == [1, 2, 3, 5, 6, 8]  # data (4), exercises -> teaching (7) and the entry point (9) are fine


def test_no_import_cycle() -> None:
    edges = {m: sorted({t for t, _ in targets if t in modules() and t != m}) for m, targets in graph().items()}
    # a package's __init__ importing its own modules is not a cycle between modules
    edges = {m: [t for t in ts if not t.startswith(m + ".")] for m, ts in edges.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    # an adversary's estimator: a lazy import of the world inside a function must be caught like a top-level one
    source = tmp_path / "sneaky.py"
    source.write_text("def f():\n    if True:\n        from kaigai_lib.world import synthetic\n"
                      "    import ipywidgets\n", encoding="utf-8")
    found = imports_of("kaigai_lib.estimators.sneaky", source, set(modules()))
    assert ("kaigai_lib.world.synthetic", 3) in found and ("ipywidgets", 4) in found


def test_public_names_resolve_and_are_listed() -> None:
    assert kaigai_lib.__all__ == sorted(set(kaigai_lib.__all__))
    for name in kaigai_lib.__all__:
        value = getattr(kaigai_lib, name)
        assert value.__name__ == name, name
        assert value.__module__.startswith("kaigai_lib."), name
        assert layer(value.__module__) not in (None, "replication"), name
    with pytest.raises(AttributeError, match="no attribute 'flat_old_name'"):
        kaigai_lib.flat_old_name  # noqa: B018


def test_import_kaigai_lib_loads_no_subpackage() -> None:
    # the command line and `import kaigai_lib` stay fast: the public names load on first use
    code = "import sys, kaigai_lib; print(sorted(m for m in sys.modules if m.startswith('kaigai_lib.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
