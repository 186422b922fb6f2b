"""Test helpers for the cluster's door: what `pyflyte package` sends, and tasks run as pods run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import literals_pb2

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: pyflyte names each file N_<entity>_<kind>.pb, kind 1 = task, 2 = workflow, 3 = launch plan.
KINDS = {"1": ("tasks", task_pb2.TaskSpec), "2": ("workflows", workflow_pb2.WorkflowSpec), "3": ("launch_plans", launch_plan_pb2.LaunchPlan)}


@dataclass
class Package:
    """The protobufs `pyflyte package` wrote, by entity name."""

    archive: Path
    tasks: dict[str, task_pb2.TaskSpec] = field(default_factory=dict)
    workflows: dict[str, workflow_pb2.WorkflowSpec] = field(default_factory=dict)
    launch_plans: dict[str, launch_plan_pb2.LaunchPlan] = field(default_factory=dict)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh process: its own HOME (so its own local cache), the repo importable, and
    none of the caller's flytekit, pytest or project (PIPELINE_*, read by flyte.cli) settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE_", "PYTEST_", "PIPELINE_"))}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), **extra)
    return env


def package(image: str, workdir: Path) -> Package:
    """Run `pyflyte package` exactly as a user registering with flytectl would, and parse the archive."""
    archive = workdir / "flyte-package.tgz"
    subprocess.run(
        [str(BIN / "pyflyte"), "--pkgs", "flyte.workflows", "package", "--image", image, "--output", str(archive), "--force"],
        cwd=REPO, env=clean_env(workdir), check=True, capture_output=True, text=True,
    )
    result = Package(archive=archive)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            stem = member.name.removesuffix(".pb")
            attr, message = KINDS[stem.rsplit("_", 1)[1]]
            proto = message()
            proto.ParseFromString(tar.extractfile(member).read())
            name = _entity_name(proto)
            getattr(result, attr)[name] = proto
    return result


def _entity_name(proto) -> str:
    # Task and workflow specs name themselves in their template; a launch plan carries its own id.
    return proto.id.name if isinstance(proto, launch_plan_pb2.LaunchPlan) else proto.template.id.name


# --- the workflow through `pyflyte run` ------------------------------------------------------------------

RUN = ["run", "flyte/workflows/training.py", "training_pipeline"]


@dataclass
class CliRun:
    stdout: str
    metrics: dict[str, float]
    model: Path
    report: Path


def pyflyte_run(home: Path, *args: str, run: list[str] = RUN) -> CliRun:
    """`pyflyte run` (of ``run``: file and workflow) in a fresh process with its own HOME (so its own local cache);
    parses what it prints."""
    proc = subprocess.run(
        [str(BIN / "pyflyte"), *run, *args], cwd=REPO, env=clean_env(home), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    metrics_text = re.search(r"metrics=Metrics\((.*?)\)", out, flags=re.DOTALL)
    assert metrics_text, out
    metrics = {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+(?:e-?\d+)?)\b", metrics_text[1])}
    model = re.search(r"model=(\S+?),", out)
    report = re.search(r"report=(\S+?)\)\s*$", out.strip())
    assert model and report, out
    return CliRun(stdout=out, metrics=metrics, model=Path(model[1]), report=Path(report[1]))


# --- running the workflow's tasks as pods -------------------------------------------------------------

#: How a pod runs: the container's argv and environment, inside whatever the executor provides.
Executor = Callable[[list[str], dict[str, str]], subprocess.CompletedProcess]


def local_executor(workdir: Path) -> Executor:
    """Run each 'pod' as a fresh local subprocess with this virtualenv's pyflyte-execute."""

    def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        argv = [str(BIN / argv[0]), *argv[1:]]
        return subprocess.run(argv, cwd=REPO, env={**clean_env(workdir), **env}, capture_output=True, text=True)

    return run


class PodFailed(AssertionError):
    pass


def run_as_pods(
    pkg: Package,
    workflow: str,
    launch_plan: str,
    workdir: Path,
    executor: Executor,
    inputs: dict[str, literals_pb2.Literal] | None = None,
) -> literals_pb2.LiteralMap:
    """Execute every node of ``workflow`` as propeller would: one pod per task, inputs.pb in, outputs.pb out.

    Workflow inputs come from the launch plan's defaults, overridden by ``inputs`` as a user launching
    the plan with values would; each node's inputs are bound to upstream outputs as the serialized graph
    says. Returns the workflow's output literals.
    """
    template = pkg.workflows[workflow].template
    lp = pkg.launch_plans[launch_plan]
    # flytekit binds workflow inputs to node "" (propeller's start node).
    values = {"": _launch_plan_inputs(lp, inputs or {})}
    for node in _topological(template.nodes):
        task = pkg.tasks[node.task_node.reference_id.name].template
        node_inputs = literals_pb2.LiteralMap(literals={b.var: _resolve(b.binding, values) for b in node.inputs})
        proc, outputs = run_task_pod(task, node_inputs, workdir / "pods" / node.id, executor)
        if outputs is None:
            raise PodFailed(f"node {node.id} ({task.id.name}) failed, rc={proc.returncode}\n{proc.stderr[-4000:]}")
        values[node.id] = outputs
    return literals_pb2.LiteralMap(literals={b.var: _resolve(b.binding, values) for b in template.outputs})


def run_task_pod(task, inputs: literals_pb2.LiteralMap, node_dir: Path, executor: Executor):
    """Run one task template's container command on ``inputs``; returns the process and its outputs (or None)."""
    (node_dir / "raw").mkdir(parents=True)
    for d in (node_dir.parent, node_dir, node_dir / "raw"):
        os.chmod(d, 0o777)  # the image runs as a non-root user
    (node_dir / "inputs.pb").write_bytes(inputs.SerializeToString())
    argv = [_fill(arg, node_dir) for arg in task.container.args]
    env = {e.key: e.value for e in task.container.env}
    env.update(
        FLYTE_INTERNAL_EXECUTION_PROJECT="flytesnacks", FLYTE_INTERNAL_EXECUTION_DOMAIN="development",
        FLYTE_INTERNAL_EXECUTION_ID=f"pod-contract-{node_dir.name}", FLYTE_INTERNAL_TASK_PROJECT="flytesnacks",
        FLYTE_INTERNAL_TASK_DOMAIN="development", FLYTE_INTERNAL_TASK_NAME=task.id.name,
        FLYTE_INTERNAL_TASK_VERSION=task.id.version or "pod-contract",
    )
    proc = executor(argv, env)
    outputs_pb = node_dir / "out" / "outputs.pb"
    if proc.returncode != 0 or not outputs_pb.exists():
        return proc, None
    outputs = literals_pb2.LiteralMap()
    outputs.ParseFromString(outputs_pb.read_bytes())
    return proc, outputs


def _launch_plan_inputs(
    lp: launch_plan_pb2.LaunchPlan, overrides: dict[str, literals_pb2.Literal]
) -> literals_pb2.LiteralMap:
    # FlyteAdmin refuses a launch that sets a fixed input or one the plan does not declare; so do we.
    declared, fixed = set(lp.spec.default_inputs.parameters), set(lp.spec.fixed_inputs.literals)
    refused = (set(overrides) - declared) | (set(overrides) & fixed)
    if refused:
        raise ValueError(f"{lp.id.name}: cannot set {sorted(refused)}: not inputs of the plan, or fixed by it")
    literals = {name: p.default for name, p in lp.spec.default_inputs.parameters.items() if p.HasField("default")}
    literals.update(overrides)
    literals.update(lp.spec.fixed_inputs.literals)
    return literals_pb2.LiteralMap(literals=literals)


def _fill(arg: str, node_dir: Path) -> str:
    return (
        arg.replace("{{.input}}", str(node_dir / "inputs.pb"))
        .replace("{{.outputPrefix}}", str(node_dir / "out"))
        .replace("{{.rawOutputDataPrefix}}", str(node_dir / "raw"))
        .replace("{{.checkpointOutputPrefix}}", str(node_dir / "checkpoint"))
        .replace("{{.prevCheckpointPrefix}}", "")
    )


def _resolve(binding, values) -> literals_pb2.Literal:
    if binding.HasField("promise"):
        literal = values[binding.promise.node_id].literals[binding.promise.var]
        if binding.promise.attr_path:
            raise NotImplementedError("attribute paths are not used by this project's workflows")
        return literal
    if binding.HasField("scalar"):
        return literals_pb2.Literal(scalar=binding.scalar)
    raise NotImplementedError(f"binding kind {binding.WhichOneof('value')} is not used by this project's workflows")


def _topological(nodes):
    done, ordered, pending = {""}, [], [n for n in nodes if n.id not in ("start-node", "end-node")]
    while pending:
        ready = [n for n in pending if _upstream(n) <= done]
        if not ready:
            raise AssertionError(f"cycle or unknown upstream among {[n.id for n in pending]}")
        for n in ready:
            ordered.append(n)
            done.add(n.id)
            pending.remove(n)
    return ordered


def _upstream(node) -> set[str]:
    refs = {b.binding.promise.node_id for b in node.inputs if b.binding.HasField("promise")}
    return refs | set(node.upstream_node_ids)


WORKFLOW = "flyte.workflows.training.training_pipeline"


def metrics_from(literal_map: literals_pb2.LiteralMap):
    """The workflow's ``metrics`` output literal as the Metrics dataclass."""
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal

    from flyte.core.score import Metrics

    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(literal_map.literals["metrics"]), Metrics)
