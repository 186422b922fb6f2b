"""Compressed text files: which codec a file is written with, told by its first bytes, and its decompressed bytes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from flyte.core.common.errors import DataValidationError

#: Each codec Arrow can stream-decompress, with the bytes every file in that format starts with. Told by
#: content, not by name: a ``.csv`` that is really gzip is read, and a ``.gz`` that is plain text is too.
MAGIC = (
    ("gzip", b"\x1f\x8b"),
    ("bz2", b"BZh"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
    ("lz4", b"\x04\x22\x4d\x18"),  # the LZ4 frame format (``lz4`` on the command line), not raw blocks
)

#: Bytes read from each stream per call; Arrow's own buffering sits under this.
READ_CHUNK = 1 << 20


def codec_of(path: Path) -> str:
    """The compression codec of ``path`` (``gzip``, ``bz2``, ``zstd``, ``lz4``), or "" for an uncompressed file."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    return next((name for name, magic in MAGIC if head.startswith(magic)), "")


def open_bytes(path: Path, name: str = "") -> BinaryIO:
    """``path``'s bytes, decompressed when it is compressed; a binary file object to read and close.

    name: how messages name the file (the dataset's source); defaults to the path.
    """
    codec = codec_of(path)
    if not codec:
        return open(path, "rb")
    if not pa.Codec.is_available(codec):
        raise DataValidationError(f"{name or path}: is {codec}-compressed, which this pyarrow build cannot decompress",
                                  hint="decompress the file first")  # fmt: skip
    return io.BufferedReader(_Decompressed(path, name or str(path), codec), READ_CHUNK)


class _Decompressed(io.RawIOBase):
    """Arrow's decompressing stream as a raw file; corrupt or truncated data is a DataValidationError naming the file."""

    def __init__(self, path: Path, name: str, codec: str):
        super().__init__()
        self._stream = pa.CompressedInputStream(pa.OSFile(str(path), "rb"), codec)
        self._name, self._codec = name, codec

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._stream.read(len(buffer))
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataValidationError(f"{self._name}: cannot decompress as {self._codec}: {str(exc)[:120]}") from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()
