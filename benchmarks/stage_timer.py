"""`pyflyte run` in this process, with each task's wall time and peak RSS written to a JSON file at exit.

    python -m benchmarks.stage_timer OUT.json run flyte/workflows/training/pipeline.py training_pipeline [--dataset ...]

The arguments after OUT.json are pyflyte's own: the run is exactly a user's `pyflyte run`, with two additions
made before flytekit loads the workflow. Every task node's local execution (``Task.local_execute``, and
``ArrayNode.local_execute`` for map nodes) is timed from the call to its return, so a stage's time covers
what flytekit does around the function as well: the cache lookup, reading its inputs, converting and writing
its outputs. And the kernel's peak-RSS mark (VmHWM) is reset when a task starts (``/proc/self/clear_refs``)
and read when it ends, so each task's peak is its own, not the run's so far. Nested nodes (a map task's
elements) count towards the outermost node only. These measurements do not rely on the project's log lines.

The file holds ``{"tasks": [{"name", "seconds", "peak_rss_mib"}, ...], "exit_code": int}`` in execution order.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def reset_peak() -> bool:
    """Reset this process's peak RSS mark to its current RSS; False where the kernel does not offer it."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float | None:
    """This process's peak RSS since start or the last ``reset_peak``, in MiB (None off Linux)."""
    try:
        match = re.search(r"^VmHWM:\s+(\d+) kB", _STATUS.read_text(), flags=re.MULTILINE)
    except OSError:
        return None
    return round(int(match[1]) / 1024, 1) if match else None


class TaskClock:
    """Wraps ``local_execute`` methods so the outermost task call of each node is timed and its peak read."""

    def __init__(self) -> None:
        self.tasks: list[dict] = []
        self._depth = 0
        self.peak_resettable = reset_peak()

    def wrap(self, cls) -> None:
        real = cls.local_execute

        def timed(task, ctx, **kwargs):
            if self._depth:
                return real(task, ctx, **kwargs)
            self._depth += 1
            reset_peak()
            started = time.perf_counter()
            try:
                return real(task, ctx, **kwargs)
            finally:
                self._depth -= 1
                self.tasks.append(
                    {
                        "name": getattr(task, "name", type(task).__name__),
                        "seconds": round(time.perf_counter() - started, 3),
                        "peak_rss_mib": peak_rss_mib() if self.peak_resettable else None,
                    }
                )

        cls.local_execute = timed


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out, pyflyte_args = Path(argv[0]), argv[1:]
    from flytekit.core.array_node import ArrayNode
    from flytekit.core.base_task import Task
    from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

    clock = TaskClock()
    clock.wrap(Task)
    clock.wrap(ArrayNode)
    code = 0
    try:
        pyflyte.main(args=pyflyte_args, prog_name="pyflyte")
    except SystemExit as exc:  # click ends every run with one, 0 included
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out.write_text(json.dumps({"tasks": clock.tasks, "exit_code": code}, indent=1), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
