"""Live sandbox check (opt-in): register, launch with FlyteRemote, wait, check metrics, then a cached relaunch.

Runs only with FLYTE_SANDBOX_ENDPOINT set (e.g. localhost:30080) and a sandbox from `flytectl demo start`;
it cannot run on a machine without Kubernetes. Written from FlyteRemote's documented API.
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest

from tests.flyte_package import REPO

pytestmark = pytest.mark.sandbox

ENDPOINT = os.environ.get("FLYTE_SANDBOX_ENDPOINT", "")
PROJECT, DOMAIN = "flytesnacks", "development"
LAUNCH_PLAN = "flyte.workflows.training.training_pipeline"


@pytest.fixture(scope="module")
def registered_version() -> str:
    """Build, push and register the current tree with the README's register command; returns its version."""
    if not ENDPOINT:
        pytest.skip("set FLYTE_SANDBOX_ENDPOINT (e.g. localhost:30080) to run against a live sandbox")
    proc = subprocess.run(["scripts/register.sh"], cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout.strip().splitlines()[-1].rsplit(":", 1)[-1]  # the script's last line is the image ref


@pytest.fixture(scope="module")
def remote():
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    return FlyteRemote(Config.for_endpoint(ENDPOINT, insecure=True), default_project=PROJECT, default_domain=DOMAIN)


def test_launch_scores_and_relaunch_hits_the_cache(remote, registered_version):
    from flyteidl.core.catalog_pb2 import CACHE_HIT
    from flytekit.models.core.execution import WorkflowExecutionPhase

    from flyte.core.score import Metrics

    lp = remote.fetch_launch_plan(name=LAUNCH_PLAN, version=registered_version)
    first = remote.wait(remote.execute(lp, inputs={}), timeout=timedelta(minutes=20))
    assert first.closure.phase == WorkflowExecutionPhase.SUCCEEDED, first.error
    metrics = first.outputs.get("metrics", as_type=Metrics)
    assert metrics.rows == 254 and metrics.accuracy >= 0.752

    second = remote.wait(remote.execute(lp, inputs={}), timeout=timedelta(minutes=10), sync_nodes=True)
    assert second.closure.phase == WorkflowExecutionPhase.SUCCEEDED, second.error
    statuses = [
        n.closure.task_node_metadata.cache_status
        for n in second.node_executions.values()
        if n.closure.task_node_metadata is not None
    ]
    assert len(statuses) == 5 and set(statuses) == {CACHE_HIT}
    assert second.outputs.get("metrics", as_type=Metrics) == metrics


def test_nightly_launch_plan_is_active(remote, registered_version):
    from flytekit.models.launch_plan import LaunchPlanState

    lp = remote.client.get_launch_plan(
        remote.fetch_launch_plan(name="training_pipeline_nightly", version=registered_version).id
    )
    assert lp.closure.state == LaunchPlanState.ACTIVE
    assert lp.spec.entity_metadata.schedule.cron_schedule.schedule == "0 2 * * *"
