"""Refusal codes are data: each has a kind, the status follows from the kind, and README.md's
list of problem types names exactly the codes the API can answer with."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from services.api.problems import SHELL_PROBLEMS, STATUS_OF_KIND
from services.domain import refusal_codes as codes
from services.domain.refusal_codes import Code, Kind

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"`([a-z][a-z0-9-]*)`")


def problem_tables() -> tuple[dict[str, int], dict[str, list[str]]]:
    """The README's Problem types section: {shell code: status}, {kind label: codes}."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Problem types\n", 1)[1].split("\n#", 1)[0]
    shell: dict[str, int] = {}
    kinds: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in ("status", "kind") or set(cells[0]) <= {"-"}:
            continue
        if len(cells) == 2:
            for code in CODE.findall(cells[1]):
                shell[code] = int(cells[0])
        else:
            assert len(cells) == 3, line
            assert int(cells[1]) == STATUS_OF_KIND[Kind(cells[0])], line
            kinds[cells[0]] = CODE.findall(cells[2])
    return shell, kinds


def test_every_code_is_a_named_constant_of_one_kind() -> None:
    constants = {name: value for name, value in vars(codes).items() if isinstance(value, Code)}
    assert sorted(constants.values()) == sorted(codes.ALL.values())
    for name, code in constants.items():
        assert name == code.upper().replace("-", "_")
        assert code.kind in STATUS_OF_KIND


def test_the_readme_lists_every_refusal_code_under_its_kind_and_nothing_else() -> None:
    _, kinds = problem_tables()
    assert set(kinds) == {kind.value for kind in Kind}
    for kind in Kind:
        assert sorted(kinds[kind.value]) == sorted(codes.by_kind(kind)), kind


def test_the_readme_lists_every_problem_of_the_shell_and_the_store_with_its_status() -> None:
    shell, _ = problem_tables()
    assert shell == SHELL_PROBLEMS


def test_every_problem_the_api_raises_is_listed_with_its_status() -> None:
    """Each Problem(status, "code", ...) written in services/api is a listed shell problem or a
    refusal code of the same status."""
    found = []
    for path in sorted((ROOT / "services" / "api").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Problem"
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[1], ast.Constant)
            ):
                continue
            status, code = node.args[0].value, node.args[1].value
            found.append(code)
            if code in SHELL_PROBLEMS:
                assert SHELL_PROBLEMS[code] == status, (path.name, code)
            else:
                assert code in codes.ALL, (path.name, code)
                assert STATUS_OF_KIND[codes.ALL[code].kind] == status, (path.name, code)
    assert len(found) > 20  # the scan sees the API's problems


def test_the_status_of_a_refusal_follows_from_its_kind() -> None:
    assert STATUS_OF_KIND[codes.UNKNOWN_PLAN.kind] == 404
    assert STATUS_OF_KIND[codes.PLAN_EXISTS.kind] == 409
    assert STATUS_OF_KIND[codes.DOCUMENT_NUMBER_TAKEN.kind] == 409
    assert STATUS_OF_KIND[codes.CURSOR_EPOCH_GONE.kind] == 410
    assert STATUS_OF_KIND[codes.UNKNOWN_PARENT.kind] == 422
    assert STATUS_OF_KIND[codes.PLAN_ENDED.kind] == 422
    assert codes.UNKNOWN_PLAN == "unknown-plan"  # a code is written as its text
