"""What registration sends for the distributed fit: the Dask task's plugin config, image, cache, resources, limits,
and the distributed workflow with its launch plans, as `pyflyte package` serializes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.protobuf.json_format import MessageToDict

from flyte.workflows import config
from tests.flyte_package import package
from tests.workflows.test_package import (
    CPU, DASK_BATCH_WORKFLOW, DASK_NIGHTLY, DASK_PREDICT_TASK, DASK_TASK, DASK_WORKFLOW, IMAGE, MEMORY, PREFIX, SMALL_NODE,
    SMALL_NODE_REQUEST_MAX, quantity,
)  # fmt: skip


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


def resources(message: dict) -> tuple[dict, dict]:
    """(requests, limits) of a serialized plugin resources block, as {name: cores or bytes}."""
    def read(entries):
        return {e["name"]: quantity(e["value"]) for e in entries}

    return read(message.get("requests", [])), read(message.get("limits", []))


def preset_values(preset: config.ResourcePreset) -> tuple[dict, dict]:
    requests = {"CPU": quantity(preset.requests.cpu), "MEMORY": quantity(preset.requests.mem)}
    limits = {"CPU": quantity(preset.limits.cpu), "MEMORY": quantity(preset.limits.mem)}
    return requests, limits


DASK_TASKS = {DASK_TASK: "DASK_FIT_CACHE_VERSION", DASK_PREDICT_TASK: "DASK_PREDICT_CACHE_VERSION"}


@pytest.mark.parametrize("name", sorted(DASK_TASKS))
def test_dask_task_is_a_dask_job_with_the_configured_workers_and_scheduler(pkg, name):
    template = pkg.tasks[name].template
    assert template.type == "dask"  # what flytepropeller routes to the Dask plugin
    custom = MessageToDict(template.custom)
    assert custom["workers"]["numberOfWorkers"] == config.DASK_WORKERS == 2
    assert resources(custom["workers"]["resources"]) == preset_values(config.DASK_WORKER)
    assert resources(custom["scheduler"]["resources"]) == preset_values(config.DASK_SCHEDULER)
    # No image of their own: the scheduler and workers run the task's image, so they hold the same code and lock.
    assert "image" not in custom["workers"] and "image" not in custom["scheduler"]
    assert template.container.image == IMAGE


@pytest.mark.parametrize("name", sorted(DASK_TASKS))
def test_dask_driver_is_cached_with_resources_retries_and_timeout(pkg, name):
    template = pkg.tasks[name].template
    assert template.metadata.discoverable
    assert template.metadata.discovery_version == getattr(config, DASK_TASKS[name])
    requests = {r.name: quantity(r.value) for r in template.container.resources.requests}
    limits = {r.name: quantity(r.value) for r in template.container.resources.limits}
    assert requests == {CPU: quantity(config.DASK_DRIVER.requests.cpu), MEMORY: quantity(config.DASK_DRIVER.requests.mem)}
    assert limits == {CPU: config.DASK_DRIVER.cpus, MEMORY: config.DASK_DRIVER.memory_mib * 1024**2}
    assert template.metadata.retries.retries == config.STAGE_RETRIES >= 1
    assert template.metadata.timeout.ToTimedelta() == config.DASK_FIT_TIMEOUT <= timedelta(hours=4)
    args = list(template.container.args)
    assert args[0] == "pyflyte-execute"
    assert args[-4:] == ["task-module", "flyte.workflows.distributed.tasks", "task-name", name.rsplit(".", 1)[1]]


def test_the_whole_dask_job_schedules_on_a_small_sandbox(pkg):
    """Driver, scheduler and every worker are pods of one job: their requests together must fit the small node."""
    custom = MessageToDict(pkg.tasks[DASK_TASK].template.custom)
    driver = {r.name: quantity(r.value) for r in pkg.tasks[DASK_TASK].template.container.resources.requests}
    scheduler, _ = resources(custom["scheduler"]["resources"])
    worker, worker_limits = resources(custom["workers"]["resources"])
    n = custom["workers"]["numberOfWorkers"]
    total_cpu = driver[CPU] + scheduler["CPU"] + n * worker["CPU"]
    total_memory = driver[MEMORY] + scheduler["MEMORY"] + n * worker["MEMORY"]
    assert total_cpu <= SMALL_NODE_REQUEST_MAX["cpu"] and total_memory <= 3 * 1024**3
    assert worker_limits["CPU"] <= SMALL_NODE["cpu"] and worker_limits["MEMORY"] <= SMALL_NODE["memory"]


def test_distributed_workflow_reuses_the_stages_and_swaps_only_the_fit(pkg):
    template = pkg.workflows[DASK_WORKFLOW].template
    used = sorted(n.task_node.reference_id.name for n in template.nodes if n.HasField("task_node"))
    expected = [PREFIX + t for t in ("fingerprint", "ingest", "split", "predict", "score", "publish")] + [DASK_TASK]
    expected += ["flyte.workflows.gate.tasks.announce"]  # the gate's outcome line, as training has it
    assert used == sorted(expected)
    assert sorted(template.interface.outputs.variables) == ["decision", "metrics", "model", "outcome", "report"]
    assert sorted(template.interface.inputs.variables) == ["data_as_of", "dataset", "gate", "hyperparameters", "model_name", "registry", "split_params"]
    assert any(n.HasField("workflow_node") for n in template.nodes)  # the gate sub-workflow, as training has it


def test_distributed_launch_plans(pkg):
    default = pkg.launch_plans[DASK_WORKFLOW]
    assert not default.spec.entity_metadata.HasField("schedule")
    nightly = pkg.launch_plans[DASK_NIGHTLY]
    assert nightly.spec.workflow_id.name == DASK_WORKFLOW
    schedule = nightly.spec.entity_metadata.schedule
    assert schedule.cron_schedule.schedule == config.NIGHTLY_CRON
    assert schedule.kickoff_time_input_arg == "data_as_of"
    for lp in (default, nightly):
        assert all(p.HasField("default") for p in lp.spec.default_inputs.parameters.values())


def test_distributed_batch_prediction_swaps_only_the_predict_stage(pkg):
    template = pkg.workflows[DASK_BATCH_WORKFLOW].template
    used = sorted(n.task_node.reference_id.name for n in template.nodes if n.HasField("task_node"))
    batch = [f"flyte.workflows.batch.tasks.{t}" for t in ("model_fingerprint", "fetch_model", "check_rows", "batch_report")]
    assert used == sorted([*batch, PREFIX + "fingerprint", DASK_PREDICT_TASK])
    assert sorted(template.interface.outputs.variables) == ["csv", "drift", "metrics", "predictions", "report"]
    lp = pkg.launch_plans[DASK_BATCH_WORKFLOW]
    assert not lp.spec.entity_metadata.HasField("schedule")
    assert all(p.HasField("default") for p in lp.spec.default_inputs.parameters.values())
