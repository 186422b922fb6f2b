"""Download an http(s) source with bounded waits, telling a passing failure from a bad address."""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

import requests

from flyte.core.errors import DataValidationError, SourceUnavailableError, causes, disk_full, is_disk_full

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


def http_download(url: str, destination: Path, connect_timeout_s: float, read_timeout_s: float) -> Path:
    """Stream ``url`` into the new file ``destination`` and return it.

    connect_timeout_s: seconds to wait for the TCP (and TLS) connection to open.
    read_timeout_s: seconds to wait for the next bytes of the answer, from the request on; a server that
        accepts the connection and never answers fails after this long, not never.

    Raises DataValidationError when repeating cannot help (a 4xx answer such as 404 or 403, a malformed
    URL, a host name that does not resolve), SourceUnavailableError when it may (a 5xx or 429 answer, a
    refused or reset connection, a timeout, a body cut short), and DiskFullError naming ``destination``
    when the disk fills. A failed download leaves no file behind.
    """
    destination = Path(destination)
    try:
        with requests.get(url, stream=True, timeout=(connect_timeout_s, read_timeout_s)) as response:
            _check_status(url, response)
            with open(destination, "wb") as out:
                for chunk in response.iter_content(CHUNK_BYTES):
                    out.write(chunk)
    except requests.RequestException as exc:
        destination.unlink(missing_ok=True)
        raise _request_error(url, exc, connect_timeout_s, read_timeout_s) from exc
    except OSError as exc:
        destination.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(destination, exc) from exc
        raise
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    log.info("fetched %s to %s (%d bytes)", url, destination, destination.stat().st_size)
    return destination


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
        raise SourceUnavailableError(f"{url}: cannot fetch: {status}", hint="the server may be busy or restarting; try again later")
    raise DataValidationError(f"{url}: cannot fetch: {status}", hint=STATUS_HINTS.get(response.status_code, ""))


def _request_error(url: str, exc: requests.RequestException, connect_s: float, read_s: float) -> Exception:
    # requests nests urllib3's and the socket's errors; the outermost type says enough except for DNS.
    if isinstance(exc, requests.ConnectTimeout):
        return SourceUnavailableError(f"{url}: cannot fetch: no connection within {connect_s:g} s", hint="try again later")
    if isinstance(exc, requests.ReadTimeout) or _caused_by(exc, TimeoutError) or _caused_by_name(exc, "ReadTimeoutError"):
        return SourceUnavailableError(f"{url}: cannot fetch: the server sent nothing for {read_s:g} s", hint="try again later")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return DataValidationError(f"{url}: cannot fetch: not a valid URL ({exc})")
    if _caused_by_name(exc, "NameResolutionError"):
        return DataValidationError(f"{url}: cannot fetch: the host name does not resolve", hint="check the URL's host name")
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return SourceUnavailableError(f"{url}: cannot fetch: connection failed ({_reason(exc)})", hint="try again later")
    return DataValidationError(f"{url}: cannot fetch: {exc}")


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


def http_head(url: str, connect_timeout_s: float, read_timeout_s: float) -> dict:
    """What the server says of ``url`` without sending it: its validators (ETag, Last-Modified, ...) and size.

    Bounded and classified like ``http_download``: SourceUnavailableError when repeating may help,
    DataValidationError when it cannot.
    """
    try:
        response = requests.head(url, allow_redirects=True, timeout=(connect_timeout_s, read_timeout_s))
    except requests.RequestException as exc:
        raise _request_error(url, exc, connect_timeout_s, read_timeout_s) from exc
    if response.status_code in (405, 501):  # the server does not answer HEAD: it says nothing, the GET will tell
        return {}
    _check_status(url, response)
    info = {k: response.headers[k] for k in VALIDATOR_HEADERS if response.headers.get(k)}
    if response.headers.get("Content-Length", "").isdigit():
        info["size"] = int(response.headers["Content-Length"])
    return info
