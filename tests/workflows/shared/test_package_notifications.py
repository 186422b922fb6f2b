"""What registration sends about the nightly runs' failures: the notifications each nightly launch plan carries, as
`pyflyte package` serializes them, from the recipients in config or the environment at registration."""

from __future__ import annotations

import pytest
from flyteidl.admin import launch_plan_pb2
from flyteidl.core import execution_pb2

from flyte.workflows import config
from tests.flyte_package import package

IMAGE = "localhost:30000/flyte-xgboost:0123abc"
NIGHTLIES = ["training_pipeline_nightly", "training_pipeline_distributed_nightly", "batch_predict_nightly", "tuning_pipeline_nightly"]
UNSCHEDULED = "flyte.workflows.training.pipeline.training_pipeline"
Phase = execution_pb2.WorkflowExecution.Phase
NOT_SUCCEEDED = {Phase.FAILED, Phase.TIMED_OUT, Phase.ABORTED}


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


def notifications(lp: launch_plan_pb2.LaunchPlan) -> dict[str, tuple[set, list[str]]]:
    """{kind: (phases, recipients)} of a launch plan's notifications."""
    found = {}
    for note in lp.spec.entity_metadata.notifications:
        kind = note.WhichOneof("type")
        found[kind] = (set(note.phases), list(getattr(note, kind).recipients_email))
    return found


def test_every_scheduled_launch_plan_is_a_nightly_with_notifications(pkg):
    scheduled = sorted(name for name, lp in pkg.launch_plans.items() if lp.spec.entity_metadata.HasField("schedule"))
    assert scheduled == sorted(NIGHTLIES)


@pytest.mark.parametrize("name", NIGHTLIES)
def test_a_nightly_emails_config_recipients_when_it_does_not_succeed(pkg, name):
    assert notifications(pkg.launch_plans[name]) == {"email": (NOT_SUCCEEDED, list(config.NIGHTLY_NOTIFY_EMAIL))}
    assert config.NIGHTLY_NOTIFY_EMAIL  # someone is named by default


def test_a_launch_plan_run_by_hand_notifies_no_one(pkg):
    assert notifications(pkg.launch_plans[UNSCHEDULED]) == {}


def test_recipients_set_at_registration_replace_the_defaults(tmp_path):
    env = {"PIPELINE_NOTIFY_EMAIL": "oncall@ml.example.org, lead@ml.example.org",
           "PIPELINE_NOTIFY_SLACK": "alerts-aaaa@team.slack.com", "PIPELINE_NOTIFY_PAGERDUTY": "svc@ml.pagerduty.com"}  # fmt: skip
    found = notifications(package(IMAGE, tmp_path, **env).launch_plans["training_pipeline_nightly"])
    assert found == {
        "email": (NOT_SUCCEEDED, ["oncall@ml.example.org", "lead@ml.example.org"]),
        "slack": (NOT_SUCCEEDED, ["alerts-aaaa@team.slack.com"]),
        "pager_duty": (NOT_SUCCEEDED, ["svc@ml.pagerduty.com"]),
    }


def test_recipients_read_the_environment_and_refuse_what_is_not_an_address(monkeypatch):
    monkeypatch.delenv("X_NOTIFY", raising=False)
    assert config.recipients("X_NOTIFY", ("a@b.org",)) == ("a@b.org",)
    monkeypatch.setenv("X_NOTIFY", "")
    assert config.recipients("X_NOTIFY", ("a@b.org",)) == ()  # set but empty: notify no one of this kind
    monkeypatch.setenv("X_NOTIFY", " c@d.org ,e@f.org,")
    assert config.recipients("X_NOTIFY", ()) == ("c@d.org", "e@f.org")
    monkeypatch.setenv("X_NOTIFY", "c@d.org; e@f.org")
    with pytest.raises(ValueError, match=r"^X_NOTIFY: 'c@d.org; e@f.org' is not an email address$"):
        config.recipients("X_NOTIFY", ())
