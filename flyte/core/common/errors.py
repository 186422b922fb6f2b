"""The errors a user can act on: unusable input, an unreachable source, a full disk."""

from __future__ import annotations

import errno
from typing import Iterator


#: The most characters of data (a value, a line, a header, a URL) an error message quotes.
ECHO_CHARS = 120
#: The longest message or hint an ActionableError keeps, in characters: prose plus a few quoted items. Anything
#: longer was built from data that escaped ``shorten``, and is cut here so no path (a traceback included) floods.
MAX_MESSAGE_CHARS = 600


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, with unprintable characters escaped."""
    text = text.encode("unicode_escape", errors="backslashreplace").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} characters)"


def shorten_names(names, limit: int = ECHO_CHARS) -> str:
    """A list of names (columns, labels) as ``repr`` would show it, cut to about ``limit`` characters with a count."""
    names = list(names)
    text = repr(names)
    if len(text) <= limit:
        return text
    shown: list[str] = []
    for name in names:
        if len(repr(shown + [name])) > limit - 30:
            break
        shown.append(name)
    inner = repr(shown)[1:-1] if shown else repr(shorten(str(names[0]), limit - 40))
    return f"[{inner}, ... ({len(names)} in all)]"


class ActionableError(Exception):
    """A failure the user can fix, reported without a traceback by the project's command line.

    message: what is wrong and where (the file, URL, column, line or value at fault). It is kept apart
        from ``args`` because flytekit rewrites ``args`` when it re-raises a task's error locally.
    hint: what to do about it, or "" when the message says it all.
    """

    def __init__(self, message: str, hint: str = ""):
        message, hint = _capped(message), _capped(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint


class DataValidationError(ActionableError, ValueError):
    """Unusable input: the message names the file, column or value at fault. Retrying cannot help."""


class SourceUnavailableError(ActionableError):
    """The source could not be fetched for a reason that may pass: a 5xx or 429 answer, a reset
    connection, a timeout. Retrying later may succeed, so the task layer marks it recoverable."""


class SourceChangedError(SourceUnavailableError):
    """The source's bytes changed while the run was reading them (they differ from the fingerprint taken first, or
    the file was rewritten during the read). Reading again may succeed, so it is retried like a passing failure."""


class DiskFullError(ActionableError):
    """A write failed because its disk is full (ENOSPC); the message names the path being written."""


def is_disk_full(exc: BaseException) -> bool:
    """True for an OSError meaning "no space left on device", including pyarrow's, which sets errno
    but words the message its own way."""
    return isinstance(exc, OSError) and (exc.errno == errno.ENOSPC or "No space left on device" in str(exc))


def disk_full(path, exc: OSError) -> DiskFullError:
    """The DiskFullError for a failed write to ``path`` (the file or directory being written)."""
    where = exc.filename or path
    return DiskFullError(
        f"{where}: no space left on device",
        hint=f"free space on the disk holding {where}, or write the outputs to another disk",
    )


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception linked to it, outermost first: causes, contexts, and the errors that
    urllib3 and others keep in ``reason`` or ``args`` instead. Each appears once, even in a cycle."""
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        queue.extend(e for e in linked if isinstance(e, BaseException))


def _capped(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return f"{text[: MAX_MESSAGE_CHARS - 40]}...(cut from {len(text)} characters)"
