"""What registration sends for the search: its tasks, the ArrayNode map task, the workflow and both launch plans."""

from __future__ import annotations

import pytest
from flyteidl.core import literals_pb2

from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.tuning.search import SearchSpace
from flyte.workflows import config
from tests.flyte_package import local_executor, metrics_from, package, run_as_pods
from tests.workflows.test_package import CPU, MEMORY, SMALL_NODE, SMALL_NODE_REQUEST_MAX, quantity

IMAGE = "localhost:30000/flyte-xgboost:0123abc"
PREFIX = "flyte.workflows.tuning.tasks."
WORKFLOW = "flyte.workflows.tuning.pipeline.tuning_pipeline"
NIGHTLY = "tuning_pipeline_nightly"
#: task name -> (cache version, resource preset, retries, timeout), all from config.
TASKS = {
    "sample": ("SAMPLE_CACHE_VERSION", "LIGHT", "STAGE_RETRIES", "LIGHT_TIMEOUT"),
    "cross_validate_trial": ("TRIAL_CACHE_VERSION", "TRAIN", "STAGE_RETRIES", "TRIAL_TIMEOUT"),
    "select_best": ("SELECT_CACHE_VERSION", "LIGHT", "STAGE_RETRIES", "LIGHT_TIMEOUT"),
}


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


def map_task_name(pkg) -> str:
    (name,) = [n for n in pkg.tasks if n.startswith(PREFIX + "map_cross_validate_trial_") and n.endswith("-arraynode")]
    return name


def array_node(pkg):
    (node,) = [n for n in pkg.workflows[WORKFLOW].template.nodes if n.HasField("array_node")]
    return node


@pytest.mark.parametrize("name", [*TASKS, "map"])
def test_search_tasks_run_the_image_with_cache_resources_retries_and_timeout(pkg, name):
    version, preset, retries, timeout = TASKS["cross_validate_trial" if name == "map" else name]
    template = pkg.tasks[map_task_name(pkg) if name == "map" else PREFIX + name].template
    assert template.container.image == IMAGE
    assert template.metadata.discoverable and template.metadata.discovery_version == getattr(config, version)
    assert template.metadata.retries.retries == getattr(config, retries)
    assert template.metadata.timeout.ToTimedelta() == getattr(config, timeout)
    requests = {r.name: quantity(r.value) for r in template.container.resources.requests}
    limits = {r.name: quantity(r.value) for r in template.container.resources.limits}
    assert quantity(dict((r.name, r.value) for r in template.container.resources.limits)[CPU]) == getattr(config, preset).cpus
    assert limits[MEMORY] == getattr(config, preset).memory_mib * 1024**2
    for resource, key in ((CPU, "cpu"), (MEMORY, "memory")):
        assert 0 < requests[resource] <= SMALL_NODE_REQUEST_MAX[key]
        assert requests[resource] <= limits[resource] <= SMALL_NODE[key]


def test_trials_are_an_array_node_with_the_configured_concurrency_and_a_per_trial_cache(pkg):
    node = array_node(pkg)
    assert node.array_node.parallelism == config.TRIAL_CONCURRENCY
    assert sorted(node.array_node.bound_inputs) == ["cv", "profile", "train", "validation"]  # only `trial` is mapped
    inner = node.array_node.node
    assert inner.task_node.reference_id.name == map_task_name(pkg)
    template = pkg.tasks[map_task_name(pkg)].template
    assert template.metadata.discovery_version == config.TRIAL_CACHE_VERSION  # each element is cached on its own
    args = list(template.container.args)
    assert args[0] == "pyflyte-map-execute"
    assert args[-4:] == ["task-module", "flyte.workflows.tuning.tasks", "task-name", "cross_validate_trial"]
    assert args[args.index("vars") + 1] == "cv,profile,train,validation"


def test_the_trials_are_never_bound_to_the_test_part(pkg):
    inner = array_node(pkg).array_node.node
    sources = {(b.binding.promise.node_id, b.binding.promise.var) for b in inner.inputs}
    nodes = {n.id: n for n in pkg.workflows[WORKFLOW].template.nodes}
    split = next(i for i, n in nodes.items() if n.HasField("task_node") and n.task_node.reference_id.name.endswith(".split"))
    assert {var for node_id, var in sources if node_id == split} == {"train", "validation"}
    test_readers = {n.task_node.reference_id.name.rsplit(".", 1)[1] for n in nodes.values() if n.HasField("task_node")
                    and any(b.binding.promise.node_id == split and b.binding.promise.var == "test" for b in n.inputs)}  # fmt: skip
    assert test_readers == {"predict", "score", "publish"}  # the refit model's predictions, score and card, as training


def test_workflow_outputs_and_inputs(pkg):
    template = pkg.workflows[WORKFLOW].template
    assert sorted(template.interface.outputs.variables) == ["best_hyperparameters", "cv_results", "decision", "metrics", "model", "outcome", "report", "trials_report"]
    assert sorted(template.interface.inputs.variables) == ["data_as_of", "dataset", "gate", "hyperparameters", "model_name", "registry", "search", "split_params"]


def test_launch_plans(pkg):
    default = pkg.launch_plans[WORKFLOW]
    assert not default.spec.entity_metadata.HasField("schedule")
    nightly = pkg.launch_plans[NIGHTLY]
    schedule = nightly.spec.entity_metadata.schedule
    assert schedule.cron_schedule.schedule == config.TUNING_NIGHTLY_CRON and schedule.kickoff_time_input_arg == "data_as_of"
    assert nightly.spec.workflow_id.name == WORKFLOW
    for lp in (default, nightly):
        unbound = [name for name, p in lp.spec.default_inputs.parameters.items() if not p.HasField("default")]
        assert unbound == [], f"{lp.id.name}: a launch cannot supply {unbound}"


def literal(value, python_type) -> literals_pb2.Literal:
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_literal(ctx, value, python_type, TypeEngine.to_literal_type(python_type)).to_flyte_idl()


def test_pod_contract_runs_the_tuning_path_on_a_tiny_search(pkg, tmp_path):
    """Every node as its pod: the map task's elements through pyflyte-map-execute, one pod per trial."""
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal

    from flyte.core.tuning.search import TrialResult

    inputs = {
        "search": literal(SearchSpace(trials=3, folds=3), SearchSpace),
        "hyperparameters": literal(Hyperparameters(max_rounds=60, early_stopping_rounds=10, learning_rate=0.3), Hyperparameters),
        "registry": literal(str(tmp_path / "registry"), str),  # never the nightly's object store
    }
    outputs = run_as_pods(pkg, WORKFLOW, NIGHTLY, tmp_path, local_executor(tmp_path), inputs=inputs)
    node_id = array_node(pkg).id
    trial_pods = sorted(p.name for p in (tmp_path / "pods").iterdir() if p.name.startswith(f"{node_id}-"))
    assert trial_pods == [f"{node_id}-{i}" for i in range(3)]
    assert all((tmp_path / "pods" / pod / "out" / "outputs.pb").is_file() for pod in trial_pods)
    ctx = FlyteContextManager.current_context()
    results = TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(outputs.literals["cv_results"]), list[TrialResult])
    assert [r.index for r in results] == [0, 1, 2] and all(len(r.fold_log_loss) == 3 for r in results)
    best = TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(outputs.literals["best_hyperparameters"]), Hyperparameters)
    assert best == min(results, key=lambda r: (r.mean_log_loss, r.index)).hyperparameters
    assert metrics_from(outputs).rows == 259  # the refit model scored on the test part (Pima, default split)
