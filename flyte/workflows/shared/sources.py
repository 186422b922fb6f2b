"""Where a task reads a dataset from: the allow-list, and fetching remote sources with retries that fit Flyte."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from flytekit import FlyteContextManager
from flytekit.exceptions.user import FlyteRecoverableException

from flyte.core.common import uris
from flyte.core.data.dataset import is_local, local_path
from flyte.core.common.errors import ActionableError, DataValidationError, SourceUnavailableError, shorten
from flyte.core.data.fetch import FetchLimits, http_download
from flyte.workflows import config
def check_source_allowed(source: str) -> None:
    """Refuse a source whose scheme (or host, when hosts are listed) config does not allow."""
    parsed, scheme = urlparse(source), uris.scheme(source)
    if scheme not in config.ALLOWED_SOURCE_SCHEMES:
        raise DataValidationError(
            f"{shorten(source)}: scheme {shorten(scheme, 40)!r} is not allowed; allowed: {', '.join(repr(s) for s in config.ALLOWED_SOURCE_SCHEMES)}",
            hint="see ALLOWED_SOURCE_SCHEMES in flyte/workflows/config.py",
        )
    if config.ALLOWED_SOURCE_HOSTS and parsed.netloc and scheme not in ("file", "bundled"):
        if parsed.hostname not in config.ALLOWED_SOURCE_HOSTS:
            raise DataValidationError(f"{shorten(source)}: host {shorten(str(parsed.hostname), 60)!r} is not in ALLOWED_SOURCE_HOSTS")


def check_download_allowed(url: str) -> None:
    """Refuse a URL an http(s) download may not request: the source itself and every redirect target must be
    http(s) and pass ``check_source_allowed`` (a redirect must not lead to a host the allow-list leaves out)."""
    if not uris.is_http(url):
        raise DataValidationError(f"{shorten(url)}: a download may only request http(s) URLs")
    check_source_allowed(url)


def fetch_limits() -> FetchLimits:
    """The bounds on every http(s) download, from config."""
    return FetchLimits(
        connect_timeout_s=config.FETCH_CONNECT_TIMEOUT_S,
        read_timeout_s=config.FETCH_READ_TIMEOUT_S,
        deadline_s=config.FETCH_DEADLINE_S,
        max_bytes=config.FETCH_MAX_BYTES,
        max_redirects=config.FETCH_MAX_REDIRECTS,
    )


@contextmanager
def reading(source: str, failure: str) -> Iterator[None]:
    """Sort a failure to read ``source`` for Flyte: a passing one (SourceUnavailableError) becomes
    recoverable, so the task's retries (config.INGEST_RETRIES) apply; the core's error stays the cause,
    so the command line still finds its message and hint. Any other data-layer error is a user error."""
    try:
        yield
    except SourceUnavailableError as exc:
        raise FlyteRecoverableException(str(exc)) from exc
    except ActionableError:
        raise
    except Exception as exc:  # the data layer raises several types; all mean the same to the user
        raise DataValidationError(f"{shorten(source)}: {failure}: {shorten(str(exc))}") from exc


def fetch_source(source: str) -> Path:
    """A local file holding the source's bytes: local sources as they are; http(s) ones downloaded with the
    timeouts in config; others (s3, gs, ...) through flytekit's data layer, with the pod's or laptop's
    credentials.

    Raises FlyteRecoverableException when a retry may succeed (a 5xx or 429 answer, a reset connection, a
    timeout), so Flyte retries the task; DataValidationError when it cannot (a 404, a 403, a bad URL).
    """
    check_source_allowed(source)
    if is_local(source):
        return local_path(source)
    name = uris.file_name(source) or "dataset"
    destination = Path(FlyteContextManager.current_context().file_access.get_random_local_path(name))
    destination.parent.mkdir(parents=True, exist_ok=True)
    return download(source, destination)


def download(source: str, destination: Path) -> Path:
    """Copy the remote object ``source`` to the local file ``destination``: http(s) with the timeouts in config,
    others (s3, gs, ...) through flytekit's data layer; failures sorted by ``reading`` (retried when they may pass)."""
    with reading(source, "cannot fetch"):
        if uris.is_http(source):
            return http_download(source, destination, limits=fetch_limits(), allow=check_download_allowed)
        FlyteContextManager.current_context().file_access.get_data(source, str(destination))
    return Path(destination)
