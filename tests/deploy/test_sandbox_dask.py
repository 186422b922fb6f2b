"""The distributed workflow on a live sandbox with the Dask plugin enabled (opt-in, like tests/deploy/test_sandbox.py).

Runs only with FLYTE_SANDBOX_ENDPOINT set and a sandbox prepared as docs/dask.md says: the
Dask Kubernetes operator installed and `dask` in flytepropeller's enabled plugins. Written from FlyteRemote's API and
the plugin's documented behaviour; not run here (no Kubernetes on this machine).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.deploy.test_sandbox import ENDPOINT, registered_version, remote  # noqa: F401  (fixtures)

LAUNCH_PLAN = "flyte.workflows.distributed.training_pipeline.training_pipeline_distributed"


@pytest.mark.sandbox
def test_distributed_launch_trains_on_the_plugins_cluster(remote, registered_version):  # noqa: F811
    from flytekit.models.core.execution import WorkflowExecutionPhase

    from flyte.core.evaluation.score import Metrics

    assert ENDPOINT
    lp = remote.fetch_launch_plan(name=LAUNCH_PLAN, version=registered_version)
    execution = remote.wait(remote.execute(lp, inputs={}), timeout=timedelta(minutes=30), sync_nodes=True)
    assert execution.closure.phase == WorkflowExecutionPhase.SUCCEEDED, execution.error
    metrics = execution.outputs.get("metrics", as_type=Metrics)
    assert metrics.rows == 254 and metrics.accuracy >= 0.72
    # The fit ran as a DaskJob (the plugin's task type), not as a plain container.
    fits = [n for n in execution.node_executions.values() if "fit_distributed" in str(n.metadata.spec_node_id or n.id)]
    assert fits, sorted(execution.node_executions)
