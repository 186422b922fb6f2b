"""Writing a directory all or nothing: built under a hidden staging name beside it, then renamed into place."""

# The staging name starts with '.' (and is never a plain name: uris.is_plain_name), so a listing of the parent
# never takes a half-written directory for a finished one, and a crash leaves nothing under the final name.

from __future__ import annotations

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
