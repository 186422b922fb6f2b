"""CSV text handling around Arrow's reader: comment lines, leading lines, missing-value markers, safe echoes."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import Iterator

from flyte.core.data.formats.compression import open_bytes
from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import DataValidationError


def safe_text(row) -> str:
    """An invalid row's text; bytes that are not valid in the file's encoding must not raise inside Arrow's handler."""
    try:
        return row.text
    except UnicodeDecodeError:
        return "<bytes that are not valid text in this encoding>"


def null_markers(spec: DatasetSpec) -> list[str]:
    """The field texts Arrow reads as missing: each marker, and with trimming, padded by a space as ``, `` leaves it."""
    markers = set(spec.missing_markers())
    if spec.trim_whitespace:
        for m in spec.missing_markers():
            m = m.strip()
            markers |= {m, f" {m}", f"{m} ", f" {m} "}
    return sorted(markers)


def leading_lines_to_skip(path: Path, spec: DatasetSpec) -> int:
    """Comment and blank lines right after ``skip_rows``, before the header or first row, to skip as well.

    Refuses a file with nothing after them (skip_rows past its end, or only blank and comment lines).
    """
    prefix = spec.comment_prefix.encode(spec.encoding) if spec.comment_prefix else None
    count = 0
    with open_bytes(path, spec.source) as fh:
        for line_number in range(spec.skip_rows):
            if not fh.readline():
                raise DataValidationError(
                    f"{spec.source}: skip_rows is {spec.skip_rows} but the file has only {line_number} line(s)",
                    hint="lower skip_rows to the number of lines above the header (or the first row)",
                )
        for line in fh:
            stripped = line.strip()
            if stripped and not (prefix and stripped.startswith(prefix)):
                return count
            count += 1
    after = f" after the {spec.skip_rows} skipped by skip_rows" if spec.skip_rows else ""
    raise DataValidationError(f"{spec.source}: holds no header or data{after}, only blank or comment lines")


class LineNumbers:
    """The physical line each of Arrow's record numbers starts on, counted by reading the file again.

    Arrow numbers records, not lines: ``skip`` (the lines skipped at the top) plus the record's place among
    the non-empty records after them. A quoted field holding a newline spans several lines, and empty lines
    are not records, so the two part ways; this re-reads the text with the same quoting rules (``csv``) to
    map one to the other. Only errors ask, so the re-read costs nothing on a good file. It moves forward
    through the file and starts over only when asked about an earlier record.
    """

    def __init__(self, path: Path, spec: DatasetSpec, skip: int):
        self.path, self.spec, self.skip = path, spec, skip
        self._starts: Iterator[int] | None = None
        self._seen, self._line = 0, skip

    def line_of(self, record: int) -> int:
        """The physical line (1-based) that Arrow's record number ``record`` starts on."""
        wanted = record - self.skip
        if wanted <= 0:
            return record
        if self._starts is None or wanted < self._seen:
            self._starts, self._seen, self._line = self._record_starts(), 0, self.skip
        for line in self._starts:
            self._seen, self._line = self._seen + 1, line
            if self._seen == wanted:
                return line
        return self._line + (wanted - self._seen)  # past the end (should not happen): count on by records

    def _record_starts(self) -> Iterator[int]:
        prefix = self.spec.comment_prefix
        with open_bytes(self.path, self.spec.source) as raw:
            text = io.TextIOWrapper(raw, encoding=self.spec.encoding, errors="replace", newline="")
            for _ in range(self.skip):
                text.readline()
            # Comment lines are emptied, as CommentBlanker empties them for Arrow, so a quote in a comment is inert.
            lines = ("\n" if prefix and line.startswith(prefix) else line for line in text)
            reader = csv.reader(lines, delimiter=self.spec.delimiter, quotechar='"', doublequote=True, strict=False)
            before = 0
            try:
                for fields in reader:
                    if fields:  # an empty line yields no fields; Arrow does not count it
                        yield self.skip + before + 1
                    before = reader.line_num
            except csv.Error:  # a NUL byte or a huge field: stop here, and line_of counts on by records
                return


class CommentBlanker(io.RawIOBase):
    """A file read with every line that starts with the comment prefix emptied, its newline kept.

    Emptied, not removed: Arrow then numbers rows by physical line, and the reader skips the empty rows.
    The prefix is matched on bytes, so this suits ASCII-compatible encodings (UTF-8, latin-1, cp1252).
    """

    CHUNK = 1 << 20

    def __init__(self, path: Path, prefix: str, encoding: str):
        super().__init__()
        self._file = open_bytes(path)
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
    with open_bytes(path, spec.source) as fh:
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
