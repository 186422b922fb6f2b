"""What registration sends: every task, workflow and launch plan as `pyflyte package` serializes them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flyteidl.core import tasks_pb2, types_pb2
from google.protobuf import json_format

from flyte.core.data.dataset import pima_spec
from flyte.core.registry.names import derive_model_name
from flyte.workflows import config
from tests.flyte_package import package

IMAGE = "localhost:30000/flyte-xgboost:0123abc"
TASKS = ["ingest", "split", "fit", "predict", "score", "publish"]  # cached
UNCACHED = ["fingerprint"]  # must run every time: it is what tells ingest its source changed
PREFIX = "flyte.workflows.training.tasks."
WORKFLOW = "flyte.workflows.training.pipeline.training_pipeline"
NIGHTLY = "training_pipeline_nightly"

# What one task may request and still be scheduled on a small sandbox: a one-node `flytectl demo start`
# inside a 2-cpu, 4 GiB Docker VM, whose own pods (k3s, Flyte, MinIO, Postgres) hold about 350m cpu.
# The bound leaves them 500m and 2 GiB. Limits are not bounded by the node's free room, only by its size.
SMALL_NODE_REQUEST_MAX = {"cpu": 1.5, "memory": 2 * 1024**3}
SMALL_NODE = {"cpu": 2.0, "memory": 4 * 1024**3}
CPU, MEMORY = tasks_pb2.Resources.ResourceName.CPU, tasks_pb2.Resources.ResourceName.MEMORY


def quantity(value: str) -> float:
    """A Kubernetes quantity (500m, 2, 512Mi, 1Gi) as cores or bytes."""
    match = re.fullmatch(r"([\d.]+)(m|Ki|Mi|Gi)?", value)
    assert match, f"not a Kubernetes quantity: {value!r}"
    number, unit = float(match[1]), match[2]
    return number * {None: 1, "m": 1e-3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[unit]


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


#: The other workflows' entities (each checked in its own test module: test_package_<name>.py).
BATCH_TASKS = [f"flyte.workflows.batch.tasks.{t}" for t in ("model_fingerprint", "fetch_model", "check_rows", "predict_rows", "batch_report")]
BATCH_WORKFLOW, BATCH_NIGHTLY = "flyte.workflows.batch.pipeline.batch_predict", "batch_predict_nightly"
TUNING_TASKS = ["flyte.workflows.tuning.tasks." + t for t in ("sample", "cross_validate_trial", "select_best")]
TUNING_WORKFLOW, TUNING_NIGHTLY = "flyte.workflows.tuning.pipeline.tuning_pipeline", "tuning_pipeline_nightly"
GATE_TASKS = ["flyte.workflows.gate.tasks." + t for t in ("champion_fingerprint", "judge", "promote", "keep_champion", "announce")]
GATE_WORKFLOW = "flyte.workflows.gate.pipeline.gate_and_promote"
DASK_TASK = "flyte.workflows.distributed.tasks.fit_distributed"
DASK_WORKFLOW = "flyte.workflows.distributed.training_pipeline.training_pipeline_distributed"
DASK_NIGHTLY = "training_pipeline_distributed_nightly"
DASK_PREDICT_TASK = "flyte.workflows.distributed.tasks.predict_rows_distributed"
DASK_BATCH_WORKFLOW = "flyte.workflows.distributed.batch_pipeline.batch_predict_distributed"


def test_package_holds_every_entity(pkg):
    mapped = [t for t in pkg.tasks if t.endswith("-arraynode")]
    assert len(mapped) == 1 and mapped[0].startswith("flyte.workflows.tuning.tasks.map_cross_validate_trial_")
    others = BATCH_TASKS + TUNING_TASKS + mapped + GATE_TASKS + [DASK_TASK, DASK_PREDICT_TASK]
    assert sorted(pkg.tasks) == sorted([PREFIX + t for t in TASKS + UNCACHED] + others)
    assert sorted(pkg.workflows) == sorted([WORKFLOW, BATCH_WORKFLOW, TUNING_WORKFLOW, GATE_WORKFLOW, DASK_WORKFLOW, DASK_BATCH_WORKFLOW])
    assert sorted(pkg.launch_plans) == sorted(
        [WORKFLOW, NIGHTLY, BATCH_WORKFLOW, BATCH_NIGHTLY, TUNING_WORKFLOW, TUNING_NIGHTLY, GATE_WORKFLOW, DASK_WORKFLOW, DASK_NIGHTLY,
         DASK_BATCH_WORKFLOW]
    )
    # The schedules registration switches off again are real scheduled launch plans, and not the nightly training.
    scheduled = {name for name, lp in pkg.launch_plans.items() if lp.spec.entity_metadata.HasField("schedule")}
    assert set(config.PAUSED_SCHEDULES) <= scheduled and NIGHTLY not in config.PAUSED_SCHEDULES


@pytest.mark.parametrize("name", TASKS)
def test_task_runs_the_image_with_cache_and_resources(pkg, name):
    template = pkg.tasks[PREFIX + name].template
    assert template.container.image == IMAGE
    assert template.metadata.discoverable, f"{name} is not cached"
    expected_version = getattr(config, f"{name.upper()}_CACHE_VERSION")
    assert template.metadata.discovery_version == expected_version
    requests = {r.name: quantity(r.value) for r in template.container.resources.requests}
    limits = {r.name: quantity(r.value) for r in template.container.resources.limits}
    assert set(requests) == set(limits) == {CPU, MEMORY}, f"{name} lacks cpu/memory requests or limits"
    for resource, key in ((CPU, "cpu"), (MEMORY, "memory")):
        assert 0 < requests[resource] <= SMALL_NODE_REQUEST_MAX[key], (name, key)
        assert requests[resource] <= limits[resource] <= SMALL_NODE[key], (name, key)


#: Each task's retries and timeout as config sets them: the source readers retry through passing network
#: failures; the stages through passing blob-store failures (their own errors are never recoverable).
LIMITS = {
    "fingerprint": ("INGEST_RETRIES", "FINGERPRINT_TIMEOUT"),
    "ingest": ("INGEST_RETRIES", "LIGHT_TIMEOUT"),
    "split": ("STAGE_RETRIES", "LIGHT_TIMEOUT"),
    "fit": ("STAGE_RETRIES", "FIT_TIMEOUT"),
    "predict": ("STAGE_RETRIES", "LIGHT_TIMEOUT"),
    "score": ("STAGE_RETRIES", "LIGHT_TIMEOUT"),
    "publish": ("STAGE_RETRIES", "LIGHT_TIMEOUT"),
}


@pytest.mark.parametrize("name", TASKS + UNCACHED)
def test_every_task_has_retries_and_a_timeout_from_config(pkg, name):
    metadata = pkg.tasks[PREFIX + name].template.metadata
    retries, timeout = (getattr(config, key) for key in LIMITS[name])
    assert metadata.retries.retries == retries >= 1
    assert metadata.timeout.ToTimedelta() == timeout
    assert timedelta(minutes=5) <= timeout <= timedelta(hours=4)  # generous, but a hang still ends


def test_task_container_is_the_pod_entrypoint(pkg):
    args = list(pkg.tasks[PREFIX + "fit"].template.container.args)
    assert args[0] == "pyflyte-execute"
    assert args[args.index("--inputs") + 1] == "{{.input}}"
    assert args[-4:] == ["task-module", "flyte.workflows.training.tasks", "task-name", "fit"]


@pytest.mark.parametrize("name,preset", [("ingest", "LIGHT"), ("split", "LIGHT"), ("fit", "TRAIN"), ("predict", "LIGHT"), ("score", "LIGHT"), ("publish", "LIGHT")])
def test_thread_count_is_the_cpu_limit_and_memory_budget_the_memory_limit(pkg, name, preset):
    """Each task runs as many threads as its limit allows, and fit's external-memory budget is its limit."""
    limits = {r.name: r.value for r in pkg.tasks[PREFIX + name].template.container.resources.limits}
    assert quantity(limits[CPU]) == getattr(config, preset).cpus
    assert quantity(limits[MEMORY]) == getattr(config, preset).memory_mib * 1024**2


def test_tables_travel_as_parquet_structured_datasets(pkg):
    outputs = pkg.tasks[PREFIX + "split"].template.interface.outputs.variables
    for part in ("train", "validation", "test"):
        assert outputs[part].type.structured_dataset_type.format == "parquet"


def test_fingerprint_is_never_cached_and_ingest_keys_on_it_not_on_the_path(pkg):
    assert not pkg.tasks[PREFIX + "fingerprint"].template.metadata.discoverable
    ingest = pkg.tasks[PREFIX + "ingest"].template
    assert list(ingest.metadata.cache_ignore_input_vars) == ["dataset"]
    assert sorted(ingest.interface.inputs.variables) == ["data_as_of", "dataset", "source", "split_params"]


def test_workflow_wires_the_six_tasks(pkg):
    template = pkg.workflows[WORKFLOW].template
    used = sorted(n.task_node.reference_id.name for n in template.nodes if n.HasField("task_node"))
    assert used == sorted([PREFIX + t for t in TASKS + UNCACHED] + ["flyte.workflows.gate.tasks.announce"])
    assert sorted(template.interface.outputs.variables) == ["decision", "metrics", "model", "outcome", "report"]
    inputs = ["data_as_of", "dataset", "gate", "hyperparameters", "model_name", "registry", "split_params"]
    assert sorted(template.interface.inputs.variables) == inputs
    gated = [n for n in template.nodes if n.HasField("workflow_node")]
    assert [n.workflow_node.sub_workflow_ref.name for n in gated] == [GATE_WORKFLOW]


def test_nightly_launch_plan_schedule_and_bound_inputs(pkg):
    lp = pkg.launch_plans[NIGHTLY]
    schedule = lp.spec.entity_metadata.schedule
    assert schedule.cron_schedule.schedule == config.NIGHTLY_CRON == "0 2 * * *"
    assert schedule.kickoff_time_input_arg == "data_as_of"
    assert lp.spec.workflow_id.name == WORKFLOW
    parameters = lp.spec.default_inputs.parameters
    unbound = [name for name, p in parameters.items() if p.required or not p.HasField("default")]
    assert sorted(parameters) == ["data_as_of", "dataset", "gate", "hyperparameters", "model_name", "registry", "split_params"]
    assert unbound == [], f"a scheduled run cannot supply {unbound}"
    # A pod's files vanish with it: the nightly promotes into the object store, not the local default.
    assert parameters["registry"].default.scalar.primitive.string_value == config.NIGHTLY_MODEL_REGISTRY
    assert config.NIGHTLY_MODEL_REGISTRY.startswith("s3://")
    # Under the name batch_predict_nightly scores with: the one the default (Pima) data derives.
    assert parameters["model_name"].default.scalar.primitive.string_value == config.NIGHTLY_MODEL_NAME
    assert derive_model_name(pima_spec().source) == config.NIGHTLY_MODEL_NAME


def test_default_launch_plan_has_no_schedule(pkg):
    lp = pkg.launch_plans[WORKFLOW]
    assert not lp.spec.entity_metadata.HasField("schedule")
    assert all(p.HasField("default") for p in lp.spec.default_inputs.parameters.values())


def _dataclass_types(literal_type, path: str):
    """(path, literal type) of every dataclass in ``literal_type``, its fields' dataclasses included; an Optional's
    variants are skipped: flytekit tags each variant's structure by design, in place of its fields."""
    if literal_type.WhichOneof("type") == "simple" and literal_type.simple == types_pb2.SimpleType.STRUCT and literal_type.HasField("metadata"):
        yield path, literal_type
        for name, field in literal_type.structure.dataclass_type.items():
            yield from _dataclass_types(field, f"{path}.{name}")
    elif literal_type.HasField("collection_type"):
        yield from _dataclass_types(literal_type.collection_type, f"{path}[]")
    elif literal_type.HasField("map_value_type"):
        yield from _dataclass_types(literal_type.map_value_type, f"{path}{{}}")


def test_every_registered_dataclass_port_carries_its_field_types(pkg):
    """Propeller reads a dataclass output's attributes through its field types: every dataclass in every task and
    workflow interface has them, one per property of its schema, whichever order the types were first built in."""
    interfaces = {**{n: t.template.interface for n, t in pkg.tasks.items()},
                  **{n: w.template.interface for n, w in pkg.workflows.items()}}  # fmt: skip
    seen = 0
    for entity, interface in interfaces.items():
        for side in (interface.inputs, interface.outputs):
            for var, variable in side.variables.items():
                for path, lt in _dataclass_types(variable.type, f"{entity}:{var}"):
                    properties = json_format.MessageToDict(lt.metadata).get("properties", {})
                    assert set(lt.structure.dataclass_type) == set(properties), path
                    seen += 1
    assert seen > 50


def test_a_regression_run_is_the_registered_workflow_with_problem_type_in_its_spec(pkg):
    """One registered training_pipeline serves both problem types: its spec carries problem_type (default
    classification), its metrics and gate decision carry the regression fields, fit's hyperparameters the objective."""
    interface = pkg.workflows[WORKFLOW].template.interface
    dataset = interface.inputs.variables["dataset"].type
    assert dataset.structure.dataclass_type["problem_type"].simple == types_pb2.SimpleType.STRING
    assert json_format.MessageToDict(dataset.metadata)["properties"]["problem_type"]["default"] == "classification"
    assert {"problem_type", "regression"} <= set(interface.outputs.variables["metrics"].type.structure.dataclass_type)
    assert "regression" in interface.outputs.variables["decision"].type.structure.dataclass_type
    hyper = pkg.tasks[PREFIX + "fit"].template.interface.inputs.variables["hyperparameters"].type
    assert "objective" in hyper.structure.dataclass_type
