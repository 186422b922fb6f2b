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


def package(image: str, workdir: Path, **env: str) -> Package:
    """Run `pyflyte package` exactly as a user registering with flytectl would (``env``: extra environment
    variables, as a user might set for registration), and parse the archive."""
    archive = workdir / "flyte-package.tgz"
    subprocess.run(
        [str(BIN / "pyflyte"), "--pkgs", "flyte.workflows", "package", "--image", image, "--output", str(archive), "--force"],
        cwd=REPO, env=clean_env(workdir, **env), check=True, capture_output=True, text=True,
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

RUN = ["run", "flyte/workflows/training/pipeline.py", "training_pipeline"]


@dataclass
class CliRun:
    stdout: str
    metrics: dict[str, float]
    model: Path
    report: Path


def pyflyte_run(home: Path, *args: str, run: list[str] = RUN) -> CliRun:
    """`pyflyte run` (of ``run``: file and workflow) in a fresh process with its own HOME (so its own local cache);
    parses what it prints.

    Unless ``args`` name one, the model registry is ``home/registry``: a test never promotes into the repo."""
    if "--registry" not in args:
        args = (*args, "--registry", str(home / "registry"))
    proc = subprocess.run(
        [str(BIN / "pyflyte"), *run, *args], cwd=REPO, env=clean_env(home), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    metrics_text = re.search(r"metrics=Metrics\((.*?)\)", out, flags=re.DOTALL)
    assert metrics_text, out
    metrics = {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+(?:e-?\d+)?)\b", metrics_text[1])}
    model = re.search(r"model=(\S+?),", out)
    report = re.search(r"report=(\S+?)(?:,|\)\s*$)", out.strip())
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
    spec = pkg.workflows[workflow]
    lp = pkg.launch_plans[launch_plan]
    subworkflows = {sub.id.name: sub for sub in spec.sub_workflows}
    # flytekit binds workflow inputs to node "" (propeller's start node).
    values = {"": _launch_plan_inputs(lp, inputs or {})}
    return _run_graph(pkg, spec.template, values, subworkflows, workdir / "pods", "", executor)


def _run_graph(pkg, template, values, subworkflows, pods: Path, prefix: str, executor) -> literals_pb2.LiteralMap:
    """Run a workflow template's nodes in order; ``values`` maps node ids to their outputs ("" = the inputs)."""
    for node in _topological(template.nodes):
        values[node.id] = _run_node(pkg, node, values, subworkflows, pods, prefix, executor)
    return literals_pb2.LiteralMap(literals={b.var: _resolve(b.binding, values) for b in template.outputs})


def _run_node(pkg, node, values, subworkflows, pods: Path, prefix: str, executor) -> literals_pb2.LiteralMap:
    """One node as propeller runs it: a task as a pod, a sub-workflow's nodes in turn, a branch's chosen node."""
    node_inputs = literals_pb2.LiteralMap(literals={b.var: _resolve(b.binding, values) for b in node.inputs})
    if node.HasField("workflow_node"):
        sub = subworkflows[node.workflow_node.sub_workflow_ref.name]
        return _run_graph(pkg, sub, {"": node_inputs}, subworkflows, pods, f"{prefix}{node.id}-", executor)
    if node.HasField("array_node"):
        return run_array_node(pkg, node, values, pods / f"{prefix}{node.id}", executor)
    if node.HasField("branch_node"):
        # The chosen node's outputs are the branch node's; its id is scoped to the branch, so it is not stored.
        chosen = _chosen_branch(node.branch_node.if_else, values)
        return _run_node(pkg, chosen, values, subworkflows, pods, f"{prefix}{node.id}-", executor)
    task = pkg.tasks[node.task_node.reference_id.name].template
    proc, outputs = run_task_pod(task, node_inputs, pods / f"{prefix}{node.id}", executor)
    if outputs is None:
        raise PodFailed(f"node {prefix}{node.id} ({task.id.name}) failed, rc={proc.returncode}\n{proc.stderr[-4000:]}")
    return outputs


def _chosen_branch(if_else, values):
    """The node a branch runs: the first case whose condition holds, else the else node (only `var == bool` is used)."""
    for case in [if_else.case, *if_else.other]:
        comparison = case.condition.comparison
        if not case.condition.HasField("comparison") or comparison.operator != 0:  # 0 = EQ
            raise NotImplementedError("only `<output>.is_true()` / `== literal` conditions are used by this project")
        node_id, var = comparison.left_value.var.split(".", 1)
        left = values[node_id].literals[var].scalar.primitive
        if left == comparison.right_value.primitive:
            return case.then_node
    if if_else.HasField("else_node"):
        return if_else.else_node
    raise AssertionError("no branch taken and no else node")


def run_array_node(pkg: Package, node, values, pods: Path, executor: Executor) -> literals_pb2.LiteralMap:
    """A map task's ArrayNode as propeller runs it: one pod per element, each given the node's whole inputs
    (collections for the mapped inputs, single values for the bound ones) and its index in the environment
    (FLYTE_K8S_ARRAY_INDEX, named by BATCH_JOB_ARRAY_INDEX_VAR_NAME, as flytepropeller's array node sets them);
    the elements' outputs are gathered into one collection per output."""
    inner = node.array_node.node
    task = pkg.tasks[inner.task_node.reference_id.name].template
    node_inputs = literals_pb2.LiteralMap(literals={b.var: _resolve(b.binding, values) for b in inner.inputs})
    bound = set(node.array_node.bound_inputs)
    mapped = [name for name in node_inputs.literals if name not in bound]
    sizes = {len(node_inputs.literals[name].collection.literals) for name in mapped}
    assert len(sizes) == 1, f"mapped inputs {mapped} differ in length: {sizes}"
    gathered: dict[str, list] = {}
    for index in range(sizes.pop()):
        executor_with_index = _with_env(executor, FLYTE_K8S_ARRAY_INDEX=str(index), BATCH_JOB_ARRAY_INDEX_VAR_NAME="FLYTE_K8S_ARRAY_INDEX")
        proc, outputs = run_task_pod(task, node_inputs, pods.parent / f"{pods.name}-{index}", executor_with_index)
        if outputs is None:
            raise PodFailed(f"node {node.id}[{index}] ({task.id.name}) failed, rc={proc.returncode}\n{proc.stderr[-4000:]}")
        for name, literal in outputs.literals.items():
            gathered.setdefault(name, []).append(literal)
    return literals_pb2.LiteralMap(
        literals={name: literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items)) for name, items in gathered.items()}
    )


def _with_env(executor: Executor, **extra: str) -> Executor:
    return lambda argv, env: executor(argv, {**env, **extra})


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


def string_literal(value: str) -> literals_pb2.Literal:
    """A workflow input literal for a string (a registry location, say)."""
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=value)))


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
    inputs = node.array_node.node.inputs if node.HasField("array_node") else node.inputs
    refs = {b.binding.promise.node_id for b in inputs if b.binding.HasField("promise")}
    return refs | set(node.upstream_node_ids)


WORKFLOW = "flyte.workflows.training.pipeline.training_pipeline"


def metrics_from(literal_map: literals_pb2.LiteralMap):
    """The workflow's ``metrics`` output literal as the Metrics dataclass."""
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal

    from flyte.core.evaluation.score import Metrics

    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(literal_map.literals["metrics"]), Metrics)
