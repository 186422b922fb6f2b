"""Every task of the workflow run as its pod runs it, on a synthetic CSV, with each pod's peak memory and time.

The workflow is packaged with `pyflyte package` (tests.flyte_package.package) and run node by node with
tests.flyte_package.run_as_pods, whose ``dataset`` input is overridden with the synthetic file's spec.
Each pod is a fresh `pyflyte-execute` process; its peak RSS (os.wait4) is set against the memory limit
the task declares in its serialized template (container.resources.limits), the limit a cluster enforces.
RSS counts the shared libraries' pages too (Python, flytekit, Arrow, XGBoost: ~200-300 MiB even for a
tiny table): a fresh container is charged for them as well, so this errs on the side of caution.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
from pathlib import Path

from benchmarks.pods import MIB, Measured, MemoryLimiter, parse_quantity, runtime_bin
from benchmarks.synthetic import dataset_spec, synthetic_csv
from tests.flyte_package import REPO, WORKFLOW, Package, PodFailed, clean_env, metrics_from, package, run_as_pods

log = logging.getLogger(__name__)

IMAGE = "localhost:30000/flyte-xgboost:bench"
#: A peak above this share of the declared limit is flagged: allocator growth, a larger input or a
#: library upgrade would take the pod over the line and the cluster would OOM-kill it.
WARN_SHARE = 0.70


def short(task_name: str) -> str:
    """``flyte.workflows.training.tasks.fit`` -> ``fit``."""
    return task_name.rsplit(".", 1)[-1]


def declared_limits(pkg: Package) -> dict[str, int]:
    """Task (short name) to the memory limit its template declares, in bytes."""
    from flyteidl.core import tasks_pb2

    limits = {}
    for name, spec in pkg.tasks.items():
        for entry in spec.template.container.resources.limits:
            if entry.name == tasks_pb2.Resources.MEMORY:
                limits[short(name)] = parse_quantity(entry.value)
    return limits


class PodMeter:
    """A run_as_pods executor: each pod a measured child process, optionally under a hard memory limit."""

    def __init__(self, workdir: Path, limiter: MemoryLimiter, limits: dict[str, int | None] | None = None):
        self.workdir, self.limiter, self.limits = workdir, limiter, limits or {}
        self.pods: list[Measured] = []

    def __call__(self, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        task = short(env["FLYTE_INTERNAL_TASK_NAME"])
        tmp = self.workdir / "tmp" / task
        tmp.mkdir(parents=True, exist_ok=True)
        # TMPDIR inside the workdir: flytekit stages downloads under it, and the workdir is deleted afterwards.
        full_env = {**clean_env(self.workdir), **env, "OMP_WAIT_POLICY": "PASSIVE", "TMPDIR": str(tmp)}
        argv = [str(runtime_bin() / argv[0]), *argv[1:]]  # the image's packages, not the dev venv's
        log.info("pod %s starting", task)
        result = self.limiter.run(task, argv, full_env, REPO, self.workdir / "logs" / task, self.limits.get(task))
        log.info(
            "pod %s: rc %d, %.1fs, peak RSS %.0f MiB", task, result.returncode, result.seconds, result.peak_rss_mib
        )
        self.pods.append(result)
        stdout, stderr = (Path(result.log_dir) / f"{s}.txt" for s in ("stdout", "stderr"))
        return subprocess.CompletedProcess(
            argv, result.returncode, stdout.read_text(errors="replace"), stderr.read_text(errors="replace")
        )


def workflow_input_types() -> dict[str, type]:
    """The workflow's Python input types, taken from the workflow itself so a moved class is still found."""
    from flyte.workflows.training.pipeline import training_pipeline

    return dict(training_pipeline.python_interface.inputs)


def to_literal(value, python_type):
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_literal(ctx, value, python_type, TypeEngine.to_literal_type(python_type)).to_flyte_idl()


def workflow_inputs(csv: Path, registry: Path, hyperparameters: dict | None = None) -> dict:
    """Literals overriding the launch plan's ``dataset`` and ``registry`` (and optionally some ``hyperparameters``
    fields). The registry must be an absolute path: the gate refuses a relative one inside a pod, where it would be
    lost when the pod ends."""
    types = workflow_input_types()
    inputs = {"dataset": to_literal(types["dataset"](**dataset_spec(csv)), types["dataset"]),
              "registry": to_literal(str(Path(registry).resolve()), types["registry"])}  # fmt: skip
    if hyperparameters:
        inputs["hyperparameters"] = to_literal(types["hyperparameters"](**hyperparameters), types["hyperparameters"])
    return inputs


def run_size(
    pkg: Package,
    rows: int,
    seed: int,
    workdir: Path,
    limiter: MemoryLimiter,
    hard_limits: dict[str, int | None] | None = None,
    hyperparameters: dict | None = None,
    keep: bool = False,
) -> dict:
    """All pods on one synthetic file; returns each pod's measurement against its declared limit."""
    csv = synthetic_csv(rows, seed)
    declared = declared_limits(pkg)
    meter = PodMeter(workdir, limiter, hard_limits)
    failure, metrics = None, None
    try:
        outputs = run_as_pods(pkg, WORKFLOW, WORKFLOW, workdir, meter, inputs=workflow_inputs(csv, workdir / "registry", hyperparameters))
        metrics = dataclasses.asdict(metrics_from(outputs))
    except PodFailed as exc:  # an OOM-killed or failing pod is a result to report, not a crash
        failure = str(exc).splitlines()[0]
        log.warning("%d rows: %s", rows, failure)
    pods = []
    for pod in meter.pods:
        limit = declared.get(pod.name)
        share = pod.peak_rss_mib * MIB / limit if limit else None
        pods.append(
            {
                **pod.as_dict(),
                "log_dir": pod.log_dir if keep else None,  # deleted below otherwise
                "declared_limit_mib": round(limit / MIB, 1) if limit else None,
                "peak_over_limit": round(share, 3) if share is not None else None,
                "flagged": share is not None and share > WARN_SHARE,
            }
        )
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "rows": rows,
        "csv": str(csv),
        "csv_mb": round(csv.stat().st_size / 1e6, 1),
        "pods": pods,
        "failure": failure,
        "accuracy": metrics["accuracy"] if metrics else None,
        "roc_auc": metrics["roc_auc"] if metrics else None,
    }


def run_memory(sizes: list[int], seed: int, workdir: Path, enforce: bool = False, keep: bool = False) -> list[dict]:
    """The memory part of `make bench`: every size, every pod; ``enforce`` runs each pod under its declared limit."""
    workdir.mkdir(parents=True, exist_ok=True)
    pkg = package(IMAGE, workdir)
    limiter = MemoryLimiter.detect() if enforce else MemoryLimiter("none")
    hard = declared_limits(pkg) if enforce else None
    return [run_size(pkg, rows, seed, workdir / f"rows-{rows}", limiter, hard, keep=keep) for rows in sizes]


def memory_table(results: list[dict]) -> str:
    """The readable form: one line per (rows, task)."""
    lines = [f"{'rows':>11}  {'task':<8} {'peak MiB':>9} {'seconds':>8} {'limit MiB':>9} {'peak/limit':>10}  note"]
    for size in results:
        for pod in size["pods"]:
            ratio = f"{pod['peak_over_limit']:.0%}" if pod["peak_over_limit"] is not None else "-"
            notes = (["> 70% of limit"] if pod["flagged"] else []) + (["OOM-killed"] if pod["oom_killed"] else [])
            notes += [f"rc {pod['returncode']}"] if pod["returncode"] else []
            limit = f"{pod['declared_limit_mib']:.0f}" if pod["declared_limit_mib"] else "-"
            lines.append(
                f"{size['rows']:>11,}  {pod['name']:<8} {pod['peak_rss_mib']:>9.0f} {pod['seconds']:>8.1f} "
                f"{limit:>9} {ratio:>10}  {', '.join(notes)}".rstrip()
            )
        if size["failure"]:
            lines.append(f"{'':>11}  FAILED: {size['failure']}")
        elif size["accuracy"] is not None:
            lines.append(
                f"{'':>11}  accuracy {size['accuracy']:.4f}, ROC AUC {size['roc_auc']:.4f} ({size['csv_mb']} MB CSV)"
            )
    return "\n".join(lines)
