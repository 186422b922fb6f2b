"""The model registry: each model name's promoted models kept as versions, and its champion pointer, compare-and-set."""

# Layout under the registry location (a local directory, or an s3:// / gs:// prefix, through fsspec); each model
# name is an entry of its own, <registry>/<name>/ (flyte/core/registry/names.py), holding:
#   versions/<version>/   the model directory's files, as its manifest.json lists them; never overwritten or deleted
#   claims/<sha256>       which version holds the model whose manifest has that sha256: created once, never replaced
#   champion.json         the pointer: version, sha256 of its manifest.json, promoted_at, reasons
# A promotion writes and verifies every file of the new version first, then replaces the pointer with a
# compare-and-set (flyte/core/registry/store.py): the write succeeds only if the pointer is still the one whose
# champion the gate judged against; otherwise it raises ChampionMoved and writes nothing. A reader sees the old
# pointer or the new one, never a torn one: locally an fsynced temporary file is renamed over it; on S3 and GCS an
# upload is all or nothing ("Amazon S3 never adds partial objects", PutObject, S3 API Reference; GCS:
# cloud.google.com/storage/docs/consistency), and reads after a write are strongly consistent on both.

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from flyte.core.common import uris
from flyte.core.common.errors import ActionableError, DataValidationError
from flyte.core.artifact.manifest import MANIFEST_FILE, sha256, verify_directory
from flyte.core.registry.store import ConditionalStore, Conflict, Versioned
from flyte.core.artifact.schema import MODEL_FILE, SCHEMA_FILE

log = logging.getLogger(__name__)

POINTER = "champion.json"
VERSIONS = "versions"
CLAIMS = "claims"
FORMAT = 1
#: Compare-and-set attempts when the pointer's bytes changed but its champion did not (a rewrite of the same one).
_CAS_ATTEMPTS = 5


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
        raise DataValidationError(f"{where}: not valid JSON ({str(exc)[:80]})") from None
    keys = {"version", "manifest_sha256", "promoted_at", "reasons", "format"}
    if not isinstance(raw, dict) or set(raw) != keys or raw["format"] != FORMAT:
        raise DataValidationError(f"{where}: expected a format-{FORMAT} object with keys {sorted(keys)}")
    pointer = ChampionPointer(**raw)
    if not (isinstance(pointer.version, str) and uris.is_plain_name(pointer.version) and isinstance(pointer.manifest_sha256, str)):
        raise DataValidationError(f"{where}: names no valid version: {str(pointer.version)[:80]!r}")
    return pointer


def champion_uri(registry: str, pointer: ChampionPointer) -> str:
    """Where the champion's model directory is: ``<entry>/versions/<version>``, ``registry`` being the entry."""
    return uris.child(uris.child(registry, VERSIONS), pointer.version)


def version_name(manifest_digest: str, when: datetime) -> str:
    """A new version's name: its UTC time (so names sort by age) and 12 hex of its manifest's sha256 (its content)."""
    return f"{when.strftime('%Y%m%dT%H%M%SZ')}-{manifest_digest[:12]}"


class Registry:
    """One model name's entry at ``location`` (``<registry>/<name>``, see ``registry_names.entry_location``): a
    local path (relative to the working directory), ``file://``, ``s3://``, ``gs://``, or ``memory://`` in tests.
    ``storage_options``: the fsspec options of an object store (endpoint, keys); None for the environment's."""

    def __init__(self, location: str, storage_options: dict | None = None):
        if not location:
            raise DataValidationError("the model registry location is empty", hint="pass --registry DIR or s3://bucket/prefix")
        self.location = location
        # No listings cache: another process may have written since this one last listed.
        self.fs, self.root = fsspec.core.url_to_fs(location, use_listings_cache=False, **(storage_options or {}))
        self.local = isinstance(self.fs, LocalFileSystem)
        self.store = ConditionalStore(self.fs, self.root, location)

    def _path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    # --- reading --------------------------------------------------------------------------------------------

    def _pointer(self, repair: bool = False) -> tuple[ChampionPointer | None, Versioned]:
        """The pointer and its stored bytes; ``repair``: a malformed pointer reads as none (to be overwritten)."""
        stored = self.store.read(self._path(POINTER))
        try:
            pointer = None if stored.data is None else parse_pointer(stored.data, f"{self.location}/{POINTER}")
        except DataValidationError as exc:
            if not repair:
                raise
            log.warning("%s; replacing it", exc.message)
            pointer = None
        return pointer, stored

    def champion(self) -> ChampionPointer | None:
        """The current champion's pointer, or None when nothing was promoted yet; a malformed pointer is refused."""
        return self._pointer()[0]

    def champion_identity(self) -> str:
        """``<version>@<sha256>`` of the champion, or "" when there is none."""
        pointer = self.champion()
        return "" if pointer is None else pointer.identity

    def versions(self) -> list[str]:
        """Every version's name, oldest first (names start with their UTC time); staging names are left out."""
        try:
            entries = self.fs.ls(self._path(VERSIONS), detail=False)
        except FileNotFoundError:
            return []
        return sorted(n for n in (e.rstrip("/").rsplit("/", 1)[-1] for e in entries) if uris.is_plain_name(n))

    def manifest_digest(self, version: str) -> str:
        """sha256 of a version's manifest.json, or "" when the version is absent or was never completed."""
        try:
            return sha256(self.fs.cat_file(self._path(VERSIONS, version, MANIFEST_FILE)))
        except FileNotFoundError:
            return ""

    def fetch(self, version: str, expected_digest: str, destination: Path) -> Path:
        """Copy a version into the new local directory ``destination`` and verify every file against its manifest,
        and the manifest against ``expected_digest`` (the pointer's); returns ``destination``."""
        destination = Path(destination)
        destination.mkdir(parents=True)
        for entry in self.fs.ls(self._path(VERSIONS, version), detail=False):
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
        """Store the model directory as a version (or find the version already holding the same bytes) and return
        its name. Each model is stored once: the first writer of a manifest's sha256 claims a version name for it
        (claims/<sha256>, created once), and every later writer of those bytes uses that name. Every file is
        verified after writing; a complete version is never written to."""
        model_dir = Path(model_dir)
        manifest = verify_directory(model_dir, [MODEL_FILE, SCHEMA_FILE])
        digest = sha256((model_dir / MANIFEST_FILE).read_bytes())
        for existing in self.versions():  # versions stored before claims existed
            if existing.endswith(f"-{digest[:12]}") and self.manifest_digest(existing) == digest:
                log.info("registry %s: the model is already version %s", self.location, existing)
                return existing
        version = self._claim(digest, version_name(digest, when))
        found = self.manifest_digest(version)
        if found == digest:
            log.info("registry %s: the model is already version %s", self.location, version)
            return version
        if found:
            raise FileExistsError(f"{self.location}/{VERSIONS}/{version}: already exists; versions are never overwritten")
        # The manifest goes last: a version without it is incomplete, and nothing ever points at it.
        names = sorted(manifest.files) + [MANIFEST_FILE]
        final = self._path(VERSIONS, version)
        if self.local:
            # Locally the whole directory appears at once: written under a hidden name, then renamed.
            self.fs.makedirs(self._path(VERSIONS), exist_ok=True)
            staging = tempfile.mkdtemp(prefix=f".{version}-", dir=self._path(VERSIONS))
            self._write_files(model_dir, staging, names)
            try:
                os.rename(staging, final)
            except OSError:  # another writer of the same claim renamed first: its version holds the same bytes
                shutil.rmtree(staging, ignore_errors=True)
                if self.manifest_digest(version) != digest:
                    raise
        else:
            self._write_files(model_dir, final, names[:-1])
            data = (model_dir / MANIFEST_FILE).read_bytes()
            if not self.store.create(f"{final}/{MANIFEST_FILE}", data) and self.manifest_digest(version) != digest:
                raise FileExistsError(f"{self.location}/{VERSIONS}/{version}: already exists; versions are never overwritten")
        log.info("registry %s: wrote version %s (%d files, each verified)", self.location, version, len(names))
        return version

    def _claim(self, digest: str, proposed: str) -> str:
        """The version name for the model whose manifest has sha256 ``digest``: ``proposed`` if this call is the
        first to claim it, else the name the first claim recorded."""
        path = self._path(CLAIMS, digest)
        if self.store.create(path, proposed.encode()):
            return proposed
        claimed = (self.store.read(path).data or b"").decode("utf-8", "replace").strip()
        if not (uris.is_plain_name(claimed) and claimed.endswith(f"-{digest[:12]}")):
            raise DataValidationError(f"{self.location}/{CLAIMS}/{digest}: names no valid version: {claimed[:80]!r}")
        return claimed

    def _write_files(self, model_dir: Path, target: str, names: list[str]) -> None:
        for name in names:
            data = (model_dir / name).read_bytes()
            self.fs.pipe_file(f"{target}/{name}", data)
            if sha256(self.fs.cat_file(f"{target}/{name}")) != sha256(data):
                raise OSError(f"{target}/{name}: the bytes read back differ from those written")

    def point(self, version: str, reasons: list[str], when: datetime, expected_champion: str | None = None) -> ChampionPointer:
        """Make ``version`` (complete) the champion, if the champion is still ``expected_champion`` (an identity, ""
        for none; None: whatever it is now, even a malformed pointer). The check and the write are one compare-and-set: if the champion
        changes in between, ChampionMoved is raised and nothing is written."""
        digest = self.manifest_digest(version)
        if not digest:
            known = self.versions()
            raise DataValidationError(
                f"{self.location}/{VERSIONS}/{version[:80]}: no such complete version",
                hint=f"versions: {', '.join(known[-5:])}" if known else "this registry entry has no version yet",
            )
        pointer = ChampionPointer(version=version, manifest_sha256=digest, promoted_at=when.isoformat(), reasons=list(reasons))
        data = json.dumps(asdict(pointer), indent=2).encode()
        repair = expected_champion is None  # a pointer move by hand may replace a malformed pointer
        for _ in range(_CAS_ATTEMPTS):
            current, stored = self._pointer(repair)
            if expected_champion is None:
                expected_champion = current.identity if current else ""
            self._check_expected(current, expected_champion)
            try:
                self._replace_pointer(data, stored.token)
                break
            except Conflict:
                log.info("registry %s: the pointer changed while it was being replaced; checking again", self.location)
        else:
            raise ChampionMoved(f"{self.location}: the champion pointer kept changing; nothing was written")
        log.info("registry %s: champion is now %s", self.location, version)
        return pointer

    def _replace_pointer(self, data: bytes, token: str) -> None:
        """Write the pointer's bytes if the stored pointer still has ``token``; Conflict otherwise."""
        self.store.replace(self._path(POINTER), data, token)

    def _check_expected(self, current: ChampionPointer | None, expected: str) -> None:
        if (current.identity if current else "") != expected:
            raise ChampionMoved(
                f"{self.location}: the champion is {current.identity if current else 'none'}, but the gate judged "
                f"against {expected or 'none'}",
                hint="run the pipeline again: it will judge the new model against the current champion",
            )

    def promote(self, model_dir: Path, reasons: list[str], when: datetime, expected_champion: str) -> ChampionPointer:
        """Publish ``model_dir`` and make it the champion, if the champion is still ``expected_champion`` (the identity
        the gate judged against; "" for none). Idempotent: the current champion promoted again changes nothing.
        Raises ChampionMoved when another promotion changed the champion first, even while this one was writing."""
        current = self.champion()
        self._check_expected(current, expected_champion)  # early: no version is written for a stale judgement
        version = self.publish(model_dir, when)
        if current is not None and current.version == version:
            log.info("registry %s: %s is already the champion; nothing to do", self.location, version)
            return current
        return self.point(version, reasons, when, expected_champion=expected_champion)


