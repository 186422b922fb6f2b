"""Orchestration settings in one place: cache versions, resource presets, thread counts, schedule."""

from __future__ import annotations

from dataclasses import dataclass

from flytekit import Resources


@dataclass(frozen=True)
class ResourcePreset:
    """Kubernetes requests (what the scheduler reserves) and limits (where the pod is throttled or killed).

    cpus: the cpu limit as a whole number; the task runs exactly this many threads (XGBoost, Arrow).
    memory_mib: the memory limit in MiB; the fit's external-memory choice reads it as its budget.
    """

    requests: Resources
    limits: Resources
    cpus: int
    memory_mib: int


def preset(request_cpu: str, request_mib: int, limit_cpus: int, limit_mib: int) -> ResourcePreset:
    return ResourcePreset(
        requests=Resources(cpu=request_cpu, mem=f"{request_mib}Mi"),
        limits=Resources(cpu=str(limit_cpus), mem=f"{limit_mib}Mi"),
        cpus=limit_cpus,
        memory_mib=limit_mib,
    )


# Cache versions: bump a stage's version when its code changes what it outputs for the same inputs,
# so the cluster and the local cache stop serving results of the old code. Stages bump independently.
# 2.x: tables between tasks became directories of Parquet parts, profiles carry typed labels, the model
# schema carries feature importance.
INGEST_CACHE_VERSION = "2.0"
SPLIT_CACHE_VERSION = "2.0"
FIT_CACHE_VERSION = "2.0"
PREDICT_CACHE_VERSION = "2.0"
SCORE_CACHE_VERSION = "2.0"

# Presets, sized from `make bench` (peak RSS of each task run as a pod; README "Resources" has the table).
# Requests must fit a small sandbox: `flytectl demo start` runs a one-node k3s cluster inside Docker
# and sets no per-task quota of its own, so what bounds a request is the Docker node itself; on a
# 2-cpu, 4 GiB node the sandbox's own pods already hold about 350m cpu, so no task may request 2 whole
# cpus. Limits may be higher than requests: a task uses the second core when the node has it free.
LIGHT = preset(request_cpu="500m", request_mib=512, limit_cpus=2, limit_mib=1024)
TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=2, limit_mib=2048)

#: The nightly launch plan's schedule: 02:00 UTC every day (standard five-field cron).
NIGHTLY_CRON = "0 2 * * *"
