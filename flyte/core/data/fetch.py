"""Download an http(s) source with bounded waits, telling a passing failure from a bad address."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin

import requests
import urllib3

from flyte.core.common.errors import DataValidationError, SourceUnavailableError, causes, disk_full, is_disk_full, shorten

log = logging.getLogger(__name__)

#: Bytes read from the response and written to disk per step: memory stays flat whatever the file's size.
CHUNK_BYTES = 1 << 20

#: Answers that mean "not now" rather than "not here": the request may succeed if repeated later.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

#: What a refusal means for the user, by status; other 4xx answers get no hint.
STATUS_HINTS = {
    401: "the server wants credentials; use a URL that needs none, or copy the file somewhere the pipeline can read",
    403: "the server refuses access to this URL; check it, or copy the file somewhere the pipeline can read",
    404: "check the URL: the server has no file there",
    410: "the file was removed from the server",
}


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one http(s) download.

    connect_timeout_s: seconds to wait for the TCP (and TLS) connection to open.
    read_timeout_s: seconds to wait for the next bytes of the answer; a server that accepts the connection
        and never answers fails after this long, not never.
    deadline_s: seconds the whole download may take, redirects included: a server trickling bytes (each in
        time for the read timeout) still fails once this has passed. Checked after every read, so a silent
        server is noticed within ``min(read_timeout_s, deadline_s)`` of it.
    max_bytes: the most bytes a body may have; a larger one is refused as soon as it is announced or read.
    max_redirects: the most redirects followed; each target is checked by the caller's ``allow`` first.
    """

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    deadline_s: float = 3600.0
    max_bytes: int = 1 << 40
    max_redirects: int = 5


def _allow_any(url: str) -> None:
    return None


def http_download(
    url: str,
    destination: Path,
    connect_timeout_s: float | None = None,
    read_timeout_s: float | None = None,
    *,
    limits: FetchLimits | None = None,
    allow: Callable[[str], None] = _allow_any,
) -> Path:
    """Stream ``url`` into the new file ``destination`` and return it, within ``limits``.

    Redirects are followed by hand, at most ``limits.max_redirects``, and ``allow`` (which raises to refuse) is
    called on every URL before it is requested, the first included: a redirect cannot lead past the caller's
    scheme and host allow-list. The body is staged in a hidden file beside ``destination``, flushed to disk and
    renamed into place only when complete, so a crash or a kill never leaves a partial ``destination``.

    Raises DataValidationError when repeating cannot help (a 4xx answer such as 404 or 403, a malformed
    URL, a host name that does not resolve, a refused redirect, a body over the size cap),
    SourceUnavailableError when it may (a 5xx or 429 answer, a refused or reset connection, a timeout, the
    deadline passed, a body cut short), and DiskFullError naming ``destination`` when the disk fills.
    """
    limits = limits or FetchLimits()
    if connect_timeout_s is not None or read_timeout_s is not None:
        limits = dataclasses.replace(
            limits,
            connect_timeout_s=limits.connect_timeout_s if connect_timeout_s is None else connect_timeout_s,
            read_timeout_s=limits.read_timeout_s if read_timeout_s is None else read_timeout_s,
        )
    destination = Path(destination)
    staging = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:12]}.partial")
    started = time.monotonic()
    size = 0
    try:
        with _follow(url, limits, allow, started) as (final_url, response):
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise _too_big(url, limits.max_bytes, f"the server announces {int(declared)} bytes")
            with open(staging, "wb") as out:
                # read1 returns what has arrived (up to a chunk) rather than waiting for a full chunk, so the
                # deadline is checked after every packet even when they trickle in.
                while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
                    size += len(chunk)
                    if size > limits.max_bytes:
                        raise _too_big(url, limits.max_bytes, f"more than {limits.max_bytes} bytes arrived")
                    _check_deadline(url, limits, started)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        os.replace(staging, destination)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        staging.unlink(missing_ok=True)
        # Reading the raw stream raises urllib3's errors (a reset, a read timeout, a body cut short) unwrapped.
        wrapped = exc if isinstance(exc, requests.RequestException) else requests.ConnectionError(exc)
        raise _request_error(url, wrapped, limits.connect_timeout_s, limits.read_timeout_s) from exc
    except OSError as exc:
        staging.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(destination, exc) from exc
        if _caused_by(exc, TimeoutError) or _caused_by_name(exc, "ReadTimeoutError"):
            raise SourceUnavailableError(f"{shorten(url)}: cannot fetch: the server sent nothing for {limits.read_timeout_s:g} s",
                                         hint="try again later") from exc  # fmt: skip
        raise
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    log.info("fetched %s to %s (%d bytes)", shorten(url), destination, size)
    return destination


@contextmanager
def _follow(url: str, limits: FetchLimits, allow: Callable[[str], None], started: float):
    """The final answer to ``url`` (its URL and response, open for streaming), following redirects by hand."""
    current = url
    for _ in range(limits.max_redirects + 1):
        allow(current)
        read_s = max(0.001, min(limits.read_timeout_s, limits.deadline_s - (time.monotonic() - started)))
        response = requests.get(current, stream=True, allow_redirects=False, timeout=(limits.connect_timeout_s, read_s))
        try:
            if response.is_redirect:
                target = urljoin(current, response.headers.get("Location", ""))
                log.info("%s redirects to %s", shorten(current), shorten(target))
                current = target
                _check_deadline(url, limits, started)
                continue
            _check_status(current, response)
            yield current, response
            return
        finally:
            response.close()
    raise DataValidationError(f"{shorten(url)}: cannot fetch: more than {limits.max_redirects} redirects",
                              hint="point the source at the file's final address")  # fmt: skip


def _too_big(url: str, cap: int, what: str) -> DataValidationError:
    return DataValidationError(f"{shorten(url)}: cannot fetch: {what}, over the cap of {cap} bytes",
                               hint="raise FETCH_MAX_BYTES in flyte/workflows/config.py if the file is meant to be this large")  # fmt: skip


def _check_deadline(url: str, limits: FetchLimits, started: float) -> None:
    if time.monotonic() - started > limits.deadline_s:
        raise SourceUnavailableError(f"{shorten(url)}: cannot fetch: not complete within the deadline of {limits.deadline_s:g} s",
                                     hint="the server is slow; try again later, or raise FETCH_DEADLINE_S")  # fmt: skip


def _check_status(url: str, response: requests.Response) -> None:
    if response.ok:
        return
    # The standard phrase ("Not Found"), whatever wording the server put on its status line.
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason or ""
    status = f"HTTP {response.status_code} {phrase}".strip()
    if response.status_code in TRANSIENT_STATUS:
        raise SourceUnavailableError(f"{shorten(url)}: cannot fetch: {status}", hint="the server may be busy or restarting; try again later")
    raise DataValidationError(f"{shorten(url)}: cannot fetch: {status}", hint=STATUS_HINTS.get(response.status_code, ""))


def _request_error(url: str, exc: requests.RequestException, connect_s: float, read_s: float) -> Exception:
    # requests nests urllib3's and the socket's errors; the outermost type says enough except for DNS.
    if isinstance(exc, requests.ConnectTimeout):
        return SourceUnavailableError(f"{shorten(url)}: cannot fetch: no connection within {connect_s:g} s", hint="try again later")
    if isinstance(exc, requests.ReadTimeout) or _caused_by(exc, TimeoutError) or _caused_by_name(exc, "ReadTimeoutError"):
        return SourceUnavailableError(f"{shorten(url)}: cannot fetch: the server sent nothing for {read_s:g} s", hint="try again later")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return DataValidationError(f"{shorten(url)}: cannot fetch: not a valid URL ({shorten(str(exc))})")
    if _caused_by_name(exc, "NameResolutionError"):
        return DataValidationError(f"{shorten(url)}: cannot fetch: the host name does not resolve", hint="check the URL's host name")
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return SourceUnavailableError(f"{shorten(url)}: cannot fetch: connection failed ({_reason(exc)})", hint="try again later")
    return DataValidationError(f"{shorten(url)}: cannot fetch: {shorten(str(exc))}")


def _caused_by(exc: BaseException, kind: type) -> bool:
    return any(isinstance(e, kind) for e in causes(exc))


def _caused_by_name(exc: BaseException, name: str) -> bool:
    return any(type(e).__name__ == name for e in causes(exc))


def _reason(exc: BaseException) -> str:
    """The innermost cause's words, e.g. "Connection reset by peer", rather than urllib3's pool summary."""
    innermost = [e for e in causes(exc) if isinstance(e, OSError) and e.strerror]
    return innermost[-1].strerror if innermost else type(exc).__name__


#: Response headers that change when the file behind a URL changes (fsspec's http info reads the same).
VALIDATOR_HEADERS = ("ETag", "Content-MD5", "Digest", "Last-Modified")


def http_head(
    url: str, connect_timeout_s: float, read_timeout_s: float, *, allow: Callable[[str], None] = _allow_any, max_redirects: int = 5
) -> dict:
    """What the server says of ``url`` without sending it: its validators (ETag, Last-Modified, ...) and size.

    Bounded and classified like ``http_download``: SourceUnavailableError when repeating may help,
    DataValidationError when it cannot. Redirects are followed by hand, each target passed to ``allow`` first.
    """
    current = url
    for _ in range(max_redirects + 1):
        allow(current)
        try:
            response = requests.head(current, allow_redirects=False, timeout=(connect_timeout_s, read_timeout_s))
        except requests.RequestException as exc:
            raise _request_error(url, exc, connect_timeout_s, read_timeout_s) from exc
        if not response.is_redirect:
            break
        current = urljoin(current, response.headers.get("Location", ""))
    else:
        raise DataValidationError(f"{shorten(url)}: cannot fetch: more than {max_redirects} redirects",
                                  hint="point the source at the file's final address")  # fmt: skip
    if response.status_code in (405, 501):  # the server does not answer HEAD: it says nothing, the GET will tell
        return {}
    _check_status(url, response)
    info = {k: response.headers[k] for k in VALIDATOR_HEADERS if response.headers.get(k)}
    if response.headers.get("Content-Length", "").isdigit():
        info["size"] = int(response.headers["Content-Length"])
    return info
