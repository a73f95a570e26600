"""The shape of the code: no import cycles between the project's modules (imports inside
functions included), and SQL only in `events/` (the store) and `projections/` (read models and
their queries)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("events", "services", "projections", "workers")
SQL_HOMES = ("events", "projections")
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|TRUNCATE\s|"
    r"CREATE\s+(TABLE|INDEX|UNIQUE)|ALTER\s+(TABLE|INDEX)|DROP\s+TABLE|LOCK\s+TABLE|"
    r"pg_\w+\(|WITH\s+RECURSIVE)"
)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for imported in targets:
            target = imported
            while target and target not in known:
                target = target.rpartition(".")[0]
            # A package's __init__ is not a dependency of the modules inside it.
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from a import g\n")
    known = {"a": tmp_path / "a.py", "b": tmp_path / "b.py"}
    found = {name: imports_of(name, path, known) for name, path in known.items()}
    assert cycles(found) == [["a", "b"]]


def sql_strings(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    parts_of_f_strings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    for node in ast.walk(tree):
        if id(node) in parts_of_f_strings:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            text = node.value
        else:
            continue
        if SQL.search(text):
            yield node.lineno, text.strip().splitlines()[0][:80]


def test_sql_lives_only_in_the_store_and_the_read_models() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for name, path in modules().items()
        if name.split(".")[0] not in SQL_HOMES
        for line, text in sql_strings(path)
    ]
    assert outside == []


def test_the_sql_finder_sees_a_query_in_an_f_string(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""SELECT in a docstring is prose."""\nq = f"SELECT x FROM {t}"\n')
    assert [line for line, _ in sql_strings(module)] == [2]


LAYERS = (
    ("services.ops",),
    ("services.api", "workers"),
    ("services.handlers",),
    ("projections",),
    ("services.domain",),
    ("events",),
    ("services.runtime",),
)
"""From the top down: the operator's entry points; the HTTP shell and the workers side by side;
the command handlers and the read rules; the read models; the pure domain; the store and the
event types; and the small runtime pieces (configuration, logging, probes) every layer may use."""


def home(module: str) -> tuple[int, str] | None:
    """The module's layer (its depth) and the package it belongs to there."""
    for depth, packages in enumerate(LAYERS):
        for package in packages:
            if module == package or module.startswith(package + "."):
                return depth, package
    return None


def upward_imports(found: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imported in sorted(found.items()):
        here = home(module)
        for target in sorted(imported):
            there = home(target)
            if here is None or there is None:
                continue
            if there[0] < here[0] or (there[0] == here[0] and there[1] != here[1]):
                wrong.append(f"{module} -> {target}")
    return wrong


def test_each_layer_imports_only_the_layers_below_it() -> None:
    assert upward_imports(graph()) == []


def test_an_upward_import_is_seen() -> None:
    found = {"services.domain.plan": {"projections.plan_list"}, "workers.app": {"services.api"}}
    assert upward_imports(found) == [
        "services.domain.plan -> projections.plan_list",
        "workers.app -> services.api",
    ]


def test_every_module_has_a_layer() -> None:
    assert [name for name in modules() if home(name) is None and name not in PACKAGES] == []
