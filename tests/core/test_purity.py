"""The core never imports flytekit: it must run, and be tested, without an orchestrator."""

from __future__ import annotations

import ast
from pathlib import Path

import flyte.core

CORE = Path(flyte.core.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_modules_do_not_import_flytekit():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) >= 8  # errors, ingest, split, fit, model, predict, score, report (+ __init__)
    offenders = [p.name for p in modules if {"flytekit", "flyteidl"} & imported_modules(p)]
    assert offenders == []


def test_every_module_opens_with_a_one_line_docstring():
    for path in sorted(Path(flyte.__file__).parent.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and "\n" not in doc.strip(), path
