"""Writing a directory all or nothing (staged beside it, then renamed into place), and the sha256 of a file's bytes."""

# The staging name starts with '.' (and is never a plain name: uris.is_plain_name), so a listing of the parent
# never takes a half-written directory for a finished one, and a crash leaves nothing under the final name.

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def staged_directory(destination: Path) -> Iterator[Path]:
    """A new empty directory ``.<name>-XXXX`` beside ``destination`` (its parents made as needed) to fill in the
    block; renamed to ``destination`` when the block ends, removed with its contents when the block raises."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        yield staging
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class HashingFile:
    """A new file opened for writing that keeps the sha256 of every byte written to it, for Arrow to write into."""

    def __init__(self, path: Path):
        self._file, self._digest, self._written, self.closed = open(path, "wb"), hashlib.sha256(), 0, False

    def write(self, data) -> int:
        self._digest.update(data)
        self._written += len(data)
        return self._file.write(data)

    def tell(self) -> int:
        return self._written

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
        self.closed = True

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
