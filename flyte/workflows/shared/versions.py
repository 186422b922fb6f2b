"""Cache versions derived from code: a stage's manual version, its source closure and the libraries it uses."""

# Why derived: a cache keyed on a hand-bumped version serves old results whenever someone changes a stage's
# code (or upgrades XGBoost) and forgets the bump, and no test with an empty cache can notice. Here a stage's
# version also hashes the bytes of every project module its core call can reach (found by reading their
# import statements, not by importing them: XGBoost stays unloaded), the thin task wiring in tasks.py, and the
# installed versions of the libraries that shape its outputs. The trade-off: any edit in that closure, even a
# comment, misses the cache once; a stale hit is impossible. The manual part stays for deliberate bumps.
# Settings a task reads from flyte/workflows/config.py rather than from its inputs (bootstrap counts, thread
# counts, memory budgets) are in no input, and config.py is in no closure: each stage names them in ``settings``.

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path

from flyte.core.artifact.provenance import installed

#: The directory holding the ``flyte`` package (the repo root, or the image's app directory).
ROOT = Path(__file__).resolve().parents[3]
#: The training tasks' module: hashed into each of their stages, its own imports not followed (it imports every stage).
TASKS_MODULE = "flyte.workflows.training.tasks"
#: Task helpers every task module uses (how tables and models reach Flyte, where sources come from): hashed
#: into every stage, whichever task module wires it.
SHARED_WIRING = ("flyte.workflows.shared.artifacts", "flyte.workflows.shared.sources")


def module_file(module: str) -> Path | None:
    """The source file of a project module, or None when it is not part of the project."""
    return _module_file(ROOT, module)


@functools.lru_cache(maxsize=None)  # every stage's closure asks for the same modules: look each up once
def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


#: Import statements naming project modules, anywhere in a file (lazy imports inside functions included):
#: ``import flyte.x``, ``from flyte.x import a, b`` and the parenthesised multi-line form. A regular
#: expression, not ast: parsing every file took a tenth of a second of each cached run.
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(flyte(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)|import[ \t]+(flyte(?:\.\w+)*))",
    re.MULTILINE,
)


def _source(path: Path) -> bytes:
    stat = path.stat()
    return _read(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)  # keyed on mtime and size, like the imports: an edited file is read again
def _read(path: Path, _mtime_ns: int, _size: int) -> bytes:
    return path.read_bytes()


def _imports(path: Path) -> frozenset[str]:
    stat = path.stat()
    return _parsed_imports(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)  # five stages share most of their closures: read each file once
def _parsed_imports(path: Path, _mtime_ns: int, _size: int) -> frozenset[str]:
    names = set()
    # Comments go first: one inside a parenthesised import may hold parentheses of its own.
    for found in _IMPORT.finditer(re.sub(r"#[^\n]*", "", _read(path, _mtime_ns, _size).decode("utf-8"))):
        module, imported, plain = found.groups()
        if plain:
            names.add(plain)
            continue
        names.add(module)
        for name in re.findall(r"\b(\w+)(?:[ \t]+as[ \t]+\w+)?", imported.strip("()")):
            if name != "as":
                names.add(f"{module}.{name}")  # `from flyte.core import labels`: a submodule, when one exists
    return frozenset(names)


def closure(root: str) -> list[Path]:
    """Every project source file ``root`` can reach through its imports, itself included, sorted."""
    seen: dict[str, Path] = {}
    pending = [root]
    while pending:
        module = pending.pop()
        path = module_file(module)
        if module in seen or path is None:
            continue
        seen[module] = path
        pending.extend(_imports(path))
    return sorted(set(seen.values()))


def library_version(name: str) -> str:
    """``<distribution>==<version>`` as installed (``xgboost-cpu`` on Linux), ``<name>==absent`` when it is not."""
    dist, version = _installed(name)
    return f"{dist}=={version or 'absent'}"


#: Installed versions, read once per process: each read parses the distribution's metadata file.
_installed = functools.lru_cache(maxsize=None)(installed)


def code_digest(root: str, libraries: tuple[str, ...], tasks_module: str = TASKS_MODULE) -> str:
    """sha256 of the stage's source closure, the task wiring (``tasks_module`` and the shared helpers) and its
    libraries' installed versions."""
    digest = hashlib.sha256()
    files = closure(root) + [module_file(m) for m in (tasks_module, *SHARED_WIRING)]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + _source(path) + b"\0")
    for name in sorted(libraries):
        digest.update(library_version(name).encode() + b"\0")
    return digest.hexdigest()


def settings_digest(settings: dict) -> str:
    """sha256 of a stage's settings (name to a JSON value: numbers, text, booleans), keys sorted."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def derived(
    manual: str, root: str, libraries: tuple[str, ...], tasks_module: str = TASKS_MODULE, settings: dict | None = None
) -> str:
    """The cache version of a stage: ``<manual>-<16 hex of code_digest>``, then ``-<12 hex of settings_digest>``
    when the stage reads ``settings`` (config constants that shape its outputs, by name); ``tasks_module`` is the
    module whose task runs the stage."""
    version = f"{manual}-{code_digest(root, libraries, tasks_module)[:16]}"
    return f"{version}-{settings_digest(settings)[:12]}" if settings else version
