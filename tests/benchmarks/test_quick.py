"""benchmarks.quick (`make bench-quick`): what it runs, that ratios never fail it, and a tiny run end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from flytekit import task, workflow
from flytekit.core.base_task import Task

from benchmarks import quick
from benchmarks.stage_timer import TaskClock
from tests.benchmarks.test_stage_report import measurement
from tests.flyte_package import REPO, clean_env


def test_plan_runs_training_and_batch_at_every_size_and_the_costly_two_at_the_smallest():
    assert quick.plan([1_000_000, 100_000]) == [
        ("training", 100_000), ("training", 1_000_000), ("batch", 100_000), ("batch", 1_000_000),
        ("tuning", 100_000), ("dask", 100_000),
    ]  # fmt: skip


def test_ratios_over_their_targets_still_exit_zero(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    asked = []

    def measure_all(todo, repeats, workdir):
        asked.append((todo, repeats))
        return [measurement()]  # 2.75x the plain script, against a target of 1.15x

    out = tmp_path / "quick.json"
    assert quick.main(["--sizes", "1000", "--repeats", "1", "--only", "training", "--json", str(out)], measure_all) == 0
    assert asked == [([("training", 1000)], 1)]
    printed = capsys.readouterr().out
    assert "2.75x" in printed and "over it" in printed
    assert json.loads(out.read_text())[0]["summary"][-1]["ratio"] == 2.75
    assert [p.name for p in tmp_path.iterdir()] == ["quick.json"]  # the scratch space is gone


def test_a_crashing_benchmark_is_not_hidden(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))

    def measure_all(todo, repeats, workdir):
        raise RuntimeError("training-pipeline-1000-0: pyflyte run exited 1")

    with pytest.raises(RuntimeError, match="exited 1"):
        quick.main(["--sizes", "1000"], measure_all)
    assert list(tmp_path.iterdir()) == []


@task
def double(x: int) -> int:
    return 2 * x


@workflow
def twice(x: int) -> int:
    return double(x=double(x=x))


def test_every_task_of_a_local_run_is_timed_with_its_peak(monkeypatch):
    monkeypatch.setattr(Task, "local_execute", Task.local_execute)  # restored after the test
    clock = TaskClock()
    clock.wrap(Task)
    assert twice(x=3) == 12
    assert [t["name"].rsplit(".", 1)[-1] for t in clock.tasks] == ["double", "double"]
    assert all(t["seconds"] >= 0 for t in clock.tasks)
    if clock.peak_resettable:
        assert all(t["peak_rss_mib"] > 10 for t in clock.tasks)  # a Python process with flytekit loaded


def test_fit_threads_match_the_fit_tasks_cpu_limit():
    from benchmarks.bench import fit_threads
    from benchmarks.workflows import FIT_THREADS

    assert FIT_THREADS == fit_threads()


def test_quick_bench_end_to_end_on_a_tiny_table(tmp_path):
    """Every workflow and its plain script on 2,000 rows, once: tables printed, JSON written, exit 0."""
    out = tmp_path / "quick.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.quick", "--sizes", "2000", "--repeats", "1", "--json", str(out)],
        cwd=REPO, env=clean_env(tmp_path, BENCH_DATA=str(tmp_path / "data")), capture_output=True, text=True,
        timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert [(m["workflow"], m["rows"]) for m in data] == [(w, 2000) for w in ("training", "batch", "tuning", "dask")]
    for m in data:
        stages = {r["stage"] for r in m["summary"]}
        assert {"read", "predict", "score", "start-up+rest", "total"} <= stages, m["workflow"]
        total = m["summary"][-1]
        assert total["pipeline_s"] > 0 and total["plain_s"] > 0 and total["ratio"] > 0
        assert total["pipeline_peak_mib"] > 0 and total["plain_peak_mib"] > 0
    tasks = {m["workflow"]: [r["tasks"] for r in m["summary"]] for m in data}
    assert "publish" in tasks["training"] and "fit" in tasks["training"]
    assert "cross_validate_trial" in tasks["tuning"] and "fit_distributed" in tasks["dask"]
    assert "predict_rows" in tasks["batch"]
    for m in data:  # both sides learned the synthetic target: the plain bar is not a straw man
        accuracy = m["plain_runs"][0]["accuracy"]
        assert accuracy is not None and accuracy > 0.6, m["workflow"]
    lines = proc.stdout.splitlines()
    assert sum(line.startswith(("training (", "batch (", "tuning (", "dask (")) for line in lines) == 4
    assert all(len(line) <= 120 for line in lines)
