"""What a source is, cheaply: the key that decides whether ingest must read it again."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.files import file_sha256

log = logging.getLogger(__name__)

#: Validators a remote store may report for an object (fsspec's info() of http, s3 and gcs), in the
#: order they are written into the key. Each changes when the object's bytes change.
REMOTE_VALIDATORS = (
    "ETag", "etag", "Content-MD5", "md5Hash", "Digest", "generation", "VersionId",
    "Last-Modified", "LastModified", "updated", "mtime",
)  # fmt: skip


#: The key of a remote identity that no validator backs (a one-off value): such a source is read on every run.
UNVERIFIABLE = "unverifiable"


@dataclass
class SourceFingerprint:
    """The identity of a source's bytes and of how they are read: ingest's cache key.

    identity: ``sha256:<hex>`` of a local file's bytes (the same bytes at any path are the same source),
        or a remote source's URL with the validators its store reports (ETag, generation, Last-Modified,
        size). A remote source reporting none gets a one-off identity, so it is always read again.
    reading: sha256 of the spec's reading options (everything but ``source``).
    content_sha256: the bytes' sha256 when it is known here (local files), else empty.
    """

    identity: str = ""
    reading: str = ""
    content_sha256: str = ""


def reading_digest(spec: DatasetSpec) -> str:
    """sha256 of how the spec reads its file: every option but the source's location."""
    options = {k: v for k, v in dataclasses.asdict(spec).items() if k != "source"}
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()


def local_fingerprint(path: Path, spec: DatasetSpec) -> SourceFingerprint:
    """A local file's fingerprint: the sha256 of its bytes (about 1.7 GB/s here), whatever its path."""
    digest = file_sha256(path)
    return SourceFingerprint(identity=f"sha256:{digest}", reading=reading_digest(spec), content_sha256=digest)


def remote_fingerprint(url: str, info: dict, spec: DatasetSpec) -> SourceFingerprint:
    """A remote source's fingerprint from its store's metadata (``info``), without reading its bytes."""
    validators = {k: str(info[k]) for k in REMOTE_VALIDATORS if info.get(k) not in (None, "")}
    if not validators:
        # Size alone cannot tell an edit from the same file: never reuse a cached read of this source.
        log.info("%s: the store reports no ETag, generation or modification time; it will be read on every run", url)
        validators = {UNVERIFIABLE: uuid.uuid4().hex}
    if "size" in info:
        validators["size"] = str(info["size"])
    return SourceFingerprint(identity=json.dumps({"url": url, **validators}, sort_keys=True), reading=reading_digest(spec))
