"""What the nightly launch plans ask FlyteAdmin to send when a run ends without succeeding, and to whom."""

from __future__ import annotations

from flytekit import Email, PagerDuty, Slack, WorkflowExecutionPhase

from flyte.workflows import config
def nightly_notifications() -> list:
    """One notification per kind with recipients in config (email, Slack, PagerDuty; FlyteAdmin sends all three as
    email), each for every phase in config.NIGHTLY_NOTIFY_PHASES. Empty when config names no one."""
    phases = [getattr(WorkflowExecutionPhase, phase) for phase in config.NIGHTLY_NOTIFY_PHASES]
    kinds = ((Email, config.NIGHTLY_NOTIFY_EMAIL), (Slack, config.NIGHTLY_NOTIFY_SLACK), (PagerDuty, config.NIGHTLY_NOTIFY_PAGERDUTY))
    return [kind(phases=phases, recipients_email=list(to)) for kind, to in kinds if to]
