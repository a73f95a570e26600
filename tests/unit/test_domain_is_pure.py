"""The pure domain (services/domain) imports no layer above it, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "services" / "domain"
ABOVE = ("services.handlers", "services.api", "services.ops", "projections", "workers", "asyncpg")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_domain_imports_nothing_above_it() -> None:
    found = {
        (path.name, name)
        for path in sorted(DOMAIN.glob("*.py"))
        for name in imports_of(path)
        if any(name == layer or name.startswith(layer + ".") for layer in ABOVE)
    }
    assert found == set()
