"""The project's command line: pyflyte, with actionable errors in a line or two and local runs kept in .flyte-local/."""

# Usage is pyflyte's, e.g. `python -m flyte.cli run flyte/workflows/training/pipeline.py training_pipeline --dataset ...`.
# Two differences, both because pyflyte 1.16 offers no switch for them:
#  - A failure the user can fix (flyte.core.common.errors.ActionableError: bad data, a 404, a full disk; or a cached
#    result whose files are gone) prints its message first, then a hint, and exits 2, with no traceback.
#    pyflyte prints every failure as a boxed traceback of 30 to 230 lines with the message last, whatever
#    its verbosity. `-v` (pyflyte's own flag) or PIPELINE_TRACEBACK=1 adds pyflyte's traceback after the message.
#    A misspelt file or workflow name and Ctrl-C get one line too (flyte.cli_errors); `doctor` is flyte.doctor.
#  - Task outputs, flytekit's own files and the local task cache live in one directory of the project
#    (.flyte-local/, or $PIPELINE_LOCAL_DIR), not in random flyte* folders of the system temp directory
#    that a temp cleaner may delete while the cache in ~/.flyte still points at them. Cache entries whose
#    files were deleted anyway are dropped before each run, so the run recomputes instead of failing (flyte.cli_local).
#
# flytekit creates its temporary directories and reads its local sandbox setting when it is imported, so
# nothing here imports it at module level: main() sets the directories up first, then imports flytekit.

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flyte.cli_local import LOCAL_DIR_ENV, REPO_ROOT, LocalDirs, local_dirs, prepare, prune_stale_cache  # noqa: F401  (re-exported)
from flyte.cli_errors import EXIT_INTERRUPTED, CommandLineMistake, command_words, interrupted, interrupted_stage
from flyte.core.common import uris
from flyte.core.common.errors import ActionableError, DiskFullError, causes, disk_full, is_disk_full
from flyte.core.common.validation import check_json_arguments

log = logging.getLogger(__name__)

PROG = "python -m flyte.cli"

#: Set to 1 to print pyflyte's full traceback after the one-line message.
TRACEBACK_ENV = "PIPELINE_TRACEBACK"

#: Exit status when the input or the environment needs fixing; anything else exits 1, as pyflyte does.
EXIT_USER_ERROR = 2
#: Longest message printed, in characters: a message quoting data is cut rather than flooding the terminal.
MAX_MESSAGE_CHARS = 1000

#: flytekit's words when a cached output's file or directory no longer exists.
_STALE_OUTPUT = re.compile(r"Expected a directory[.,] (?:but the given uri )?'?([^' ]+)'? is not a directory")
#: flytekit's prefix on an error raised by a task during a local run; it names the task.
_FAILED_TASK = re.compile(r"Error encountered while executing '([^']+)'")


@dataclass(frozen=True)
class Problem:
    """A failure described for the user: what is wrong, what to do, which task failed ("" if unknown), and
    whether a traceback could help (not for a misspelt name on the command line)."""

    message: str
    hint: str = ""
    task: str = ""
    traceback_helps: bool = True


def describe(exc: BaseException, outputs: Path | None = None) -> Problem | None:
    """The failure ``exc`` as a Problem when the user can act on it; None for anything else (a bug).

    outputs: the directory local outputs go to, named when a full disk's error does not say where.
    """
    chain = list(causes(exc))
    task = next((m[1].rsplit(".", 1)[-1] for e in chain if (m := _FAILED_TASK.search(str(e)))), "")
    for e in chain:
        if isinstance(e, DiskFullError):
            return Problem(e.message, f"{e.hint} ({LOCAL_DIR_ENV} sets where local runs write)", task)
        if isinstance(e, ActionableError):
            return Problem(e.message, e.hint, task, traceback_helps=not isinstance(e, CommandLineMistake))
    for e in chain:
        if is_disk_full(e):
            full = disk_full(outputs or "the local outputs directory", e)
            return Problem(full.message, f"{full.hint} ({LOCAL_DIR_ENV} sets where local runs write)", task)
    for e in chain:
        if stale := _STALE_OUTPUT.search(str(e)):
            return Problem(
                f"a cached result points at {stale[1]}, which no longer exists",
                f"recompute it: {PROG} run --overwrite-cache <file> <workflow> ... (`make clean` removes outputs and cache together)",
                task,
            )
    return None


def printable(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` safe for a terminal: control and undecodable characters escaped, cut to ``limit`` characters."""
    safe = "".join(c if c.isprintable() and c != "\ufffd" else ascii(c)[1:-1] for c in text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def format_problem(problem: Problem, traceback_shown: bool, command: str = "run ...") -> list[str]:
    """The lines printed for ``problem``: the message first, then the hint and how to see more by running
    ``command`` (the subcommand that failed and "...") again."""
    where = f"{problem.task} failed: " if problem.task else ""
    lines = [f"Error: {where}{printable(problem.message)}"]
    if problem.hint:
        lines.append(f"Hint: {printable(problem.hint)}")
    if not traceback_shown and problem.traceback_helps:
        lines.append(f"(For the full traceback: {TRACEBACK_ENV}=1 {PROG} {command}, or {PROG} -v {command})")
    return lines


def _traceback_requested(verbosity: int) -> bool:
    return verbosity > 0 or os.environ.get(TRACEBACK_ENV, "") not in ("", "0")


def _command(dirs: LocalDirs):
    """pyflyte's command group with this module's failure reporting; imports flytekit."""
    import rich_click as click
    from flytekit.clis.sdk_in_container import pyflyte
    from flytekit.clis.sdk_in_container.utils import ErrorHandlingCommand, pretty_print_exception
    from flytekit.loggers import get_level_from_cli_verbosity
    from flytekit.loggers import logger as flytekit_logger

    from flyte.cli_errors import raise_on_interrupt, run_command
    from flyte.doctor import doctor_command

    class ProjectPyflyte(ErrorHandlingCommand):
        def invoke(self, ctx):
            verbosity = ctx.params["verbose"]
            flytekit_logger.setLevel(get_level_from_cli_verbosity(verbosity))
            command = command_words(self, ctx)
            raise_on_interrupt()
            try:
                # click's own invoke, not ErrorHandlingCommand's: that one prints every failure as a traceback.
                return click.RichGroup.invoke(self, ctx)
            except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
                raise  # usage errors and exits: click reports them itself
            except KeyboardInterrupt as exc:  # click would print "Aborted!" and exit 1
                click.echo(interrupted(interrupted_stage(exc.__traceback__)), err=True)
                sys.exit(EXIT_INTERRUPTED)
            except Exception as exc:
                problem = describe(exc, dirs.outputs)
                show_traceback = problem is None or _traceback_requested(verbosity)
                if problem is not None:
                    lines = format_problem(problem, traceback_shown=show_traceback, command=command)
                    click.secho(lines[0], err=True, fg="red", bold=True)
                    for line in lines[1:]:
                        click.echo(line, err=True)
                if show_traceback:
                    pretty_print_exception(exc, max(verbosity, 1 if problem else 0))
                sys.exit(EXIT_USER_ERROR if problem else 1)

    base = pyflyte.main
    return ProjectPyflyte(
        name=base.name,
        params=base.params,
        callback=base.callback,
        commands={**base.commands, "run": run_command(REPO_ROOT / "flyte" / "workflows"), "reproduce": _reproduce_command(click),
                  "doctor": doctor_command(click)},
        invoke_without_command=base.invoke_without_command,
        help=base.help,
    )


def _reproduce_command(click):
    """`reproduce MODEL_DIR`: train again from a published model's manifest and compare the boosters' bytes."""

    @click.command("reproduce")
    @click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def reproduce(model_dir: Path) -> None:
        """Train MODEL_DIR's model again from the data, split and hyperparameters its manifest records (no cache),
        and exit 0 when model.ubj comes out byte for byte the same, 1 when it does not."""
        from flyte.core.publishing.reproduce import recorded_inputs, retrain
        from flyte.workflows import config
        from flyte.workflows.shared.sources import fetch_source

        recorded = recorded_inputs(model_dir)
        scratch = Path(tempfile.mkdtemp(prefix="reproduce-", dir=local_dirs().outputs))
        source = fetch_source(recorded.dataset.source)
        result = retrain(recorded, source, scratch, config.TRAIN.cpus, config.TRAIN.memory_mib << 20)
        verdict = "identical" if result.identical else "DIFFERENT"
        click.echo(f"{verdict}: model.ubj sha256 {result.model_sha256} (recorded {result.recorded_sha256}); retrained model in {result.directory}")
        if not result.identical:
            versions = recorded.manifest.provenance.libraries
            click.echo(f"recorded with {versions}; compare with this environment's versions (docs/model-directory.md)", err=True)
            sys.exit(1)

    return reproduce


def main(argv: list[str] | None = None) -> None:
    """Run pyflyte with ``argv`` (default: this process's arguments) in the project's local directory."""
    if "flytekit" in sys.modules:
        raise RuntimeError(f"{PROG} must set up its directories before flytekit is imported; run it in a fresh process")
    from flyte import summary

    argv, options = summary.split_options(sys.argv[1:] if argv is None else argv)
    dirs = local_dirs()
    prepare(dirs)
    # Only now: importing the workflows package imports flytekit, which reads the directories prepare() set.
    from flyte.workflows.shared import stage_log
    if options.quiet:
        os.environ[stage_log.QUIET_ENV] = "1"  # read by the logging set-up, here and in any process this one starts
    stage_log.configure()
    from flyte.workflows.shared import flytekit_compat

    # Kept beside the files its entries name, the local cache never serves results of another checkout or of a
    # plain `pyflyte run` in /tmp.
    flytekit_compat.set_local_cache_location(str(dirs.cache))
    if pruned := prune_stale_cache(dirs.cache):
        log.warning("Removed %d cached task result(s) whose files under %s were deleted; those tasks run again.", pruned, dirs.root)
    try:
        check_json_arguments(argv)  # pyflyte's json.loads would exhaust recursion on a deep one
    except ActionableError as exc:
        print("\n".join(format_problem(Problem(exc.message, exc.hint), traceback_shown=True)), file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    with summary.summarized(options, dirs.flytekit):
        _command(dirs).main(args=argv, prog_name=PROG)


if __name__ == "__main__":
    main()
