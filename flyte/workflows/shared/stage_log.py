"""What a run says while it runs: the ``flyte`` logger's one handler, and a line as each stage starts and ends."""

# Imported by every tasks module, so the logging is set up wherever a task runs: `python -m flyte.cli run`,
# a plain `pyflyte run`, and a pod's `pyflyte-execute`, where nothing else configures the project's loggers
# (the root logger stays at WARNING and flytekit keeps its own logger and handler, untouched here).
# flytekit is imported lazily: flyte.cli configures logging before flytekit may be imported.

from __future__ import annotations

import contextvars
import functools
import logging
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

#: The package logger every module logs under (``logging.getLogger(__name__)``).
PACKAGE_LOGGER = "flyte"
#: Set to 1 to silence the stage and progress lines (warnings and errors still show).
QUIET_ENV = "PIPELINE_QUIET"
#: Longest line written; a longer message is cut, so a value quoted in a log line cannot flood the terminal.
MAX_LINE_CHARS = 300
FORMAT = "%(asctime)s %(stage)s: %(message)s"
DATE_FORMAT = "%H:%M:%S"


@dataclass
class StageRecord:
    """The stage running in this context: its name, and the row counts of the tables it read and wrote."""

    name: str
    rows_in: list[int] = field(default_factory=list)
    rows_out: list[int] = field(default_factory=list)


_current: contextvars.ContextVar[StageRecord | None] = contextvars.ContextVar("stage", default=None)


def quiet() -> bool:
    """Whether QUIET_ENV asks for silence (any value but empty or 0)."""
    return os.environ.get(QUIET_ENV, "") not in ("", "0")


class _StageField(logging.Filter):
    """Gives every record a ``stage``: the running stage's name, else the last part of the logger's name."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "stage"):
            running = _current.get()
            record.stage = running.name if running else record.name.rsplit(".", 1)[-1]
        return True


class _ShortLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…" for line in super().format(record).splitlines())


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test's capture, a redirected stream)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure() -> None:
    """Send the ``flyte`` logger's INFO records (WARNING with QUIET_ENV set) to stderr as ``time stage: message``.

    Idempotent: one handler however often it is called; the level follows QUIET_ENV at each call. Other
    loggers (root, flytekit's) are left as they are; records still propagate, so pytest's capture sees them."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.setLevel(logging.WARNING if quiet() else logging.INFO)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.addFilter(_StageField())
        handler.setFormatter(_ShortLines(FORMAT, DATE_FORMAT))
        logger.addHandler(handler)
    _report_cache_hits()


def short_name(task_name: str) -> str:
    """``flyte.workflows.training.tasks.ingest`` -> ``ingest``."""
    return task_name.rsplit(".", 1)[-1]


def _rows(counts: list[int]) -> str:
    return "+".join(f"{n:,}" for n in counts) if counts else "-"


@contextmanager
def stage(name: str, cached: bool) -> Iterator[StageRecord]:
    """Log ``name`` starting and, with its seconds and rows in and out, ending (or failing); ``cached``: whether
    the stage has a cache, so that running it means the cache missed."""
    record = StageRecord(name)
    token = _current.set(record)
    cache = "cache miss" if cached else "not cached"
    log.info("started (%s)", cache)
    started = time.monotonic()
    try:
        yield record
    except BaseException as exc:
        log.info("failed after %.1f s (%s)", time.monotonic() - started, type(exc).__name__)
        raise
    else:
        log.info(
            "finished in %.1f s; rows in %s, out %s (%s)", time.monotonic() - started, _rows(record.rows_in), _rows(record.rows_out), cache
        )
    finally:
        _current.reset(token)


def note_rows(table: Path, written: bool) -> None:
    """Count ``table``'s rows (from its Parquet footers) into the running stage; nothing outside a stage."""
    record = _current.get()
    if record is None:
        return
    from flyte.core.data.tables import num_rows

    try:
        (record.rows_out if written else record.rows_in).append(num_rows(table))
    except (OSError, ValueError):
        pass  # a table it cannot count is the stage's to report, not the log's


def task(_function=None, **kwargs):
    """flytekit's ``task`` with the same arguments, its function wrapped in ``stage`` so each run logs its lines."""
    from flytekit import task as flyte_task

    _report_cache_hits()  # flytekit is imported by now

    def decorate(function):
        @functools.wraps(function)
        def run(**inputs):
            with stage(function.__name__, cached=bool(kwargs.get("cache"))):
                return function(**inputs)

        return flyte_task(run, **kwargs)

    return decorate if _function is None else decorate(_function)


def _report_cache_hits() -> None:
    """Make a local cache hit visible: one line naming the stage and the rows it serves.

    flytekit 1.16 reports a hit (in ``PythonTask.local_execute``) only as an unnamed "Cache hit" record on its own
    logger, held at WARNING; the task's code does not run, so ``stage`` cannot see it. Wrapping the cache's lookup,
    the one call every local hit goes through, can. Pods never look up the local cache (propeller skips a hit node)."""
    if "flytekit" not in sys.modules:
        return  # flyte.cli configures before flytekit is imported; the tasks module's import calls again after
    from flyte.workflows.shared.flytekit_compat import on_local_cache_hit

    def hit(task_name, outputs):
        if task_name.startswith(f"{PACKAGE_LOGGER}."):
            log.info("cache hit; rows out %s", _rows(_cached_rows(outputs)), extra={"stage": short_name(task_name)})

    on_local_cache_hit(hit)


def _cached_rows(outputs) -> list[int]:
    """Row counts of the local tables a cached result names (footers only; a missing or remote table is skipped)."""
    from flyte.core.common import uris
    from flyte.core.data.tables import num_rows

    counts = []
    for literal in outputs.literals.values():
        dataset = literal.scalar.structured_dataset if literal.scalar else None
        uri = dataset.uri if dataset and dataset.uri else ""
        if uri and uris.is_file(uri) and uris.file_path(uri).exists():
            try:
                counts.append(num_rows(uris.file_path(uri)))
            except (OSError, ValueError):
                continue  # a table it cannot count is no reason to fail a run that will read it next
    return counts


configure()
