"""CSV text handling around Arrow's reader: comment lines, leading lines, missing-value markers, safe echoes."""

from __future__ import annotations

import codecs
import io
import re
from pathlib import Path

from flyte.core.dataset import DatasetSpec
from flyte.core.errors import ECHO_CHARS, DataValidationError, shorten  # noqa: F401  (re-exported)


def safe_text(row) -> str:
    """An invalid row's text; bytes that are not valid in the file's encoding must not raise inside Arrow's handler."""
    try:
        return row.text
    except UnicodeDecodeError:
        return "<bytes that are not valid text in this encoding>"


def null_markers(spec: DatasetSpec) -> list[str]:
    """The field texts Arrow reads as missing: each marker, and with trimming, padded by a space as ``, `` leaves it."""
    markers = set(spec.missing_values)
    if spec.trim_whitespace:
        for m in spec.missing_values:
            m = m.strip()
            markers |= {m, f" {m}", f"{m} ", f" {m} "}
    return sorted(markers)


def leading_lines_to_skip(path: Path, spec: DatasetSpec) -> int:
    """Comment and blank lines right after ``skip_rows``, before the header or first row, to skip as well."""
    prefix = spec.comment_prefix.encode(spec.encoding) if spec.comment_prefix else None
    count = 0
    with open(path, "rb") as fh:
        for _ in range(spec.skip_rows):
            if not fh.readline():
                return 0
        for line in fh:
            stripped = line.strip()
            if stripped and not (prefix and stripped.startswith(prefix)):
                break
            count += 1
    return count


class CommentBlanker(io.RawIOBase):
    """A file read with every line that starts with the comment prefix emptied, its newline kept.

    Emptied, not removed: Arrow then numbers rows by physical line, and the reader skips the empty rows.
    The prefix is matched on bytes, so this suits ASCII-compatible encodings (UTF-8, latin-1, cp1252).
    """

    CHUNK = 1 << 20

    def __init__(self, path: Path, prefix: str, encoding: str):
        super().__init__()
        self._file = open(path, "rb")
        self._pattern = re.compile(rb"(?m)^" + re.escape(prefix.encode(encoding)) + rb"[^\n]*")
        self._carry = b""
        self._out = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        chunk = self._file.read(self.CHUNK)
        if not chunk:
            self._eof = True
            data, self._carry = self._carry, b""
        else:
            data = self._carry + chunk
            cut = data.rfind(b"\n") + 1  # keep the unfinished last line for the next chunk
            data, self._carry = data[:cut], data[cut:]
        self._out += self._pattern.sub(b"", data)

    def readinto(self, buffer) -> int:
        while not self._out and not self._eof:
            self._fill()
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


#: Bytes read from the top of a CSV to tell text from binary before Arrow sees it.
SNIFF_BYTES = 1 << 16


def check_text(path: Path, spec: DatasetSpec) -> None:
    """Refuse a file whose first bytes are not text in the spec's encoding, naming the line, before parsing.

    Binary input would otherwise reach Arrow's bad-row handler as undecodable bytes (and be echoed).
    """
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    codec = codecs.lookup(spec.encoding).name
    parquet_hint = "it is a Parquet file: set file_format to parquet" if head.startswith(b"PAR1") else ""
    if b"\x00" in head and not codec.startswith(("utf-16", "utf-32")):
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise DataValidationError(
            f"{spec.source}: line {line} holds binary data (a NUL byte): not a {spec.encoding} text file, so not a CSV",
            hint=parquet_hint or "check the file: a CSV is text",
        )
    if len(head) == SNIFF_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]  # do not cut a multi-byte character in two
    try:
        head.decode(codec)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise DataValidationError(
            f"{spec.source}: line {line} holds bytes that are not valid {spec.encoding}; "
            f"set the dataset's encoding (for example latin-1 or cp1252)",
            hint=parquet_hint or 'a CSV from Excel or an older system is often cp1252 or latin-1: "encoding": "cp1252"',
        ) from None
