"""What registration sends for the quality gate: the conditional's branches, the tasks' cache and resources."""

from __future__ import annotations

import pytest

from flyte.workflows import config
from tests.flyte_package import package
from tests.workflows.test_package import CPU, IMAGE, MEMORY, SMALL_NODE_REQUEST_MAX, quantity

GATE = "flyte.workflows.gate.pipeline.gate_and_promote"
TRAINING = "flyte.workflows.training.pipeline.training_pipeline"
PREFIX = "flyte.workflows.gate.tasks."
#: task: (cache version or None for uncached, retries, timeout)
TASKS = {
    "champion_fingerprint": (None, "STAGE_RETRIES", "REGISTRY_TIMEOUT"),
    "judge": ("JUDGE_CACHE_VERSION", "STAGE_RETRIES", "LIGHT_TIMEOUT"),
    "promote": (None, "STAGE_RETRIES", "REGISTRY_TIMEOUT"),
    "keep_champion": ("KEEP_CACHE_VERSION", "STAGE_RETRIES", "LIGHT_TIMEOUT"),
    "announce": (None, "STAGE_RETRIES", "LIGHT_TIMEOUT"),
}


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def gate(pkg):
    """The gate sub-workflow as the training workflow embeds it."""
    (sub,) = [s for s in pkg.workflows[TRAINING].sub_workflows if s.id.name == GATE]
    return sub


@pytest.mark.parametrize("name", sorted(TASKS))
def test_gate_tasks_cache_retries_timeout_and_resources(pkg, name):
    template = pkg.tasks[PREFIX + name].template
    version, retries, timeout = TASKS[name]
    assert template.container.image == IMAGE
    if version is None:
        # champion_fingerprint must see every change of champion; promote writes to the registry; announce's
        # Deck records each execution's outcome.
        assert not template.metadata.discoverable, name
    else:
        assert template.metadata.discoverable and template.metadata.discovery_version == getattr(config, version)
    assert template.metadata.retries.retries == getattr(config, retries)
    assert template.metadata.timeout.ToTimedelta() == getattr(config, timeout)
    requests = {r.name: quantity(r.value) for r in template.container.resources.requests}
    limits = {r.name: quantity(r.value) for r in template.container.resources.limits}
    assert requests[CPU] <= SMALL_NODE_REQUEST_MAX["cpu"] and requests[MEMORY] <= SMALL_NODE_REQUEST_MAX["memory"]
    assert limits[CPU] == config.LIGHT.cpus and limits[MEMORY] == config.LIGHT.memory_mib * 1024**2


def test_judge_is_keyed_on_the_champion_and_the_criteria(pkg):
    inputs = pkg.tasks[PREFIX + "judge"].template.interface.inputs.variables
    assert sorted(inputs) == ["champion", "criteria", "metrics", "model", "model_name", "predictions", "registry", "test"]
    assert list(pkg.tasks[PREFIX + "judge"].template.metadata.cache_ignore_input_vars) == []
    assert sorted(pkg.tasks[PREFIX + "judge"].template.interface.outputs.variables) == ["decision", "promote"]


def test_the_conditional_promotes_only_on_the_judges_flag(gate):
    nodes = {n.metadata.name: n for n in gate.nodes}
    fingerprint, judge = nodes["champion_fingerprint"], nodes["judge"]
    # judge reads the champion's identity from the uncached fingerprint node: the cache key follows the champion.
    champion = [b for b in judge.inputs if b.var == "champion"][0].binding.promise
    assert (champion.node_id, champion.var) == (fingerprint.id, "identity")
    # The model name the fingerprint resolved (given, or derived from the dataset) is the one judged and promoted.
    name = [b for b in judge.inputs if b.var == "model_name"][0].binding.promise
    assert (name.node_id, name.var) == (fingerprint.id, "model_name")
    (branch,) = [n for n in gate.nodes if n.HasField("branch_node")]
    case = branch.branch_node.if_else.case
    comparison = case.condition.comparison
    assert comparison.left_value.var == f"{judge.id}.promote"
    assert comparison.right_value.primitive.boolean is True
    assert case.then_node.task_node.reference_id.name == PREFIX + "promote"
    assert branch.branch_node.if_else.else_node.task_node.reference_id.name == PREFIX + "keep_champion"
    assert not branch.branch_node.if_else.other  # two branches, no more
    # Both branches hand on the judge's decision; the sub-workflow's output is the branch's.
    for chosen in (case.then_node, branch.branch_node.if_else.else_node):
        decision = [b for b in chosen.inputs if b.var == "decision"][0].binding.promise
        assert (decision.node_id, decision.var) == (judge.id, "decision")
    assert [b.binding.promise.node_id for b in gate.outputs] == [branch.id]


def test_training_gates_the_published_model_after_score(pkg, gate):
    template = pkg.workflows[TRAINING].template
    by_id = {n.id: n for n in template.nodes}
    (gated,) = [n for n in template.nodes if n.HasField("workflow_node")]
    sources = {b.var: b.binding.promise for b in gated.inputs}
    assert by_id[sources["metrics"].node_id].metadata.name == "score"
    assert by_id[sources["predictions"].node_id].metadata.name == "predict"
    assert by_id[sources["model"].node_id].metadata.name == "publish"  # a version carries its card and manifest
    assert sources["registry"].var == "registry" and sources["criteria"].var == "gate"
    assert sources["model_name"].var == "model_name" and sources["dataset"].var == "dataset"
    decision = [b for b in template.outputs if b.var == "decision"][0].binding.promise
    assert decision.node_id == gated.id
    # The outcome line is the workflow's own string output, from announce, fed the gate's final decision.
    outcome = [b for b in template.outputs if b.var == "outcome"][0].binding.promise
    announce = by_id[outcome.node_id]
    assert announce.task_node.reference_id.name == PREFIX + "announce"
    assert [b.binding.promise.node_id for b in announce.inputs] == [gated.id]
    assert template.interface.outputs.variables["outcome"].type.simple == 3  # STRING
