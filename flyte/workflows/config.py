"""Orchestration settings in one place: cache versions, resource presets, thread counts, schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flytekit import Resources

from flyte.workflows.versions import derived


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


# Cache versions: a manual part (bump it to invalidate on purpose) joined to a digest of the stage's code
# closure, the task wiring and the libraries that shape its outputs (flyte/workflows/versions.py), so a code
# change or a library upgrade can never be served a stale cached result. README, "Caching", has the trade-off.
# 2.x: tables between tasks became directories of Parquet parts. 3.x: strict dataset options, no path in
# the profile, positive label order, booster-safe feature names.
ARROW = ("pyarrow", "numpy")
XGBOOST = ("xgboost", "pyarrow", "numpy", "pandas")
INGEST_CACHE_VERSION = derived("3.0", "flyte.core.ingest", ARROW)
SPLIT_CACHE_VERSION = derived("3.0", "flyte.core.split", ARROW)
FIT_CACHE_VERSION = derived("3.0", "flyte.core.fit", XGBOOST)
PREDICT_CACHE_VERSION = derived("3.0", "flyte.core.predict", XGBOOST)
SCORE_CACHE_VERSION = derived("3.0", "flyte.core.evaluate", ARROW)

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

# Retries for the other tasks: they read and write tables through the blob store, whose passing failures
# flytekit raises as recoverable; their own errors (bad data) are not recoverable and are never retried.
STAGE_RETRIES = 1

# Timeouts, from make bench's per-pod times (README, "Scale") with generous headroom: at 10M rows x 8
# features, the documented maximum of the default presets, the light tasks took at most 8 s and fit 77 s;
# at 100M rows (bench-large, larger limits) ingest took 81 s and fit 26 minutes. A task past its timeout
# is stopped, so a hung read or a runaway fit cannot hold a node forever.
LIGHT_TIMEOUT = timedelta(minutes=20)
FINGERPRINT_TIMEOUT = timedelta(minutes=10)  # hashing 7 GB takes about 4 s; a remote HEAD is bounded above
FIT_TIMEOUT = timedelta(hours=2)

#: Seconds to wait for an http(s) source's connection (TCP and TLS) to open.
FETCH_CONNECT_TIMEOUT_S = 10.0
#: Seconds to wait for the next bytes of an http(s) source's answer: a server that accepts the connection and
#: never answers fails after this long. Generous, since a big file's server may take a while to start sending.
FETCH_READ_TIMEOUT_S = 60.0

# Where a dataset may come from. A source can point anywhere the pod can reach (a metadata endpoint, an
# internal service), and a bad line read from it is echoed in the error; only these schemes are read.
# "" is a plain path; "bundled" the data shipped in the image. Add hosts to ALLOWED_SOURCE_HOSTS to
# restrict http(s), s3 and gs further (empty: any host).
ALLOWED_SOURCE_SCHEMES = ("", "file", "bundled", "https", "http", "s3", "gs")
ALLOWED_SOURCE_HOSTS: tuple[str, ...] = ()

#: The nightly launch plan's schedule: 02:00 every day in the scheduler's time zone (standard five-field cron; README).
NIGHTLY_CRON = "0 2 * * *"

# --- Distributed fit on Dask (issue 9; flyte/workflows/distributed_tasks.py) -------------------------------------
# The fit_distributed task runs as a DaskJob: the Flyte Dask plugin asks the Dask Kubernetes operator for a job-runner
# pod (the task's own requests and limits: DASK_DRIVER), a scheduler pod and DASK_WORKERS worker pods. The driver only
# coordinates (reads Parquet footers, receives the booster, writes the model directory), so it is light; the rows live
# on the workers. Flyte starts each worker as `dask-worker --nthreads <cpu limit> --memory-limit <memory limit>`, so
# DASK_WORKER's limits are each worker's threads and the memory at which Dask pauses (80%) and restarts (95%) it.
# Sized so the whole DaskJob schedules on the small sandbox of the presets above (a 2-cpu, 4 GiB VM with ~350m cpu
# taken): requests sum to 1.5 cpu and 2.5 GiB. `make bench-dask` measured each worker's peak RSS with 2 workers (README,
# "Distributed training on Dask": at most 561 MiB at 5M rows x 8 features), well under DASK_WORKER's 2 GiB limit.
DASK_FIT_CACHE_VERSION = derived(
    "1.0", "flyte.core.distributed_fit", XGBOOST + ("dask", "distributed"), tasks_module="flyte.workflows.distributed_tasks"
)
DASK_DRIVER = preset(request_cpu="250m", request_mib=512, limit_cpus=2, limit_mib=2048)
DASK_SCHEDULER = preset(request_cpu="250m", request_mib=512, limit_cpus=1, limit_mib=1024)
DASK_WORKER = preset(request_cpu="500m", request_mib=768, limit_cpus=1, limit_mib=2048)
DASK_WORKERS = 2
# With no scheduler address in the environment (a local run, or a pod without the plugin) the driver starts a
# LocalCluster inside its own limits: DASK_LOCAL_WORKERS processes (at most the driver's cpus) of one thread each,
# sharing the driver's memory limit less what the driver process itself holds.
DASK_LOCAL_WORKERS = 2
DASK_LOCAL_DRIVER_RESERVE_MIB = 512
#: Seconds to wait for the plugin's scheduler to accept the connection (its pod may still be starting).
DASK_CONNECT_TIMEOUT_S = 300
#: Seconds to wait for all DASK_WORKERS workers to join: worker pods pull the image and may queue for a node. Training
#: with fewer would put every partition on the first worker to arrive, past its memory limit.
DASK_WORKER_WAIT_TIMEOUT_S = 900
DASK_FIT_TIMEOUT = timedelta(hours=2)
