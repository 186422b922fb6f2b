"""Tests for flyte.cli: actionable errors first and short, and local runs kept in one project directory."""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from flyte import cli, cli_local
from flyte.core.common.errors import DataValidationError
from tests.flyte_package import REPO, RUN, clean_env
from tests.http_servers import Routes, answering_server

TRACEBACK_HINT = "(For the full traceback: PIPELINE_TRACEBACK=1 python -m flyte.cli run ..., or python -m flyte.cli -v run ...)"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def err_lines(self) -> list[str]:
        return self.stderr.splitlines()


def project_run(
    tmp_path: Path, *inputs: str, pyflyte_options: tuple = (), run_options: tuple = (), prelude: str = "", **env: str
) -> Run:
    """`python -m flyte.cli [pyflyte_options] run [run_options] flyte/workflows/training/pipeline.py training_pipeline
    [inputs]` in a fresh process.

    HOME, the system temp directory and the local directory are the test's own, so the test can see what
    lands where. ``prelude`` is Python run first in the process (to simulate a failure), then flyte.cli.
    """
    for name in ("home", "systemp", "local"):
        (tmp_path / name).mkdir(exist_ok=True)
    # Quiet unless a test says otherwise: these tests read the error lines; the stage lines have tests of their own.
    env = clean_env(tmp_path / "home", TMPDIR=str(tmp_path / "systemp"), PIPELINE_LOCAL_DIR=str(tmp_path / "local"), **{"PIPELINE_QUIET": "1", **env})
    command = ["-m", "flyte.cli"]
    if prelude:
        command = ["-c", f"{prelude}\nimport sys\nfrom flyte.cli import main\nmain(sys.argv[1:])"]
    argv = [*pyflyte_options, RUN[0], *run_options, *RUN[1:], *inputs]
    proc = subprocess.run([sys.executable, *command, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def dataset(source, **fields) -> list[str]:
    return ["--dataset", json.dumps({"source": str(source), "has_header": True, "target": "y", **fields})]


def outputs_of(run: Run) -> dict[str, Path]:
    found = dict(re.findall(r"^(Model|Report): +(/\S+)$", run.stdout, flags=re.MULTILINE))
    assert set(found) == {"Model", "Report"}, run.stdout[-2000:] + run.stderr[-2000:]
    return {k.lower(): Path(v) for k, v in found.items()}


# --- errors a user can act on ----------------------------------------------------------------------------


def test_bad_data_is_one_line_first_then_a_pointer_to_the_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,oops,1\n")
    run = project_run(tmp_path, *dataset(bad))
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.err_lines == [
        f"Error: ingest failed: {bad}: column 'b' holds non-numeric value 'oops' at line 3; "
        "list it in categorical_columns if it is a category, or add it to extra_missing_values if it means missing",
        TRACEBACK_HINT,
    ]
    assert "Traceback" not in run.stdout + run.stderr


def test_without_quiet_the_error_still_comes_last_after_the_failed_stages_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,oops,1\n")
    run = project_run(tmp_path, *dataset(bad), PIPELINE_QUIET="0")
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.err_lines[-2].startswith(f"Error: ingest failed: {bad}: column 'b'") and run.err_lines[-1] == TRACEBACK_HINT
    assert re.fullmatch(r"\d\d:\d\d:\d\d ingest: failed after \d+\.\d s \(DataValidationError\)", run.err_lines[-3]), run.stderr


def test_a_missing_http_source_names_the_status(tmp_path):
    with answering_server(Routes()) as base:
        run = project_run(tmp_path, *dataset(f"{base}/absent.csv"))
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.err_lines[0] == f"Error: ingest failed: {base}/absent.csv: cannot fetch: HTTP 404 Not Found"
    assert run.err_lines[1] == "Hint: check the URL: the server has no file there"
    assert "Traceback" not in run.stdout + run.stderr


def test_a_busy_http_source_says_to_try_again(tmp_path):
    routes = Routes()
    routes.add("/data.csv", (503, b"busy"))
    with answering_server(routes) as base:
        run = project_run(tmp_path, *dataset(f"{base}/data.csv"))
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.err_lines[0] == f"Error: ingest failed: {base}/data.csv: cannot fetch: HTTP 503 Service Unavailable"
    assert run.err_lines[1].startswith("Hint: ") and "try again later" in run.err_lines[1]


def test_random_bytes_are_reported_without_printing_them(tmp_path):
    noise = tmp_path / "noise.csv"
    noise.write_bytes(b"\x02\x82" + random.Random(5).randbytes(4000))
    run = project_run(tmp_path, *dataset(noise))
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.err_lines[0].startswith(f"Error: fingerprint failed: {noise}: line 1 holds") or run.err_lines[0].startswith(
        f"Error: ingest failed: {noise}: line 1 holds"
    )
    assert run.err_lines[1] == "Hint: check the file: a CSV is text"
    assert len(run.err_lines) == 3 and "UnicodeDecodeError" not in run.stderr
    assert all(c.isprintable() for line in run.err_lines for c in line)


def test_a_full_disk_names_the_path(tmp_path):
    """ENOSPC while ingest writes its table (simulated: the writer raises it as pyarrow does, without a path)."""
    prelude = (
        "import errno, flyte.core.data.ingest\n"
        "def full(*a, **k): raise OSError(errno.ENOSPC, 'Error writing bytes to file. Detail: [errno 28] No space left on device')\n"
        "flyte.core.data.ingest.ingest_table = full"
    )
    run = project_run(tmp_path, prelude=prelude)
    assert run.returncode == cli.EXIT_USER_ERROR
    first = run.err_lines[0]
    assert re.fullmatch(rf"Error: ingest failed: {re.escape(str(tmp_path / 'local' / 'outputs'))}/\S+/table: no space left on device", first), first
    assert run.err_lines[1].startswith("Hint: free space on the disk holding ")
    assert run.err_lines[1].endswith("(PIPELINE_LOCAL_DIR sets where local runs write)")


@pytest.mark.parametrize("switch", [{"PIPELINE_TRACEBACK": "1"}, {"pyflyte_options": ("-v",)}], ids=["env", "flag"])
def test_the_full_traceback_is_opt_in_and_comes_after_the_message(tmp_path, switch):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,oops,1\n")
    run = project_run(tmp_path, *dataset(bad), **switch)
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.err_lines[0].startswith(f"Error: ingest failed: {bad}: column 'b'")
    assert TRACEBACK_HINT not in run.stderr
    assert "Traceback" in run.stdout and "csv_reader.py" in run.stdout  # pyflyte's traceback, down to our frame


def test_a_bug_keeps_pyflytes_traceback(tmp_path):
    """Only errors the user can act on are shortened: anything else is a bug, and its traceback is the report."""
    run = project_run(tmp_path, prelude="import flyte.core.data.ingest\ndef bug(*a, **k): raise KeyError('oops')\nflyte.core.data.ingest.ingest_table = bug")
    assert run.returncode == 1
    assert "Error: " not in run.stderr
    assert "Traceback" in run.stdout and "KeyError" in run.stdout


def test_describe_finds_the_error_under_flytekits_rewording():
    """flytekit rewrites a task error's args when a local run fails; the message kept aside survives it."""
    error = DataValidationError("x.csv: file is empty", hint="give it rows")
    error.args = ("Error encountered while executing 'flyte.workflows.training.tasks.ingest':\n  x.csv: file is empty",)
    assert cli.describe(error) == cli.Problem("x.csv: file is empty", "give it rows", "ingest")


def test_describe_names_the_outputs_directory_for_a_bare_enospc(tmp_path):
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("Failed to put data") from exc
    except RuntimeError as outer:
        problem = cli.describe(outer, tmp_path / "outputs")
    assert problem.message == f"{tmp_path / 'outputs'}: no space left on device"


def test_printable_escapes_and_cuts():
    assert cli.printable("a\x00b\ufffdc\nd") == "a\\x00b\\ufffdc\\nd"
    assert cli.printable("x" * 50, limit=10) == "x" * 9 + "…"


# --- local runs leave nothing broken behind --------------------------------------------------------------


def test_the_default_local_directory_is_in_the_project(monkeypatch):
    monkeypatch.delenv(cli.LOCAL_DIR_ENV, raising=False)
    assert cli.local_dirs().root == REPO / ".flyte-local"
    assert (REPO / ".gitignore").read_text().splitlines().count(".flyte-local/") == 1


def test_make_run_goes_through_the_project_command_line():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "-m flyte.cli run flyte/workflows/training/pipeline.py training_pipeline" in dry
    clean = subprocess.run(["make", "-n", "clean"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert ".flyte-local" in clean


def test_make_run_and_test_byte_compile_the_project_even_where_python_writes_no_bytecode(tmp_path):
    """The project's own modules get .pyc files before a run or the tests (the venvs' packages get theirs at
    install), and compileall writes them where PYTHONDONTWRITEBYTECODE keeps Python's imports from doing so."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for target in ("run", "test", "bench-quick"):
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, check=True).stdout
        assert "-m compileall -q flyte benchmarks tests scripts" in dry, target
    dry = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert dry.index("-m compileall") < dry.index("-m flyte.cli run")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 1\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "pkg"], cwd=tmp_path, env=env, check=True)
    assert list((tmp_path / "pkg" / "__pycache__").glob("mod.cpython-*.pyc"))


def cached_locations(local: Path) -> list[Path]:
    """Every local path the task cache under ``local`` names."""
    from diskcache import Cache
    from flyteidl.core.literals_pb2 import LiteralMap

    paths = []
    with Cache(str(local / "cache")) as entries:
        for key in entries:
            outputs = LiteralMap()
            outputs.ParseFromString(entries[key])
            paths.extend(Path(uri) for uri in cli_local._uris(outputs))
    return paths


def test_outputs_cache_and_flytekits_files_stay_in_the_local_directory(tmp_path):
    run = project_run(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    for path in outputs_of(run).values():
        assert path.is_relative_to(tmp_path / "local" / "outputs") and path.exists()
    cached = cached_locations(tmp_path / "local")
    assert len(cached) >= 7  # table, train, validation, test, model, predictions, report
    assert all(p.is_relative_to(tmp_path / "local") and p.exists() for p in cached), cached
    assert list((tmp_path / "systemp").iterdir()) == []  # no random flyte* folders in the system temp dir
    assert not (tmp_path / "home" / ".flyte").exists()  # nor a cache in HOME


@pytest.mark.parametrize("deleted", ["outputs", "flytekit", "the model"])
def test_a_rerun_after_outputs_were_deleted_recomputes(tmp_path, deleted):
    """Whatever a cleaner (or a hand) deletes, the next run recomputes what is gone instead of failing on it."""
    first = outputs_of(project_run(tmp_path))
    gone = first["model"] if deleted == "the model" else tmp_path / "local" / deleted
    named = [p for p in cached_locations(tmp_path / "local") if p.is_relative_to(gone)]
    assert named  # the cache points into what is about to go: an unpruned hit would fail the rerun
    shutil.rmtree(gone)
    run = project_run(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    pruned = re.search(r"Removed (\d+) cached task result\(s\) whose files under .* were deleted", run.err_lines[0])
    assert pruned and int(pruned[1]) >= 1, run.stderr
    rebuilt = outputs_of(run)
    assert (rebuilt["model"] / "model.ubj").is_file() and rebuilt["report"].is_file()
    assert all(p.exists() for p in cached_locations(tmp_path / "local"))


def test_overwrite_cache_recomputes_every_task(tmp_path):
    """The README's way to bypass the cache: an option of `run`, given before the file."""
    first = outputs_of(project_run(tmp_path))
    again = project_run(tmp_path, run_options=("--overwrite-cache",))
    assert again.returncode == 0, again.stderr[-3000:]
    assert outputs_of(again)["model"] != first["model"] and (outputs_of(again)["model"] / "model.ubj").is_file()


def test_describe_explains_a_cached_result_whose_files_are_gone():
    """flytekit's words when a cache hit names a deleted directory (what plain pyflyte runs into)."""
    error = TypeError("Failed to convert output in position model")
    error.__cause__ = AssertionError("USER:AssertionError: error=Expected a directory, but the given uri '/x/model' is not a directory.")
    problem = cli.describe(error)
    assert problem.message == "a cached result points at /x/model, which no longer exists"
    assert "run --overwrite-cache" in problem.hint


# --- reproduce ------------------------------------------------------------------------------------------------


def test_reproduce_retrains_a_published_model_from_its_manifest(tmp_path, mixed_csv):
    path, spec = mixed_csv
    run = project_run(tmp_path, *dataset(path, target="label", categorical_columns=["colour", "size"]), "--hyperparameters",
                      '{"max_rounds": 30, "learning_rate": 0.3}')  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    model = outputs_of(run)["model"]
    env = clean_env(tmp_path / "home", PIPELINE_LOCAL_DIR=str(tmp_path / "local"))
    same = subprocess.run([sys.executable, "-m", "flyte.cli", "reproduce", str(model)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert same.returncode == 0, same.stderr[-2000:]
    assert same.stdout.startswith("identical: model.ubj sha256 ")
    path.write_text(path.read_text().replace("alpha", "beta", 3))  # the data changed since
    changed = subprocess.run([sys.executable, "-m", "flyte.cli", "reproduce", str(model)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert changed.returncode == 2
    assert "the data changed, so the model cannot be reproduced" in changed.stderr


def test_flytekit_is_imported_only_after_the_local_directories_are_set(tmp_path):
    """flytekit makes its temporary directories when imported: before prepare(), they would land in the system
    temp directory and the run's outputs outside .flyte-local."""
    probe = (
        "import sys, tempfile, flyte.cli as cli\n"
        "seen = {}\n"
        "real = cli.prepare\n"
        "def spy(dirs):\n"
        "    seen['flytekit_before'] = 'flytekit' in sys.modules\n"
        "    real(dirs)\n"
        "cli.prepare = spy\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "import flytekit\n"
        "from flytekit.core.context_manager import FlyteContextManager\n"
        "sandbox = FlyteContextManager.current_context().file_access.local_sandbox_dir\n"
        "print(seen['flytekit_before'], sandbox)\n"
    )
    env = clean_env(tmp_path / "home", TMPDIR=str(tmp_path / "systemp"), PIPELINE_LOCAL_DIR=str(tmp_path / "local"))
    (tmp_path / "systemp").mkdir()
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    before, sandbox = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert before == "False"
    assert sandbox.startswith(str(tmp_path / "local")), sandbox
