"""Conditional writes of small objects: compare-and-set and create-once, on local disk, S3 and GCS."""

# The registry's champion pointer and its digest claims are written only through these, so a write that would
# overwrite a change it never saw fails (``Conflict``) instead of silently undoing that change.
#
# How each store makes "check, then write" one step:
#  - Local disk: an exclusive advisory lock (fcntl.flock, or msvcrt.locking on Windows) on the lock file
#    <entry>/.lock, held only for the few milliseconds of compare-and-replace. The kernel drops the lock when its
#    holder exits, however it dies, so a crashed promoter leaves no stale lock to break. The pointer is compared by
#    its bytes' sha256 under the lock and replaced with os.replace (atomic rename of an fsynced temporary file).
#    Create-once is os.link of a complete temporary file: link(2) fails with EEXIST if the name exists.
#  - S3: conditional PutObject. "If-None-Match: *" uploads only if no object has the key, and "If-Match: <ETag>"
#    only if the object's ETag is still the one read; otherwise S3 answers 412 Precondition Failed, or 409
#    ConditionalRequestConflict while another conditional write to the key is in flight (S3 User Guide,
#    "Add preconditions to S3 operations with conditional requests"; PutObject, S3 API Reference). The pointer is
#    read with GetObject, which returns the body and its ETag in one answer, so the two always belong together.
#  - GCS: generation preconditions of the JSON API. A media download returns the object's generation in the
#    x-goog-generation header; an upload with ifGenerationMatch=<generation> succeeds only if the live object is
#    still that generation, and ifGenerationMatch=0 only if there is none; otherwise 412 (Cloud Storage docs,
#    "Request preconditions"; JSON API objects.insert). Written from that documentation: no GCS server runs here.
#  - memory:// (tests only, one process): a process-wide lock around compare-and-write.
# Any other store is refused for writing: without a conditional write, two promotions could both succeed.

from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from fsspec.asyn import sync

from flyte.core.common.errors import ActionableError, DataValidationError, causes

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
#: Seconds a local writer waits for the registry lock before giving up (it is held for milliseconds).
LOCK_TIMEOUT_S = 60.0
_MEMORY_LOCK = threading.Lock()
#: S3 error codes meaning "the object is not in the state the condition named" (412), or "another conditional
#: write to this key is in flight" (409): in both cases the write did not happen, and the caller re-reads.
_S3_CONFLICT_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class Conflict(Exception):
    """A conditional write found the object changed since it was read (or already present): nothing was written."""


class RegistryBusy(ActionableError):
    """The local registry's lock stayed held past LOCK_TIMEOUT_S."""


@dataclass(frozen=True)
class Versioned:
    """An object's bytes and the token a conditional write compares: ``data`` None and ``token`` "" when absent.
    token: the sha256 of the bytes (local, memory), the ETag (S3) or the generation (GCS)."""

    data: bytes | None
    token: str


class ConditionalStore:
    """Conditional reads and writes of small objects under ``root`` of the fsspec file system ``fs``."""

    def __init__(self, fs, root: str, location: str):
        self.fs, self.root, self.location = fs, root.rstrip("/"), location
        protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
        self.kind = next((k for k in ("file", "s3", "gcs", "memory") if k in protocols or (k == "gcs" and "gs" in protocols)), "")

    def read(self, path: str) -> Versioned:
        """The object at ``path`` (a path of ``fs``) with its token."""
        if self.kind == "s3":
            return self._s3_read(path)
        if self.kind == "gcs":
            return self._gcs_read(path)
        try:
            data = self.fs.cat_file(path)
        except FileNotFoundError:
            return Versioned(None, "")
        return Versioned(data, hashlib.sha256(data).hexdigest())

    def replace(self, path: str, data: bytes, token: str) -> None:
        """Write ``data`` at ``path`` only if the object there still has ``token`` ("" meaning: there is none);
        raises Conflict otherwise, writing nothing."""
        self.put_if(path, data, token)

    def create(self, path: str, data: bytes) -> bool:
        """Write ``data`` at ``path`` only if nothing is there; False (nothing written) if something is."""
        try:
            self.put_if(path, data, "")
        except Conflict:
            return False
        return True

    def put_if(self, path: str, data: bytes, token: str) -> None:
        """The conditional write itself (tests slow it down to open a race window)."""
        if self.kind == "s3":
            self._s3_put(path, data, token)
        elif self.kind == "gcs":
            self._gcs_put(path, data, token)
        elif self.kind == "file":
            with self.lock():
                self._local_put(path, data, token)
        elif self.kind == "memory":
            with _MEMORY_LOCK:
                if self.read(path).token != token:
                    raise Conflict(path)
                self.fs.pipe_file(path, data)
        else:
            raise DataValidationError(
                f"{self.location}: the registry cannot write to {self.fs.protocol!r} storage: promotion needs conditional "
                "writes, which this code knows for local disk, S3 and GCS only",
                hint="use a local directory, s3://bucket/prefix or gs://bucket/prefix",
            )

    # --- local disk ----------------------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the entry's exclusive lock (local disk only); waits up to LOCK_TIMEOUT_S."""
        Path(self.root).mkdir(parents=True, exist_ok=True)
        fd = os.open(os.path.join(self.root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while not _try_lock(fd):
                if time.monotonic() > deadline:
                    raise RegistryBusy(
                        f"{self.location}: another promotion has held the registry lock ({LOCK_FILE}) for {LOCK_TIMEOUT_S:g} s",
                        hint="wait for it to finish; the lock is released when its process exits",
                    )
                time.sleep(0.01)
            try:
                yield
            finally:
                _unlock(fd)
        finally:
            os.close(fd)

    def _local_put(self, path: str, data: bytes, token: str) -> None:
        if self.read(path).token != token:
            raise Conflict(path)
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())  # the bytes are on disk before the name moves to them
            if token:
                os.replace(temporary, path)
            else:
                os.link(temporary, path)  # fails if the name exists, whoever made it
        except FileExistsError:
            raise Conflict(path) from None
        finally:
            Path(temporary).unlink(missing_ok=True)

    # --- S3 ------------------------------------------------------------------------------------------------

    def _s3_read(self, path: str) -> Versioned:
        bucket, key, _ = self.fs.split_path(path)

        async def get():
            try:
                answer = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
            except FileNotFoundError:
                return Versioned(None, "")
            async with answer["Body"] as body:
                return Versioned(await body.read(), answer["ETag"])

        return sync(self.fs.loop, get)

    def _s3_put(self, path: str, data: bytes, token: str) -> None:
        bucket, key, _ = self.fs.split_path(path)
        condition = {"IfMatch": token} if token else {"IfNoneMatch": "*"}
        try:
            self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, **condition)
        except Exception as exc:
            if _s3_conflict(exc):
                raise Conflict(path) from exc
            raise
        finally:
            self.fs.invalidate_cache(path)

    # --- GCS -----------------------------------------------------------------------------------------------

    def _gcs_read(self, path: str) -> Versioned:
        bucket, key, _ = self.fs.split_path(path)
        try:
            headers, data = self.fs.call("GET", "b/{}/o/{}", bucket, key, alt="media")
        except FileNotFoundError:
            return Versioned(None, "")
        return Versioned(data, str(headers["x-goog-generation"]))

    def _gcs_put(self, path: str, data: bytes, token: str) -> None:
        bucket, key, _ = self.fs.split_path(path)
        try:
            self.fs.call(
                "POST", f"{self.fs._location}/upload/storage/v1/b/{{}}/o", bucket, uploadType="media", name=key,
                ifGenerationMatch=token or "0", data=data, headers={"Content-Type": "application/json"}, json_out=True,
            )  # fmt: skip
        except FileExistsError as exc:  # gcsfs raises it for 412 Precondition Failed
            raise Conflict(path) from exc
        finally:
            self.fs.invalidate_cache(path)


def _s3_conflict(exc: BaseException) -> bool:
    for e in causes(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            error = response.get("Error", {})
            status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if error.get("Code") in _S3_CONFLICT_CODES or status in ("409", "412"):
                return True
    return False


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)
