"""Tests for flyte.cli's answers to a misspelt name, to Ctrl-C, and for a footer that names the failed command."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from flyte import cli, cli_errors
from tests.flyte_package import REPO, clean_env


def cli_process(tmp_path: Path, *argv: str, prelude: str = "") -> list[str]:
    """The argv and the environment of `python -m flyte.cli ARGV` in a fresh process with the test's own
    directories; ``prelude`` is Python run first in the process."""
    for name in ("home", "local"):
        (tmp_path / name).mkdir(exist_ok=True)
    command = ["-c", f"{prelude}\nimport sys\nfrom flyte.cli import main\nmain(sys.argv[1:])"] if prelude else ["-m", "flyte.cli"]
    return [sys.executable, *command, *argv]


def env_of(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(tmp_path / "home", PIPELINE_LOCAL_DIR=str(tmp_path / "local"), **extra)


def run_cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(cli_process(tmp_path, *argv), cwd=REPO, env=env_of(tmp_path), capture_output=True, text=True, timeout=600)


# --- a misspelt name --------------------------------------------------------------------------------------


def test_a_misspelt_workflow_is_one_line_naming_what_the_file_holds(tmp_path):
    import flyte.workflows.training.pipeline as training

    entities, tasks = cli_errors.runnable_names(training)
    assert {"training_pipeline", "nightly_training_lp"} <= set(entities) and "fit" in tasks
    run = run_cli(tmp_path, "run", "flyte/workflows/training/pipeline.py", "trainig_pipeline")
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.stderr.splitlines() == [
        "Error: flyte/workflows/training/pipeline.py has no workflow, launch plan or task named 'trainig_pipeline'; did you mean "
        f"'training_pipeline'? It holds workflows and launch plans: {cli_errors.listed(entities)}; tasks: {cli_errors.listed(tasks)}."
    ]
    assert "Traceback" not in run.stdout


def test_a_name_like_nothing_gets_no_guess(tmp_path):
    run = run_cli(tmp_path, "run", "--overwrite-cache", "flyte/workflows/batch/pipeline.py", "zzz")
    assert run.returncode == cli.EXIT_USER_ERROR
    (line,) = run.stderr.splitlines()
    assert line.startswith("Error: flyte/workflows/batch/pipeline.py has no workflow, launch plan or task named 'zzz'. It holds ")
    assert "batch_predict" in line and "did you mean" not in line


def test_a_misspelt_file_names_the_closest_workflow_file(tmp_path):
    workflows = REPO / "flyte" / "workflows"
    files = [p.relative_to(workflows).as_posix() for p in cli_errors.workflow_files(workflows)]
    assert {"training/pipeline.py", "batch/pipeline.py", "tuning/pipeline.py"} <= set(files)
    assert not any(f.endswith("tasks.py") for f in files)
    run = run_cli(tmp_path, "run", "flyte/workflows/trainin.py", "training_pipeline")
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.stderr.splitlines() == [
        "Error: flyte/workflows/trainin.py: no such file; did you mean flyte/workflows/training/pipeline.py? Workflow files in "
        f"flyte/workflows: {cli_errors.listed(files)}."
    ]


def test_a_misspelt_folder_offers_the_projects_workflow_files(tmp_path):
    line = str(cli_errors.missing_file("flyte/workflow/tuning.py", REPO / "flyte" / "workflows"))
    assert line.startswith("flyte/workflow/tuning.py: no such folder flyte/workflow; did you mean ")
    assert line.split("did you mean ")[1].split("?")[0].endswith("flyte/workflows/tuning/pipeline.py")


def test_unknown_entity_lists_at_most_a_few_names():
    from flytekit import task

    def step() -> None:
        pass

    module = types.ModuleType("many")
    for i in range(12):
        setattr(module, f"t{i:02}", task(step))
    line = str(cli_errors.unknown_entity("many.py", "t_00", module))
    assert "did you mean 't00'?" in line
    assert line.endswith("It holds no workflow; tasks: t00, t01, t02, t03, t04, t05, t06, t07 and 4 more.")


# --- Ctrl-C ------------------------------------------------------------------------------------------------


SLOW_FIT = """
import os, pathlib, time
import flyte.core.training.fit
def slow_fit(*args, **kwargs):
    pathlib.Path(os.environ["FIT_STARTED"]).touch()
    time.sleep(600)
flyte.core.training.fit.train_model = slow_fit
"""


def test_ctrl_c_during_fit_names_the_stage_and_exits_130(tmp_path):
    marker = tmp_path / "fit-started"
    argv = cli_process(tmp_path, "run", "flyte/workflows/training/pipeline.py", "training_pipeline", prelude=SLOW_FIT)
    proc = subprocess.Popen(argv, cwd=REPO, env=env_of(tmp_path, FIT_STARTED=str(marker)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), proc.stderr.read() if proc.poll() is not None else "fit never started"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == cli_errors.EXIT_INTERRUPTED, err
    assert err.splitlines()[-1] == "Interrupted during fit (Ctrl-C); the cached stages that had finished are reused by the next run."
    assert "Traceback" not in out + err


def test_an_interruption_outside_a_task_names_no_stage():
    assert cli_errors.interrupted("") == "Interrupted (Ctrl-C)."


# --- the footer names the command that failed --------------------------------------------------------------


def test_a_failed_reproduce_footer_repeats_reproduce(tmp_path):
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    run = run_cli(tmp_path, "reproduce", str(not_a_model))
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.stderr.splitlines()[-1] == (
        "(For the full traceback: PIPELINE_TRACEBACK=1 python -m flyte.cli reproduce ..., or python -m flyte.cli -v reproduce ...)"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "--overwrite-cache", "f.py", "wf"], "run ..."),
        (["registry", "rollback", "reg", "v1"], "registry rollback ..."),
        (["nosuch"], "..."),
    ],
)
def test_command_words_follow_nested_groups(args, words):
    import click

    top = click.Group("top", commands=[click.Group("run"), click.Group("registry", commands=[click.Command("rollback")])])
    ctx = click.Context(top)
    ctx.args = args
    assert cli_errors.command_words(top, ctx) == words


def test_the_footer_repeats_the_command_it_is_given():
    lines = cli.format_problem(cli.Problem("x.csv: file is empty"), traceback_shown=False, command="registry rollback ...")
    assert lines[-1] == "(For the full traceback: PIPELINE_TRACEBACK=1 python -m flyte.cli registry rollback ..., or python -m flyte.cli -v registry rollback ...)"
