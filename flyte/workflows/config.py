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
# schema carries feature importance. 3.x: strict dataset options, no path in the profile, positive label
# order, booster-safe feature names.
INGEST_CACHE_VERSION = "3.0"
SPLIT_CACHE_VERSION = "3.0"
FIT_CACHE_VERSION = "3.0"
PREDICT_CACHE_VERSION = "3.0"
SCORE_CACHE_VERSION = "3.0"

# Presets, sized from `make bench`: every task run as a pod, peak RSS at 100k, 1M, 5M and 10M rows x 8
# features (README, "Scale"). At 10M rows the light tasks peaked at 293-592 MiB (score highest: an exact
# ROC AUC sorts every test row) and fit at 751 MiB, so requests cover those peaks and every peak stays
# under 60% of its limit. Ingest, split and predict stay flat as rows grow; score and fit grow with them.
#
# Requests must also schedule on a small sandbox. `flytectl demo start` runs a one-node k3s cluster in a
# Docker container and sets no per-task cap: its chart (flyteorg/flyte, charts/flyte-sandbox/values.yaml,
# `task_resources`) gives tasks that declare nothing 500m cpu / 1Gi and sets every limit to 0, i.e. none.
# What bounds a request is the node, i.e. the Docker VM. On a 2-cpu, 4 GiB VM the sandbox's own pods
# already hold about 350m cpu, so no task requests 2 whole cpus; limits may be higher than requests, and a
# task uses the second core when the node has it free.
LIGHT = preset(request_cpu="500m", request_mib=640, limit_cpus=2, limit_mib=1024)
TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=2, limit_mib=2048)

# Fetching a remote source can fail for reasons that pass: a 5xx or 429 answer, a reset connection, a
# timeout. The ingest task raises those as recoverable, and Flyte runs it again up to this many more times
# (on a cluster; `pyflyte run` never retries). Bad data, a 404 or a 403 are not recoverable: never retried.
INGEST_RETRIES = 3

#: Seconds to wait for an http(s) source's connection (TCP and TLS) to open.
FETCH_CONNECT_TIMEOUT_S = 10.0
#: Seconds to wait for the next bytes of an http(s) source's answer: a server that accepts the connection and
#: never answers fails after this long. Generous, since a big file's server may take a while to start sending.
FETCH_READ_TIMEOUT_S = 60.0

#: The nightly launch plan's schedule: 02:00 UTC every day (standard five-field cron).
NIGHTLY_CRON = "0 2 * * *"
