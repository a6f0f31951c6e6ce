"""The shape of the package itself: small modules, no import cycle, errors in one place.

These read the source with ``ast``; they import nothing from course_lib.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_lib"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) of each import at module level (inside functions is lazy: not a cycle)."""
    tree = ast.parse(path.read_text())
    out = []
    for node in tree.body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks are annotations only
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Import):
            out.extend((a.name, ()) for a in node.names)
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_readable_in_one_sitting(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.name} has {n} lines; split it by concern"


def test_no_import_cycle():
    known = {_module_name(p) for p in MODULES}
    graph: dict[str, set[str]] = {}
    for p in MODULES:
        deps = set()
        for module, names in _imports(p):
            if module in known:
                deps.add(module)
            # `from course_lib import x` imports the submodule x
            deps.update(f"{module}.{n}" for n in names if f"{module}.{n}" in known)
        graph[_module_name(p)] = deps - {_module_name(p)}

    def visit(node: str, stack: list[str], done: set[str]) -> list[str] | None:
        if node in stack:
            return stack[stack.index(node):] + [node]
        if node in done:
            return None
        done.add(node)
        for dep in sorted(graph.get(node, ())):
            # a package's __init__ importing its own submodules is how re-exports work
            if dep.startswith(node + "."):
                continue
            cycle = visit(dep, [*stack, node], done)
            if cycle:
                return cycle
        return None

    done: set[str] = set()
    for start in sorted(graph):
        cycle = visit(start, [], done)
        assert cycle is None, " -> ".join(cycle)


def test_no_private_name_imported_across_modules():
    """Private modules (``_checks``, ``_display``...) are shared; private names in them are not."""
    known = {_module_name(p) for p in MODULES}
    found = [f"{p.relative_to(PACKAGE)}: from {m} import {n}"
             for p in MODULES for m, names in _imports(p)
             if m.startswith("course_lib") for n in names
             if n.startswith("_") and n != "__version__" and f"{m}.{n}" not in known]
    assert found == []


def test_error_classes_live_in_errors_module():
    found = []
    for p in MODULES:
        if p.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Error")
                                                   or any(getattr(b, "id", "").endswith("Error")
                                                          for b in node.bases)):
                found.append(f"{p.relative_to(PACKAGE)}: class {node.name}")
    assert found == []
