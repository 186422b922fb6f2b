"""The model registry: every promoted model kept under its own version, and an atomically replaced champion pointer."""

# Layout under the registry location (a local directory, or an s3:// / gs:// prefix, through fsspec):
#   versions/<version>/   the model directory's files, as its manifest.json lists them; never overwritten or deleted
#   champion.json         the pointer: version, sha256 of its manifest.json, promoted_at, reasons
# A promotion first writes and verifies every file of the new version, then replaces the pointer in ONE step:
#   - locally, a temporary file renamed over the pointer with os.replace (atomic on POSIX and Windows);
#   - on an object store, one PUT of one small object. S3: "Amazon S3 never adds partial objects; if you receive
#     a success response, Amazon S3 added the entire object to the bucket" (PutObject, S3 API Reference), and
#     since December 2020 S3 reads are strongly consistent after a write. GCS uploads are likewise all or nothing
#     and strongly consistent (cloud.google.com/storage/docs/consistency). Not verified here: no bucket is reachable.
# So a reader sees the old pointer or the new one, never a torn one, and the version a pointer names is complete.

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from flyte.core.errors import ActionableError, DataValidationError
from flyte.core.manifest import MANIFEST_FILE, sha256, verify_directory
from flyte.core.schema import MODEL_FILE, SCHEMA_FILE

log = logging.getLogger(__name__)

POINTER = "champion.json"
VERSIONS = "versions"
FORMAT = 1


class ChampionMoved(ActionableError):
    """The champion changed between judging a challenger and promoting it: the judgement no longer holds."""


@dataclass
class ChampionPointer:
    """What champion.json holds.

    version: the directory name under versions/; manifest_sha256: sha256 of that version's manifest.json
    (which holds the sha256 of every other file), so the pointer pins the exact bytes.
    promoted_at: ISO 8601 UTC time of the promotion; reasons: why it was promoted (the gate's reasons, or a rollback).
    """

    version: str
    manifest_sha256: str
    promoted_at: str
    reasons: list[str] = field(default_factory=list)
    format: int = FORMAT

    @property
    def identity(self) -> str:
        """``<version>@<manifest sha256>``: what a cache key needs to know about the champion."""
        return f"{self.version}@{self.manifest_sha256}"


def parse_pointer(data: bytes, where: str) -> ChampionPointer:
    """The ChampionPointer stored as ``data`` (the content of ``where``); a malformed one is refused, naming it."""
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise DataValidationError(f"{where}: not valid JSON ({exc})") from None
    keys = {"version", "manifest_sha256", "promoted_at", "reasons", "format"}
    if not isinstance(raw, dict) or set(raw) != keys or raw["format"] != FORMAT:
        raise DataValidationError(f"{where}: expected a format-{FORMAT} object with keys {sorted(keys)}")
    pointer = ChampionPointer(**raw)
    if not (isinstance(pointer.version, str) and _safe_name(pointer.version) and isinstance(pointer.manifest_sha256, str)):
        raise DataValidationError(f"{where}: names no valid version: {pointer.version!r}")
    return pointer


def champion_uri(registry: str, pointer: ChampionPointer) -> str:
    """Where the champion's model directory is: ``<registry>/versions/<version>``."""
    return f"{registry.rstrip('/')}/{VERSIONS}/{pointer.version}"


def version_name(manifest_digest: str, when: datetime) -> str:
    """A new version's name: its UTC time (so names sort by age) and 12 hex of its manifest's sha256 (its content)."""
    return f"{when.strftime('%Y%m%dT%H%M%SZ')}-{manifest_digest[:12]}"


class Registry:
    """A registry at ``location``: a local path (relative to the working directory), ``file://``, ``s3://``,
    ``gs://`` or any fsspec URL (tests use ``memory://``)."""

    def __init__(self, location: str):
        if not location:
            raise DataValidationError("the model registry location is empty", hint="pass --registry DIR or s3://bucket/prefix")
        self.location = location
        self.fs, self.root = fsspec.core.url_to_fs(location)
        self.local = isinstance(self.fs, LocalFileSystem)

    def _path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    # --- reading --------------------------------------------------------------------------------------------

    def champion(self) -> ChampionPointer | None:
        """The current champion's pointer, or None when nothing was promoted yet; a malformed pointer is refused."""
        path = self._path(POINTER)
        if not self.fs.exists(path):
            return None
        return parse_pointer(self.fs.cat_file(path), f"{self.location}/{POINTER}")

    def champion_identity(self) -> str:
        """``<version>@<sha256>`` of the champion, or "" when there is none."""
        pointer = self.champion()
        return "" if pointer is None else pointer.identity

    def versions(self) -> list[str]:
        """Every version's name, oldest first (names start with their UTC time)."""
        path = self._path(VERSIONS)
        if not self.fs.exists(path):
            return []
        names = (entry.rstrip("/").rsplit("/", 1)[-1] for entry in self.fs.ls(path, detail=False))
        return sorted(n for n in names if _safe_name(n))

    def manifest_digest(self, version: str) -> str:
        """sha256 of a version's manifest.json, or "" when the version is absent or was never completed."""
        path = self._path(VERSIONS, version, MANIFEST_FILE)
        return sha256(self.fs.cat_file(path)) if self.fs.exists(path) else ""

    def fetch(self, version: str, expected_digest: str, destination: Path) -> Path:
        """Copy a version into the new local directory ``destination`` and verify every file against its manifest,
        and the manifest against ``expected_digest`` (the pointer's); returns ``destination``."""
        destination = Path(destination)
        destination.mkdir(parents=True)
        source = self._path(VERSIONS, version)
        for entry in self.fs.ls(source, detail=False):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            (destination / name).write_bytes(self.fs.cat_file(entry))
        digest = sha256((destination / MANIFEST_FILE).read_bytes()) if (destination / MANIFEST_FILE).is_file() else ""
        if digest != expected_digest:
            raise DataValidationError(
                f"{self.location}/{VERSIONS}/{version}/{MANIFEST_FILE}: sha256 {digest[:12] or 'absent'} does not match "
                f"the champion pointer ({expected_digest[:12]}); the version was changed after promotion"
            )
        verify_directory(destination, [MODEL_FILE, SCHEMA_FILE])
        return destination

    # --- writing --------------------------------------------------------------------------------------------

    def publish(self, model_dir: Path, when: datetime) -> str:
        """Store the model directory as a version (or find the complete version already holding the same bytes)
        and return its name. Every file is verified after writing; an existing version is never written to."""
        model_dir = Path(model_dir)
        manifest = verify_directory(model_dir, [MODEL_FILE, SCHEMA_FILE])
        digest = sha256((model_dir / MANIFEST_FILE).read_bytes())
        for existing in self.versions():
            if existing.endswith(f"-{digest[:12]}") and self.manifest_digest(existing) == digest:
                log.info("registry %s: the model is already version %s", self.location, existing)
                return existing
        version = version_name(digest, when)
        final = self._path(VERSIONS, version)
        if self.fs.exists(final):
            raise FileExistsError(f"{self.location}/{VERSIONS}/{version}: already exists; versions are never overwritten")
        # The manifest goes last: a version without it is incomplete, and nothing ever points at it.
        names = sorted(manifest.files) + [MANIFEST_FILE]
        if self.local:
            # Locally the whole directory appears at once: written under a hidden name, then renamed.
            self.fs.makedirs(self._path(VERSIONS), exist_ok=True)
            staging = tempfile.mkdtemp(prefix=f".{version}-", dir=self._path(VERSIONS))
            self._write_files(model_dir, staging, names)
            os.rename(staging, final)
        else:
            self._write_files(model_dir, final, names)
        log.info("registry %s: wrote version %s (%d files, each verified)", self.location, version, len(names))
        return version

    def _write_files(self, model_dir: Path, target: str, names: list[str]) -> None:
        for name in names:
            data = (model_dir / name).read_bytes()
            self.fs.pipe_file(f"{target}/{name}", data)
            if sha256(self.fs.cat_file(f"{target}/{name}")) != sha256(data):
                raise OSError(f"{target}/{name}: the bytes read back differ from those written")

    def point(self, version: str, reasons: list[str], when: datetime) -> ChampionPointer:
        """Make ``version`` (complete, verified) the champion: replace champion.json in one atomic step."""
        digest = self.manifest_digest(version)
        if not digest:
            raise DataValidationError(f"{self.location}/{VERSIONS}/{version}: no such complete version", hint=f"see {self.versions()}")
        pointer = ChampionPointer(version=version, manifest_sha256=digest, promoted_at=when.isoformat(), reasons=list(reasons))
        self._replace_pointer(json.dumps(asdict(pointer), indent=2).encode())
        log.info("registry %s: champion is now %s", self.location, version)
        return pointer

    def _replace_pointer(self, data: bytes) -> None:
        path = self._path(POINTER)
        if not self.local:
            self.fs.pipe_file(path, data)  # one PUT: all or nothing (see the top of this module)
            return
        Path(self.root).mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{POINTER}-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())  # the bytes are on disk before the name moves to them
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def promote(self, model_dir: Path, reasons: list[str], when: datetime, expected_champion: str) -> ChampionPointer:
        """Publish ``model_dir`` and make it the champion, if the champion is still ``expected_champion`` (the identity
        the gate judged against; "" for none). Idempotent: the current champion promoted again changes nothing."""
        current = self.champion()
        if (current.identity if current else "") != expected_champion:
            raise ChampionMoved(
                f"{self.location}: the champion is {current.identity if current else 'none'}, but the gate judged "
                f"against {expected_champion or 'none'}",
                hint="run the pipeline again: it will judge the new model against the current champion",
            )
        version = self.publish(model_dir, when)
        if current is not None and current.version == version:
            log.info("registry %s: %s is already the champion; nothing to do", self.location, version)
            return current
        return self.point(version, reasons, when)


def _safe_name(name: str) -> bool:
    return bool(name) and not name.startswith(".") and "/" not in name and name not in ("..",)


def main(argv: list[str]) -> int:
    """``python -m flyte.core.registry list REGISTRY`` | ``rollback REGISTRY VERSION`` (a rollback is a pointer move)."""
    from datetime import timezone

    if len(argv) == 2 and argv[0] == "list":
        registry = Registry(argv[1])
        champion = registry.champion()
        for version in registry.versions():
            mark = "*" if champion and champion.version == version else " "
            sys.stdout.write(f"{mark} {version}{'' if registry.manifest_digest(version) else '  (incomplete)'}\n")
        return 0
    if len(argv) == 3 and argv[0] == "rollback":
        registry = Registry(argv[1])
        previous = registry.champion()
        reason = f"rollback by hand from {previous.version if previous else 'none'}"
        digest = registry.manifest_digest(argv[2])
        if digest:  # every file verified before the pointer moves to it
            with tempfile.TemporaryDirectory() as scratch:
                registry.fetch(argv[2], digest, Path(scratch) / "check")
        pointer = registry.point(argv[2], [reason], datetime.now(timezone.utc))
        sys.stdout.write(f"champion: {pointer.version}\n")
        return 0
    sys.stderr.write(main.__doc__ + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
