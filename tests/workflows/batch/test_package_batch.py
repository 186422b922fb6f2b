"""What registration sends for batch prediction: its tasks, workflow and launch plans as `pyflyte package` serializes them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flyte.workflows import config
from tests.flyte_package import package
from tests.workflows.test_package import CPU, MEMORY, SMALL_NODE, SMALL_NODE_REQUEST_MAX, quantity

IMAGE = "localhost:30000/flyte-xgboost:0123abc"
PREFIX = "flyte.workflows.batch.tasks."
WORKFLOW = "flyte.workflows.batch.pipeline.batch_predict"
NIGHTLY = "batch_predict_nightly"
#: Each cached task: its cache version, retries and timeout in config.
CACHED = {
    "fetch_model": ("MODEL_FETCH_CACHE_VERSION", "MODEL_FETCH_RETRIES", "LIGHT_TIMEOUT"),
    "check_rows": ("CHECK_ROWS_CACHE_VERSION", "INGEST_RETRIES", "LIGHT_TIMEOUT"),
    "predict_rows": ("BATCH_PREDICT_CACHE_VERSION", "STAGE_RETRIES", "LIGHT_TIMEOUT"),
    "batch_report": ("BATCH_REPORT_CACHE_VERSION", "STAGE_RETRIES", "LIGHT_TIMEOUT"),
}
INPUTS = ["data_as_of", "dataset", "drift", "model", "model_name", "options"]


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


@pytest.mark.parametrize("name", sorted(CACHED))
def test_cached_tasks_have_their_version_retries_timeout_and_resources(pkg, name):
    template = pkg.tasks[PREFIX + name].template
    version, retries, timeout = CACHED[name]
    assert template.container.image == IMAGE
    assert template.metadata.discoverable and template.metadata.discovery_version == getattr(config, version)
    assert getattr(config, version).startswith(("1.0-",))
    assert template.metadata.retries.retries == getattr(config, retries) >= 1
    assert template.metadata.timeout.ToTimedelta() == getattr(config, timeout) <= timedelta(hours=4)
    requests = {r.name: quantity(r.value) for r in template.container.resources.requests}
    limits = {r.name: quantity(r.value) for r in template.container.resources.limits}
    preset = config.BATCH_REPORT if name == "batch_report" else config.LIGHT  # the report scores every labelled row
    assert limits[CPU] == preset.cpus and limits[MEMORY] == preset.memory_mib * 1024**2
    for resource, key in ((CPU, "cpu"), (MEMORY, "memory")):
        assert 0 < requests[resource] <= SMALL_NODE_REQUEST_MAX[key] and limits[resource] <= SMALL_NODE[key]
    assert list(template.container.args[-4:]) == ["task-module", "flyte.workflows.batch.tasks", "task-name", name]


def test_cache_versions_follow_the_batch_task_module():
    from flyte.workflows.shared.versions import derived

    assert config.MODEL_FETCH_CACHE_VERSION == derived("1.0", "flyte.core.batch.model_source", (), tasks_module=config.BATCH_TASKS)
    assert config.MODEL_FETCH_CACHE_VERSION != derived("1.0", "flyte.core.batch.model_source", ())  # not training's tasks.py
    # The drift thresholds are check_rows' `drift` input (DriftSettings), so the cache keys on them as on any input.
    assert config.CHECK_ROWS_CACHE_VERSION == derived("1.0", "flyte.core.batch.intake", config.ARROW, tasks_module=config.BATCH_TASKS)


def test_the_model_fingerprint_is_never_cached_and_the_fetch_keys_on_the_manifest_not_the_uri(pkg):
    fingerprint = pkg.tasks[PREFIX + "model_fingerprint"].template
    assert not fingerprint.metadata.discoverable
    assert fingerprint.metadata.retries.retries == config.MODEL_FETCH_RETRIES
    assert fingerprint.metadata.timeout.ToTimedelta() == config.FINGERPRINT_TIMEOUT
    fetch = pkg.tasks[PREFIX + "fetch_model"].template
    assert list(fetch.metadata.cache_ignore_input_vars) == ["model"]
    assert sorted(fetch.interface.inputs.variables) == ["manifest_sha256", "model"]
    assert list(pkg.tasks[PREFIX + "check_rows"].template.metadata.cache_ignore_input_vars) == ["dataset"]


def test_workflow_wires_the_tasks_and_types_its_outputs(pkg):
    template = pkg.workflows[WORKFLOW].template
    used = sorted(n.task_node.reference_id.name for n in template.nodes if n.HasField("task_node"))
    assert used == sorted([*(PREFIX + t for t in ["model_fingerprint", *CACHED]), "flyte.workflows.training.tasks.fingerprint"])
    outputs = template.interface.outputs.variables
    assert sorted(outputs) == ["csv", "drift", "metrics", "predictions", "report"]
    assert outputs["predictions"].type.structured_dataset_type.format == "parquet"
    for optional in ("metrics", "csv"):  # Optional: a union with none
        variants = outputs[optional].type.union_type.variants
        assert len(variants) == 2 and any(v.HasField("simple") and v.simple == 0 for v in variants), optional
    assert sorted(template.interface.inputs.variables) == INPUTS


def test_nightly_launch_plan_schedule_and_every_input_bound(pkg):
    lp = pkg.launch_plans[NIGHTLY]
    schedule = lp.spec.entity_metadata.schedule
    assert schedule.cron_schedule.schedule == config.BATCH_NIGHTLY_CRON
    assert schedule.kickoff_time_input_arg == "data_as_of"
    assert lp.spec.workflow_id.name == WORKFLOW
    parameters = lp.spec.default_inputs.parameters
    assert sorted(parameters) == INPUTS
    unbound = [name for name, p in parameters.items() if p.required or not p.HasField("default")]
    assert unbound == [], f"a scheduled run cannot supply {unbound}"
    # The nightly scores with the champion the nightly training promotes into the object-store registry.
    assert parameters["model"].default.scalar.primitive.string_value == config.NIGHTLY_MODEL_REGISTRY
    assert parameters["model_name"].default.scalar.primitive.string_value == config.NIGHTLY_MODEL_NAME


def test_default_launch_plan_has_no_schedule_and_every_default(pkg):
    lp = pkg.launch_plans[WORKFLOW]
    assert not lp.spec.entity_metadata.HasField("schedule")
    assert all(p.HasField("default") for p in lp.spec.default_inputs.parameters.values())
