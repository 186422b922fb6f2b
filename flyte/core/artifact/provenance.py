"""Where a model came from: its data's hashes and profile, library versions, image, git commit and execution."""

# Read without importing the libraries (importlib.metadata), so recording provenance loads neither flytekit
# nor XGBoost, and the core stays free of flytekit. Nothing here is guessed: a fact that cannot be read is
# left empty, never filled from a default.

from __future__ import annotations

import logging
import os
import platform
import re
import subprocess
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path

from flyte.core.data.dataset import DataProfile
from flyte.core.data.row_hash import HASH_VERSION
from flyte.core.data.split import METHOD, SplitRule

log = logging.getLogger(__name__)

#: The libraries whose versions shape a model or its scores, as their distributions are named.
LIBRARIES = ("flytekit", "xgboost", "pandas", "pyarrow", "numpy")
#: Set in the image from docker_build_and_tag.sh's ``git rev-parse HEAD``, with ``-dirty`` appended when the
#: work tree had uncommitted changes.
GIT_COMMIT_ENV = "GIT_COMMIT"
#: flytekit's name for the image a task runs in (the Dockerfile sets it from the build's tag).
IMAGE_ENV = "FLYTE_INTERNAL_IMAGE"
#: The execution id recorded for a run outside a cluster (``pyflyte run`` without ``--remote``, a direct call).
LOCAL_EXECUTION = "local"
#: The directory holding the ``flyte`` package: a git checkout's root when run from one.
CODE_ROOT = Path(__file__).resolve().parents[3]

_COMMIT = re.compile(r"[0-9a-f]{40}(-dirty)?")


@dataclass
class DataSummary:
    """The training data, as ingest found it.

    source_sha256: sha256 (hex) of the source file's bytes.
    table_sha256: sha256 (hex) of the ingested Parquet table, the bytes split and fit read.
    rows / columns: the table's shape after validation.
    target: the column predicted; features: the feature columns in training order.
    class_counts: each class (label as text) to its row count; missing: each column to its missing values.
    """

    source_sha256: str = ""
    table_sha256: str = ""
    rows: int = 0
    columns: int = 0
    target: str = ""
    features: list[str] = field(default_factory=list)
    class_counts: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)


@dataclass
class Provenance:
    """The code and environment that made a model.

    python: the interpreter's version; libraries: distribution name to installed version ("" if absent).
    image: the container image reference (``FLYTE_INTERNAL_IMAGE``), "" outside an image.
    git_commit: the full commit hash the image or checkout was built from, "" when unknown.
    git_dirty: the work tree held uncommitted changes at that commit (meaningless when git_commit is "").
    execution_id: the Flyte execution (``project:domain:name``), or ``local`` for a local run.
    """

    python: str = ""
    libraries: dict[str, str] = field(default_factory=dict)
    image: str = ""
    git_commit: str = ""
    git_dirty: bool = False
    execution_id: str = ""


def summarize(profile: DataProfile) -> DataSummary:
    """The profile's facts a manifest keeps (no dtypes: the schema has the features, the card the full profile)."""
    return DataSummary(
        source_sha256=profile.sha256,
        table_sha256=profile.table_sha256,
        rows=profile.rows,
        columns=profile.columns,
        target=profile.target,
        features=list(profile.feature_columns),
        class_counts=dict(profile.class_counts),
        missing=dict(profile.missing),
    )


def collect(execution_id: str, environ: dict[str, str] | None = None, root: Path = CODE_ROOT) -> Provenance:
    """The provenance of code running now with ``environ`` (default: this process's environment).

    ``execution_id``: the Flyte execution running the task, or ``LOCAL_EXECUTION``.
    """
    env = os.environ if environ is None else environ
    commit, dirty = git_commit(env, root)
    return Provenance(
        python=platform.python_version(),
        libraries={name: library_version(name) for name in LIBRARIES},
        image=env.get(IMAGE_ENV, ""),
        git_commit=commit,
        git_dirty=dirty,
        execution_id=execution_id,
    )


def library_version(name: str) -> str:
    """The installed version of a distribution, "" when absent; XGBoost ships as ``xgboost-cpu`` on Linux."""
    return installed(name)[1]


def installed(name: str) -> tuple[str, str]:
    """(distribution, version) of the library ``name`` as installed, (name, "") when absent: XGBoost ships as
    ``xgboost-cpu`` on Linux, ``xgboost`` elsewhere."""
    for dist in (f"{name}-cpu", name) if name == "xgboost" else (name,):
        try:
            return dist, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return name, ""


def git_commit(environ, root: Path = CODE_ROOT) -> tuple[str, bool]:
    """(commit, dirty): from ``GIT_COMMIT`` when set (an image), else from ``root`` when it is a git checkout's
    top level; ("", False) when neither says."""
    recorded = environ.get(GIT_COMMIT_ENV, "").strip()
    if recorded:
        if _COMMIT.fullmatch(recorded):
            return recorded.removesuffix("-dirty"), recorded.endswith("-dirty")
        log.warning("%s=%r is not a 40-hex commit (optionally -dirty); recording no commit", GIT_COMMIT_ENV, recorded)
        return "", False
    top = _git(root, "rev-parse", "--show-toplevel")
    # A package copied into another repository's tree is not that repository's commit.
    if top is None or Path(top).resolve() != Path(root).resolve():
        return "", False
    head = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain")
    if head is None or status is None or not _COMMIT.fullmatch(head):
        return "", False
    return head, bool(status)


def _git(root: Path, *args: str) -> str | None:
    """git's stdout, stripped, or None when git is missing, fails or hangs."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def from_dict(cls, raw) -> object:
    """``cls`` (DataSummary or Provenance) from a manifest's JSON object: unknown keys dropped, absent ones
    defaulted, so manifests written before or after a field was added still read."""
    if not isinstance(raw, dict):
        return cls()
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in known})


def recorded_rule(manifest) -> SplitRule | None:
    """The split rule a model's manifest (``Manifest``: its ``split`` record) records, or None when it records none this
    code can recompute."""
    raw = manifest.split.get("rule") if isinstance(manifest.split, dict) else None
    if not isinstance(raw, dict):
        return None
    names = [f.name for f in fields(SplitRule)]
    values = {k: raw.get(k) for k in names}
    types = {"method": str, "hash_version": int, "seed": int, "test_ratio": (int, float), "validation_ratio": (int, float),
             "key_column": str}  # fmt: skip
    if any(isinstance(values[k], bool) or not isinstance(values[k], types[k]) for k in names):
        return None
    rule = SplitRule(**values)
    if rule.method != METHOD or rule.hash_version != HASH_VERSION or not 0 < rule.test_ratio < 1 or not 0 <= rule.validation_ratio < 1:
        return None
    return rule
