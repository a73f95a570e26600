"""`make mutate`: mutation testing of the pure core and the read models (run by hand, not in CI).

mutmut generates the mutants (`[tool.mutmut]` in pyproject.toml): a copy of the sources under
mutants/ where every function of a mutated module is a trampoline that runs its original or the
mutant named by MUTANT_UNDER_TEST. This script runs them. It does not use `mutmut run`, which
picks each mutant's tests from the calls seen while tests run, so it misses code run when a test
module is imported (a module-level `CALENDAR = from_rows(*materialise())`); and starting pytest
afresh per mutant costs ~10 s here. Instead one process imports the third-party libraries once
and forks a child per mutant that imports our code anew and runs pytest on the module's tests:
the tests/unit files that import the module by name (not those that only reach it through another
module: the kill rate says how well a module's own tests pin it down).

A sample of mutants per module (fixed seed) keeps a run short on two cores; --sample 0 runs all.
Writes a per-module table and every survivor (file:line, diff) under mutants/report/.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fnmatch
import json
import os
import random
import signal
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"
REPORT = MUTANTS / "report"
PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--rootdir=."]


@dataclass
class Outcome:
    module: str
    tests: list[str]
    total: int = 0
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        return len(self.killed) + len(self.survived) + len(self.timeouts)

    @property
    def rate(self) -> float:
        # A mutant that makes the tests hang is caught too (as mutmut and Stryker count it).
        return (len(self.killed) + len(self.timeouts)) / self.tried if self.tried else 0.0


def configured_modules() -> list[str]:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    found = []
    for pattern in settings["only_mutate"]:
        for path in sorted(ROOT.glob(pattern)):
            name = str(path.relative_to(ROOT))
            excluded = any(fnmatch.fnmatch(name, p) for p in settings["do_not_mutate"])
            if name.endswith(".py") and not name.endswith("__init__.py") and not excluded:
                found.append(name)
    return found


def generate() -> None:
    """Let mutmut (re)write mutants/ for sources changed since the last run."""
    from mutmut.__main__ import create_mutants
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir

    os.chdir(ROOT)
    set_mutant_under_test("mutant_generation")
    MUTANTS.mkdir(exist_ok=True)
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        copy_src_dir()
        copy_also_copy_files()
        create_mutants(2)
    os.environ.pop("MUTANT_UNDER_TEST", None)


def mutant_names(module: str) -> list[str]:
    meta = json.loads((MUTANTS / f"{module}.meta").read_text())
    return sorted(meta["exit_code_by_key"])


def dotted(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    yield


OURS = ("services", "projections", "events", "workers", "tests", "conftest")


def warm_up() -> None:
    """Import what the tests import by collecting them once, then forget our own modules.

    The children inherit the third-party libraries already imported (pytest's plugins,
    hypothesis, faker, litestar...) and import our code afresh, under their mutant.
    """
    import pytest
    from prometheus_client import REGISTRY

    collectors = set(REGISTRY._collector_to_names)
    saved = os.dup(1), os.dup(2)
    with quiet():
        os.environ["MUTANT_UNDER_TEST"] = ""
        pytest.main([*PYTEST_ARGS, "--collect-only", "tests/unit"])
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for name in [m for m in sys.modules if m.split(".")[0] in OURS]:
        del sys.modules[name]
    for collector in set(REGISTRY._collector_to_names) - collectors:  # our metrics, made anew
        REGISTRY.unregister(collector)


def run_tests(mutant: str, tests: list[str]) -> int:
    import pytest

    os.environ["MUTANT_UNDER_TEST"] = mutant
    return int(pytest.main([*PYTEST_ARGS, *tests]))


def imports_module(test_file: Path, module: str) -> bool:
    """Whether a test file imports the module by name (`from services.domain import plan`)."""
    name = dotted(module)
    for node in ast.walk(ast.parse(test_file.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if name in found:
                return True
        if isinstance(node, ast.Import) and any(a.name == name for a in node.names):
            return True
    return False


def tests_of(module: str) -> list[str]:
    return [
        str(path.relative_to(ROOT))
        for path in sorted(ROOT.glob("tests/unit/test_*.py"))
        if imports_module(path, module)
    ]


def first_changed_line(module: str, diff: str) -> int:
    """The line of the source a mutmut diff (of one function, numbered from it) changes."""
    source = (ROOT / module).read_text().splitlines()
    hunk, offset, text = 0, 0, ""
    for line in diff.splitlines():
        if line.startswith("@@"):
            hunk = int(line.split()[1].split(",")[0].lstrip("-"))
            offset = 0
        elif line.startswith("-") and not line.startswith("---"):
            text = line[1:]
            break
        elif not line.startswith(("+", "---")):
            offset += 1
    function = diff_function(module, diff)
    guess = (function or 1) + hunk - 1 + offset
    hits = [i + 1 for i, s in enumerate(source) if text and s.strip() == text.strip()]
    return min(hits, key=lambda i: abs(i - guess)) if hits else guess


def diff_function(module: str, diff: str) -> int | None:
    names = [line.split("def ", 1)[1].split("(")[0] for line in diff.splitlines() if "def " in line]
    tree = ast.parse((ROOT / module).read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and names
            and node.name == names[0]
        ):
            return min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return None


def survivor_entry(module: str, mutant: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(mutant, path=Path(module))
    changed = [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")
    ]
    where = f"{module}:{first_changed_line(module, diff)}"
    return f"- `{where}` ({mutant.rsplit('.', 1)[1]}):\n" + "".join(
        f"    {line}\n" for line in changed
    )


def mutated_function(mutant: str) -> str:
    function = mutant.rsplit(".", 1)[1].split("__mutmut_", maxsplit=1)[0]
    return function.rsplit("ǁ", 1)[-1].removeprefix("x_")


def async_functions(module: str) -> set[str]:
    tree = ast.parse((ROOT / module).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)}


def spawn(mutant: str, tests: list[str]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            with quiet():
                code = run_tests(mutant, tests)
        finally:
            os._exit(code)
    return pid


def measure(module: str, tests: list[str], sample: int, seed: int, jobs: int) -> Outcome:
    # Async functions read or write PostgreSQL: only the integration tests exercise them.
    skipped = async_functions(module)
    names = [n for n in mutant_names(module) if mutated_function(n) not in skipped]
    outcome = Outcome(module, tests, total=len(names))
    if sample and len(names) > sample:
        names = sorted(random.Random(f"{seed}:{module}").sample(names, sample))
    if not tests:
        outcome.survived = names
        return outcome
    started = time.monotonic()
    if os.waitstatus_to_exitcode(os.waitpid(spawn("", tests), 0)[1]) != 0:
        sys.exit(f"{module}: its tests fail without any mutant ({' '.join(tests)})")
    baseline = time.monotonic() - started
    limit = max(30.0, 5 * baseline)
    print(
        f"{module}: {len(names)} mutants, tests take {baseline:.1f}s: {' '.join(tests)}", flush=True
    )
    waiting, running = list(names), {}
    while waiting or running:
        while waiting and len(running) < jobs:
            name = waiting.pop(0)
            running[spawn(name, tests)] = (name, time.monotonic() + limit)
        for pid, (name, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and time.monotonic() < deadline:
                continue
            if not done:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                outcome.timeouts.append(name)
            elif os.waitstatus_to_exitcode(status) == 0:
                outcome.survived.append(name)
            else:  # failed, or an import or collection error: the tests noticed
                outcome.killed.append(name)
            del running[pid]
        time.sleep(0.05)
    return outcome


def table(outcomes: list[Outcome], sample: int, seed: int) -> str:
    how = f"{sample} sampled per module, seed {seed}" if sample else "all mutants"
    lines = [
        f"Mutants: {how}. Kill rate = (killed + timeouts) / tried.",
        "",
        "| module | mutants (of) | killed | survived | timeouts | kill rate |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| `{o.module}` | {o.tried} ({o.total}) | {len(o.killed)} | {len(o.survived)} "
            f"| {len(o.timeouts)} | {o.rate:.0%} |"
        )
    tried = sum(o.tried for o in outcomes)
    caught = sum(len(o.killed) + len(o.timeouts) for o in outcomes)
    lines.append(f"| **all** | {tried} | | {tried - caught} | | {caught / max(tried, 1):.0%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="source files (default: all configured)")
    parser.add_argument("--sample", type=int, default=60, help="mutants per module, 0 = all")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    args = parser.parse_args()

    modules = args.modules or configured_modules()
    generate()
    os.chdir(MUTANTS)
    sys.path.insert(0, str(MUTANTS))
    warm_up()

    REPORT.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    for module in modules:
        tests = tests_of(module)
        outcome = measure(module, tests, args.sample, args.seed, args.jobs)
        outcomes.append(outcome)
        print(
            f"{module}: {len(outcome.killed)} killed, {len(outcome.survived)} survived, "
            f"{len(outcome.timeouts)} timeouts of {outcome.tried}",
            flush=True,
        )
        os.chdir(ROOT)
        with (REPORT / "survivors.md").open("a" if len(outcomes) > 1 else "w") as out:
            out.write(f"\n## {module}\n\nTests: {' '.join(tests) or 'none import it'}\n\n")
            out.writelines(survivor_entry(module, m) for m in outcome.survived)
        os.chdir(MUTANTS)
        (REPORT / "table.md").write_text(table(outcomes, args.sample, args.seed))
    print()
    print(table(outcomes, args.sample, args.seed))
    print(f"Survivors (file:line, diff): {REPORT / 'survivors.md'}")


if __name__ == "__main__":
    main()
