"""Where a local run writes: the project's local directory, flytekit pointed at it, and stale cache entries pruned."""

# Task outputs, flytekit's own files and the local task cache live in one directory of the project (.flyte-local/,
# or $PIPELINE_LOCAL_DIR), not in random flyte* folders of the system temp directory that a temp cleaner may delete
# while the cache still points at them. Nothing here imports flytekit at module level: prepare() must run first.

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from flyte.core.common import uris

#: The project root in a checkout, so the local directory is the same whatever the working directory.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where local runs keep everything they write, unless LOCAL_DIR_ENV names another directory.
DEFAULT_LOCAL_DIR = REPO_ROOT / ".flyte-local"
LOCAL_DIR_ENV = "PIPELINE_LOCAL_DIR"


@dataclass(frozen=True)
class LocalDirs:
    """The directories a local run writes to, all under ``root``.

    outputs: each task's working directory, holding what it writes and returns: the model, the report,
        and the tables as each task wrote them.
    flytekit: flytekit's own directories (this process's temporary directory): the copies of the tables
        it hands from task to task, Deck pages, scratch files.
    cache: flytekit's local task cache, whose entries name files under ``outputs`` and ``flytekit``.
    """

    root: Path

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def flytekit(self) -> Path:
        return self.root / "flytekit"

    @property
    def cache(self) -> Path:
        return self.root / "cache"


def local_dirs() -> LocalDirs:
    """The local directory this process uses: $PIPELINE_LOCAL_DIR, or .flyte-local/ in the project."""
    return LocalDirs(Path(os.environ.get(LOCAL_DIR_ENV) or DEFAULT_LOCAL_DIR).resolve())


def prepare(dirs: LocalDirs) -> None:
    """Create the directories and point flytekit at them; call before flytekit is imported."""
    for directory in (dirs.outputs, dirs.flytekit, dirs.cache):
        directory.mkdir(parents=True, exist_ok=True)
    # flytekit reads the sandbox from its config (this variable) when imported, and makes its own
    # directories with tempfile at import too; both must be set before then.
    os.environ["FLYTE_SDK_LOCAL_SANDBOX"] = str(dirs.outputs)
    tempfile.tempdir = str(dirs.flytekit)


def prune_stale_cache(cache: Path) -> int:
    """Delete the local cache's entries that name a local file or directory that no longer exists; return
    how many. A hit on such an entry fails the run ("Expected a directory ... is not a directory"), and no
    input change helps, since the entry is reached again through the unchanged inputs of a later task.
    Pruned, the task simply runs again.
    """
    from diskcache import Cache
    from flyteidl.core.literals_pb2 import LiteralMap

    stale = []
    with Cache(str(cache)) as entries:
        for key in list(entries):
            value = entries.get(key)
            if not isinstance(value, bytes):  # flytekit stores serialized LiteralMaps; leave anything else be
                continue
            outputs = LiteralMap()
            outputs.ParseFromString(value)
            if any(uris.is_file(uri) and not uris.file_path(uri).exists() for uri in _uris(outputs)):
                stale.append(key)
        for key in stale:
            entries.delete(key)
    return len(stale)


def _uris(literal_map) -> Iterator[str]:
    """Every file and table location named in a flyteidl LiteralMap, however deeply nested."""
    pending = list(literal_map.literals.values())
    while pending:
        literal = pending.pop()
        kind = literal.WhichOneof("value")
        if kind == "collection":
            pending.extend(literal.collection.literals)
        elif kind == "map":
            pending.extend(literal.map.literals.values())
        elif kind == "scalar":
            scalar = literal.scalar
            which = scalar.WhichOneof("value")
            if which == "blob":
                yield scalar.blob.uri
            elif which == "structured_dataset":
                yield scalar.structured_dataset.uri
            elif which == "union":
                pending.append(scalar.union.value)
