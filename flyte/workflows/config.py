"""Orchestration settings in one place: cache versions, resource presets, schedule."""

from __future__ import annotations

from dataclasses import dataclass

from flytekit import Resources


@dataclass(frozen=True)
class ResourcePreset:
    """Kubernetes requests (what the scheduler reserves) and limits (where the pod is throttled or killed)."""

    requests: Resources
    limits: Resources


# Cache versions: bump a stage's version when its code changes what it outputs for the same inputs,
# so the cluster and the local cache stop serving results of the old code. Stages bump independently.
INGEST_CACHE_VERSION = "1.0"
SPLIT_CACHE_VERSION = "1.0"
FIT_CACHE_VERSION = "1.0"
PREDICT_CACHE_VERSION = "1.0"
SCORE_CACHE_VERSION = "1.1"

#: Cpus the fit task asks for; XGBoost runs exactly this many threads so it never oversubscribes its pod.
FIT_CPU = 2

# Presets stay inside what a default `flytectl demo start` sandbox grants one task (2 cpu, 2Gi here),
# so nothing waits forever for a node or is refused at registration. Limits sit above requests for
# memory headroom (pandas copies) but well below a laptop's memory.
LIGHT = ResourcePreset(
    requests=Resources(cpu="500m", mem="512Mi"),
    limits=Resources(cpu="1", mem="1Gi"),
)
TRAIN = ResourcePreset(
    requests=Resources(cpu=str(FIT_CPU), mem="1Gi"),
    limits=Resources(cpu=str(FIT_CPU), mem="2Gi"),
)

#: The nightly launch plan's schedule: 02:00 UTC every day (standard five-field cron).
NIGHTLY_CRON = "0 2 * * *"
