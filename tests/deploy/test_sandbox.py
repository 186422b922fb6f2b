"""The sandbox walk-through: the docs' pinned sandbox and FlyteRemote snippet, then a live check (opt-in).

The snippets are read from README.md and the docs pages it links (docs/sandbox.md holds the walk-through); a page
README links that is missing fails them. The live tests run only with FLYTE_SANDBOX_ENDPOINT set (e.g.
localhost:30080) and a sandbox started as docs/sandbox.md says (`flytectl demo start --version v1.16.x`); they
cannot run on a machine without Kubernetes: register, launch with FlyteRemote, wait, check metrics, then a cached
relaunch. Written from FlyteRemote's API in the installed flytekit. The snippet tests need no cluster.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
from datetime import timedelta

import pytest

from tests.docs_pages import code_blocks, one_block
from tests.flyte_package import REPO

ENDPOINT = os.environ.get("FLYTE_SANDBOX_ENDPOINT", "")
PROJECT, DOMAIN = "flytesnacks", "development"
LAUNCH_PLAN = "flyte.workflows.training.pipeline.training_pipeline"


def flytekit_minor() -> str:
    """'1.16' for the flytekit that requirements.txt pins."""
    [pin] = re.findall(r"^flytekit==(\d+\.\d+)\.", (REPO / "requirements.txt").read_text(), flags=re.MULTILINE)
    return pin


def test_docs_start_the_sandbox_at_the_flyte_release_line_of_the_pinned_flytekit():
    """Without --version, flytectl starts the newest Flyte release, which is a Flyte 2 one since v2.0.0."""
    starts = [
        (page, line)
        for page, block in code_blocks("bash")
        for line in block.splitlines()
        if line.strip().startswith("flytectl demo start")
    ]
    assert starts, "the docs no longer show how to start the sandbox"
    for page, line in starts:
        assert re.search(rf"--version v{re.escape(flytekit_minor())}\.\d+\b", line), f"{page}: {line}"


def test_docs_flyteremote_snippet_waits_for_the_execution_before_reading_outputs(monkeypatch):
    """Runs the docs' snippet against a stand-in FlyteRemote whose outputs, like the real ones, exist only once
    the execution is done; the real API is checked for what the stand-in imitates."""
    import flytekit.remote
    from flytekit.remote import FlyteRemote as RealRemote
    from flytekit.remote.executions import FlyteWorkflowExecution

    assert {"execution", "timeout"} <= set(inspect.signature(RealRemote.wait).parameters)
    for name in ("is_done", "is_successful", "outputs", "error"):
        assert isinstance(inspect.getattr_static(FlyteWorkflowExecution, name), property), name

    calls = []

    class Outputs:
        def get(self, key, as_type=None):
            calls.append(("get", key, as_type.__name__))
            return "metrics"

    class Execution:
        def __init__(self, done: bool):
            self.is_done = self.is_successful = done
            self.error = None
            self.id = type("Id", (), {"name": "e1"})()

        @property
        def outputs(self):
            if not self.is_done:  # flytekit raises FlyteAssertion here
                raise AssertionError("outputs read before the execution ended")
            return Outputs()

    class Remote:
        def __init__(self, config, default_project, default_domain):
            assert config.platform.endpoint == "localhost:30080"
            assert (default_project, default_domain) == ("flytesnacks", "development")

        def fetch_execution(self, name):
            calls.append(("fetch", name))
            return Execution(done=False)

        def wait(self, execution, timeout=None, **_):
            assert isinstance(timeout, timedelta) and not execution.is_done
            calls.append(("wait",))
            return Execution(done=True)

    page, snippet = one_block("python", "FlyteRemote(")
    monkeypatch.setattr(flytekit.remote, "FlyteRemote", Remote)
    monkeypatch.chdir(REPO)  # Config.auto("flyte.config") is relative
    exec(compile(snippet, page, "exec"), {"__name__": "docs_snippet"})
    assert calls == [("fetch", "<execution id>"), ("wait",), ("get", "metrics", "Metrics")]


@pytest.fixture(scope="module")
def registered_version() -> str:
    """Build, push and register the current tree with the docs' register command; returns its version."""
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


@pytest.mark.sandbox
def test_launch_scores_and_relaunch_hits_the_cache(remote, registered_version):
    from flyteidl.core.catalog_pb2 import CACHE_HIT
    from flytekit.models.core.execution import WorkflowExecutionPhase

    from flyte.core.evaluation.score import Metrics

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


@pytest.mark.sandbox
def test_nightly_launch_plan_is_active(remote, registered_version):
    from flytekit.models.launch_plan import LaunchPlanState

    lp = remote.client.get_launch_plan(
        remote.fetch_launch_plan(name="training_pipeline_nightly", version=registered_version).id
    )
    assert lp.closure.state == LaunchPlanState.ACTIVE
    assert lp.spec.entity_metadata.schedule.cron_schedule.schedule == "0 2 * * *"
