"""The command line's answers to a misspelt workflow or file name (one line: what exists, the closest match) and to Ctrl-C."""

# Nothing here imports flytekit at module level: flyte.cli must set up its directories before flytekit is imported.

from __future__ import annotations

import difflib
import os
import signal
import sys
import warnings
from pathlib import Path
from types import TracebackType

from flyte.core.common.errors import ActionableError

#: Exit status after Ctrl-C: 128 + SIGINT, what a shell reports for a process killed by it.
EXIT_INTERRUPTED = 130
#: Most names listed in one error line; the rest are counted.
MAX_LISTED = 8
#: Shown when a run option comes between the subcommand and the file, so the words after it are not names.
ELLIPSIS = "..."


class CommandLineMistake(ActionableError):
    """A misspelt workflow, task or file name: the message says what exists; no traceback helps."""


def closest(word: str, candidates: list[str]) -> str:
    """The candidate nearest to ``word`` in spelling, or "" when none is close (difflib ratio below 0.6)."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else ""


def listed(names: list[str]) -> str:
    """``names`` joined by commas, the first MAX_LISTED of them and a count of the rest."""
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def runnable_names(module) -> tuple[list[str], list[str]]:
    """(workflows and launch plans, tasks) that ``module`` holds under a name `pyflyte run` accepts."""
    from flytekit.core.base_task import PythonTask
    from flytekit.core.launch_plan import LaunchPlan
    from flytekit.core.workflow import WorkflowBase

    entities = [name for name, value in vars(module).items() if isinstance(value, (WorkflowBase, LaunchPlan))]
    tasks = [name for name, value in vars(module).items() if isinstance(value, PythonTask)]
    return sorted(entities), sorted(tasks)


def unknown_entity(filename: str, name: str, module) -> CommandLineMistake:
    """The error for running ``name``, which the file ``filename`` (imported as ``module``) does not hold."""
    entities, tasks = runnable_names(module)
    match = closest(name, entities + tasks)
    guess = f"; did you mean '{match}'?" if match else "."
    held = f" It holds workflows and launch plans: {listed(entities)}" if entities else " It holds no workflow"
    held += f"; tasks: {listed(tasks)}." if tasks else "."
    return CommandLineMistake(f"{filename} has no workflow, launch plan or task named '{name}'{guess}{held}")


def workflow_files(directory: Path) -> list[Path]:
    """The Python files in ``directory`` and its sub-folders that define a workflow (a cheap text check: they
    use @workflow)."""
    return sorted(p for p in directory.rglob("*.py") if "@workflow" in p.read_text(errors="replace"))


def _nicknames(path: Path, folder: Path) -> list[str]:
    """What a user may type for a workflow file: its path under ``folder``, its own name, and, for a workflow
    folder's ``pipeline.py``, the folder's name as a file (``training.py`` for ``training/pipeline.py``)."""
    names = [path.relative_to(folder).as_posix(), path.name]
    if path.stem == "pipeline":
        names.append(f"{path.parent.name}.py")
    return names


def missing_file(filename: str, project_workflows: Path) -> CommandLineMistake:
    """The error for a file to run that does not exist: what its folder (or else the project) offers instead."""
    path = Path(filename)
    folder = path.parent if path.parent.is_dir() else project_workflows
    offered = workflow_files(folder) or sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")
    by_name = {name: p for p in reversed(offered) for name in _nicknames(p, folder)}
    found = closest(path.name, list(by_name))
    match = by_name[found].relative_to(folder).as_posix() if found else ""
    shown = os.path.relpath(folder) if not path.is_absolute() else str(folder)
    guess = f"; did you mean {Path(shown) / match}?" if match else "."
    held = f" Workflow files in {shown}: {listed([p.relative_to(folder).as_posix() for p in offered])}." if offered else ""
    where = "no such file" if path.parent.is_dir() else f"no such folder {path.parent}"
    return CommandLineMistake(f"{filename}: {where}{guess}{held}")


def run_command(project_workflows: Path):
    """pyflyte's `run`, answering a misspelt file or workflow name with a CommandLineMistake."""
    from flytekit.clis.sdk_in_container.run import RunCommand, WorkflowCommand
    from flytekit.clis.sdk_in_container.run import run as pyflyte_run
    from flytekit.exceptions.user import FlyteEntityNotFoundException

    from flyte.workflows.shared.flytekit_compat import missing_entity_module

    class ProjectWorkflowCommand(WorkflowCommand):
        def get_command(self, ctx, exe_entity):
            try:
                return super().get_command(ctx, exe_entity)
            except FlyteEntityNotFoundException as exc:
                module = sys.modules.get(missing_entity_module(exc))
                if module is None:
                    raise
                raise unknown_entity(self.name, exe_entity, module) from exc

    class ProjectRunCommand(RunCommand):
        def get_command(self, ctx, filename):
            command = super().get_command(ctx, filename)
            if type(command) is not WorkflowCommand:
                return command  # the remote entity groups
            if "://" not in filename and not os.path.exists(filename):
                raise missing_file(filename, project_workflows)
            return ProjectWorkflowCommand(filename, name=filename, help=command.help)

    return ProjectRunCommand(name=pyflyte_run.name, help=pyflyte_run.help, params=pyflyte_run.params)


def raise_on_interrupt() -> None:
    """Make Ctrl-C raise KeyboardInterrupt again, after the handlers flytekit's own SIGINT handler runs; that one
    then calls exit(1), which ends a run with no word of why."""
    from flytekit.core.context_manager import FlyteContextManager

    def on_interrupt(signum, frame):
        for handler in FlyteContextManager.signal_handlers:
            handler(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)


def interrupted_stage(traceback: TracebackType | None) -> str:
    """The task that was running when Ctrl-C arrived, from its traceback ("" if none was): the innermost frame
    whose ``self`` is a flytekit task, named as the workflows name their stages (the last part of its name)."""
    from flytekit.core.base_task import PythonTask

    stage = ""
    while traceback is not None:
        owner = traceback.tb_frame.f_locals.get("self")
        if isinstance(owner, PythonTask):
            stage = owner.name.rsplit(".", 1)[-1]
        traceback = traceback.tb_next
    return stage


def interrupted(stage: str) -> str:
    """The line printed after Ctrl-C; ``stage`` is the task that was running, "" if none was."""
    if not stage:
        return "Interrupted (Ctrl-C)."
    return f"Interrupted during {stage} (Ctrl-C); the cached stages that had finished are reused by the next run."


def command_words(group, ctx) -> str:
    """The subcommand that the words after ``group``'s own options invoke, for a footer that repeats it: "run ...",
    "reproduce ...", or a nested group's path such as "registry rollback ..."; call before the group resolves it."""
    with warnings.catch_warnings():  # click 8.2-8.x keeps the subcommand's name apart; 9.0 will keep it in args
        warnings.simplefilter("ignore", DeprecationWarning)
        args = [*getattr(ctx, "protected_args", []), *ctx.args]
    words: list[str] = []
    command = group
    for arg in args:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            break
        words.append(arg)
        command = sub
    return " ".join([*words, ELLIPSIS]) if words else ELLIPSIS
