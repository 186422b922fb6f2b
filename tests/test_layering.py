"""The layout holds its architecture: a pure core in capability layers, no upward import, no cycle, small folders
and modules. Imports are read with ``ast`` from every module of flyte/, those inside functions included."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "flyte"

#: The core's capabilities, lowest first: a capability may import its own and lower ranks only. gate and registry
#: share a rank (neither imports the other's layer above it).
RANKS = {"common": 0, "data": 1, "artifact": 2, "training": 3, "evaluation": 4, "publishing": 5, "gate": 6,
         "registry": 6, "batch": 7, "tuning": 8}  # fmt: skip
MAX_MODULES_PER_FOLDER = 12
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=None)
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``import from`` names (relative imports resolved against ``importer``)."""
    if not node.level:
        return node.module or ""
    package = importer.split(".")
    is_package = modules()[importer].name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@lru_cache(maxsize=None)
def imports() -> dict[str, set[str]]:
    """Each flyte module's imported modules: ``import a.b``, and ``from a import b`` as ``a.b`` when that is a module
    of flyte (else ``a``); at any depth of the file, so imports inside functions count."""
    known = modules()
    found: dict[str, set[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = resolve(name, node)
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        found[name] = targets
    return found


def internal_edges() -> dict[str, set[str]]:
    """Imports between flyte modules only; importing a package's module does not count as importing the package."""
    known = modules()
    return {m: {t for t in targets if t in known and t != m and not m.startswith(f"{t}.")} for m, targets in imports().items()}


def capability(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["flyte", "core"] else None


def test_the_core_never_imports_flytekit_the_workflows_or_the_cli():
    bad = sorted(f"{m} imports {t}" for m, targets in imports().items() if m.startswith("flyte.core")
                 for t in targets if t.split(".")[0] == "flytekit" or t.startswith(("flyte.workflows", "flyte.cli")))  # fmt: skip
    assert not bad, bad


def test_every_core_capability_is_ranked():
    assert {capability(m) for m in modules() if capability(m)} == set(RANKS)


def test_no_capability_imports_one_above_it():
    upward = sorted(f"{m} ({capability(m)}) imports {t} ({capability(t)})" for m, targets in internal_edges().items()
                    if capability(m) for t in targets if capability(t) and RANKS[capability(t)] > RANKS[capability(m)])  # fmt: skip
    assert not upward, upward


def test_the_core_is_not_imported_from_above_by_top_level_tools():
    """flyte.cli, flyte.summary, flyte.doctor and the workflows sit above the core; the core names none of them."""
    above = {m for m in modules() if not m.startswith("flyte.core") and m != "flyte"}
    bad = sorted(f"{m} imports {t}" for m, targets in internal_edges().items() if m.startswith("flyte.core")
                 for t in targets if t in above)  # fmt: skip
    assert not bad, bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_lazy_import_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_at_all():
    found = cycles(internal_edges())
    assert not found, found


def test_no_folder_holds_more_than_twelve_modules():
    folders = {p.parent for p in modules().values()}
    crowded = sorted(f"{f.relative_to(REPO)}: {n}" for f in folders
                     if (n := len([p for p in f.glob("*.py") if p.name != "__init__.py"])) > MAX_MODULES_PER_FOLDER)  # fmt: skip
    assert not crowded, crowded


def test_no_module_passes_three_hundred_lines():
    long = sorted(f"{p.relative_to(REPO)}: {n}" for p in modules().values()
                  if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES)  # fmt: skip
    assert not long, long
