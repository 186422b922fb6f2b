"""Orchestration settings: resource presets, timeouts, retries, schedules, registries, recipients and cache versions."""

# Settings that shape what a stage computes are not here: they are typed task inputs with defaults, defined beside
# the code they steer (GateCriteria, CardSettings, ScoreSettings, DriftSettings, fit's leak_threshold), so a run can
# override them and the cache is keyed on them like any other input.

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flytekit import Resources

from flyte.workflows.shared.versions import derived


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
# closure, the task wiring and the libraries that shape its outputs (flyte/workflows/shared/versions.py), so a code
# change or a library upgrade can never be served a stale cached result. docs/caching.md has the trade-off.
# ``settings``: orchestration values a stage reads that can change its bytes (thread counts, memory budgets).
ARROW = ("pyarrow", "numpy")
XGBOOST = ("xgboost", "pyarrow", "numpy", "pandas")
INGEST_CACHE_VERSION = derived("3.0", "flyte.core.data.ingest", ARROW)
SPLIT_CACHE_VERSION = derived("3.0", "flyte.core.data.split", ARROW)
PREDICT_CACHE_VERSION = derived("3.0", "flyte.core.evaluation.predict", XGBOOST)
SCORE_CACHE_VERSION = derived("3.0", "flyte.core.evaluation.evaluate", ARROW)

# Presets, sized from `make bench`: every task run as a pod, peak RSS at 100k, 1M, 5M and 10M rows x 8
# features (docs/scale-and-benchmarks.md). At 10M rows the light tasks peaked at 293-592 MiB (score highest: an exact
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
#: Fit reads TRAIN's cpus (XGBoost's threads) and memory (the external-memory choice), and either can change the
#: booster's bytes: both are in its cache version, so a new preset never serves a model fit under the old one.
FIT_SETTINGS = {"cpus": TRAIN.cpus, "memory_mib": TRAIN.memory_mib}
FIT_CACHE_VERSION = derived("3.0", "flyte.core.training.fit", XGBOOST, settings=FIT_SETTINGS)

# Fetching a remote source can fail for reasons that pass: a 5xx or 429 answer, a reset connection, a
# timeout. The ingest task raises those as recoverable, and Flyte runs it again up to this many more times
# (on a cluster; `pyflyte run` never retries). Bad data, a 404 or a 403 are not recoverable: never retried.
INGEST_RETRIES = 3

# Retries for the other tasks: they read and write tables through the blob store, whose passing failures
# flytekit raises as recoverable; their own errors (bad data) are not recoverable and are never retried.
STAGE_RETRIES = 1

# Timeouts, from make bench's per-pod times (docs/scale-and-benchmarks.md) with generous headroom: at 10M rows x 8
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

#: The nightly launch plan's schedule: 02:00 every day in the scheduler's time zone (standard five-field cron; docs/caching.md).
NIGHTLY_CRON = "0 2 * * *"

# --- Batch prediction (flyte/workflows/batch/) ----------------------------------------------------------------
BATCH_TASKS = "flyte.workflows.batch.tasks"
MODEL_FETCH_CACHE_VERSION = derived("1.0", "flyte.core.batch.model_source", (), tasks_module=BATCH_TASKS)
CHECK_ROWS_CACHE_VERSION = derived("1.0", "flyte.core.batch.intake", ARROW, tasks_module=BATCH_TASKS)
BATCH_PREDICT_CACHE_VERSION = derived("1.0", "flyte.core.batch.batch", XGBOOST, tasks_module=BATCH_TASKS)
BATCH_REPORT_CACHE_VERSION = derived("1.0", "flyte.core.batch.batch_report", ARROW, tasks_module=BATCH_TASKS)
#: The batch report's pod. With true labels it scores every row as training's score scores the test rows: about 100
#: bytes a row (codes, probabilities, the ROC sort). Measured (benchmarks/batch_memory.py, docs/batch-prediction.md): 302 MiB at 1M
#: labelled rows, 746 MiB at 5M, 73% of LIGHT's 1 GiB. The limit is doubled so ~10M labelled rows fit; the request
#: stays LIGHT's, so the pod schedules on the small sandbox and an unlabelled batch (flat, ~200 MiB) reserves no more.
BATCH_REPORT = preset(request_cpu="500m", request_mib=640, limit_cpus=2, limit_mib=2048)
#: Fetching a model directory and reading its manifest reach the network, like ingest: retried as ingest is.
MODEL_FETCH_RETRIES = INGEST_RETRIES
#: The nightly batch launch plan: 03:00 every day (scheduler's time zone), an hour after the nightly training.
BATCH_NIGHTLY_CRON = "0 3 * * *"

# --- Hyperparameter search (flyte/workflows/tuning/) -------------------------------------------------------------
#: The search's task module: hashed into each of its stages' cache versions, as tasks.py is into the training ones.
TUNING_TASKS_MODULE = "flyte.workflows.tuning.tasks"
SAMPLE_CACHE_VERSION = derived("1.0", "flyte.core.tuning.search", ("numpy",), tasks_module=TUNING_TASKS_MODULE)
#: The per-trial cache: a trial's result is keyed on this, its trial (index and hyperparameters), the train and
#: validation tables, the profile and the folds; so a re-run with more trials re-uses every finished one.
TRIAL_CACHE_VERSION = derived("1.0", "flyte.core.tuning.cross_validation", XGBOOST, tasks_module=TUNING_TASKS_MODULE,
                              settings={"cpus": TRAIN.cpus})  # fmt: skip
SELECT_CACHE_VERSION = derived("1.0", "flyte.core.tuning.trials_report", ("numpy",), tasks_module=TUNING_TASKS_MODULE)
#: At most this many trials run at once (the map task's concurrency). Each trial is a TRAIN pod; on the 2-cpu
#: sandbox only one fits at a time anyway and the rest wait Pending, which is harmless. On a real cluster it caps
#: how much of it one search may take; raise it there.
TRIAL_CONCURRENCY = 4
#: A trial is k early-stopped fits, each on (k-2)/k of the CV rows: at the documented 10M-row maximum (fit: 77 s)
#: five folds take minutes, so fit's generous two hours still only stops a hang.
TRIAL_TIMEOUT = timedelta(hours=2)
#: The nightly search's schedule: 03:00, after the 02:00 training run, so the two do not compete for a small node.
TUNING_NIGHTLY_CRON = "0 3 * * *"

# --- Model card and publishing ---------------------------------------------------------------------------------
#: The intended-use and limitations text of every model card, edited by the user in model_card.md beside this
#: file ($dataset, $target, $labels, $rows and $features are filled in; docs/model-directory.md).
MODEL_CARD_TEMPLATE = (Path(__file__).resolve().parent / "model_card.md").read_text(encoding="utf-8")
#: The manifest records flytekit's and pandas' versions, so an upgrade of either publishes afresh.
PUBLISH_CACHE_VERSION = derived("1.0", "flyte.core.publishing.publish", (*ARROW, "flytekit", "pandas", "xgboost"))

# --- Quality gate and registry (flyte/workflows/gate/; docs/gate-and-registry.md) -----------------------------
#: Where local runs keep promoted models: `registry/` in the local directory `python -m flyte.cli` writes to
#: ($PIPELINE_LOCAL_DIR, read when this module is imported), else `.flyte-local/registry` relative to the working
#: directory (the repo root for `make run`; gitignored). A pod's file system is gone when it ends, so a registered
#: workflow needs an object store: the nightly launch plan binds NIGHTLY_MODEL_REGISTRY (the sandbox's MinIO
#: bucket) instead. docs/gate-and-registry.md has both.
MODEL_REGISTRY = f"{os.environ.get('PIPELINE_LOCAL_DIR') or '.flyte-local'}/registry"
NIGHTLY_MODEL_REGISTRY = "s3://my-s3-bucket/flyte-xgboost/registry"
#: The model name the nightly launch plans train, promote and score under (the name a run on the bundled Pima data
#: derives), so batch_predict_nightly follows the champion the nightly training promotes.
NIGHTLY_MODEL_NAME = "pima-indians-diabetes"
GATE_TASKS = "flyte.workflows.gate.tasks"
JUDGE_CACHE_VERSION = derived("1.0", "flyte.core.gate.gate", XGBOOST, tasks_module=GATE_TASKS)
KEEP_CACHE_VERSION = derived("1.0", "flyte.core.gate.gate", ARROW, tasks_module=GATE_TASKS)
#: Reading the champion pointer is one small GET; writing a version is a few MB: minutes are plenty.
REGISTRY_TIMEOUT = timedelta(minutes=10)

# --- Distributed fit on Dask (flyte/workflows/distributed/) ----------------------------------------------------
# The fit_distributed task runs as a DaskJob: the Flyte Dask plugin asks the Dask Kubernetes operator for a job-runner
# pod (the task's own requests and limits: DASK_DRIVER), a scheduler pod and DASK_WORKERS worker pods. The driver only
# coordinates (reads Parquet footers, receives the booster, writes the model directory), so it is light; the rows live
# on the workers. Flyte starts each worker as `dask-worker --nthreads <cpu limit> --memory-limit <memory limit>`, so
# DASK_WORKER's limits are each worker's threads and the memory at which Dask pauses (80%) and restarts (95%) it.
# Sized so the whole DaskJob schedules on the small sandbox of the presets above (a 2-cpu, 4 GiB VM with ~350m cpu
# taken): requests sum to 1.5 cpu and 2.5 GiB. `make bench-dask` measured each worker's peak RSS with 2 workers (docs/dask.md,
# "Distributed training on Dask": 740-758 MiB at 10M rows x 8 features; 30M rows trained at 1639-1725 MiB, at the
# 80% pause line; 40M lost a worker). So these presets train up to about 30M rows; add workers beyond that.
DASK_PREDICT_CACHE_VERSION = derived(
    "1.0", "flyte.core.batch.distributed_predict", XGBOOST + ("dask", "distributed"), tasks_module="flyte.workflows.distributed.tasks"
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
#: How many workers hold the rows (and so how they are partitioned), and their sizes, can change the booster: all are
#: in the Dask fit's cache version.
DASK_FIT_CACHE_VERSION = derived(
    "1.0", "flyte.core.training.distributed_fit", XGBOOST + ("dask", "distributed"), tasks_module="flyte.workflows.distributed.tasks",
    settings={
        "workers": DASK_WORKERS, "worker_cpus": DASK_WORKER.cpus, "worker_mib": DASK_WORKER.memory_mib,
        "local_workers": DASK_LOCAL_WORKERS, "driver_cpus": DASK_DRIVER.cpus, "driver_mib": DASK_DRIVER.memory_mib,
        "driver_reserve_mib": DASK_LOCAL_DRIVER_RESERVE_MIB,
    },
)  # fmt: skip
#: Seconds to wait for the plugin's scheduler to accept the connection (its pod may still be starting).
DASK_CONNECT_TIMEOUT_S = 300
#: Seconds to wait for all DASK_WORKERS workers to join: worker pods pull the image and may queue for a node. Training
#: with fewer would put every partition on the first worker to arrive, past its memory limit.
DASK_WORKER_WAIT_TIMEOUT_S = 900
DASK_FIT_TIMEOUT = timedelta(hours=2)

# --- Schedules -------------------------------------------------------------------------------------------------------
#: Scheduled launch plans that registration leaves inactive (scripts/register.sh deactivates them after both routes
#: activate every schedule). They are alternatives to training_pipeline_nightly (02:00: trains, gates, promotes) and
#: would compete with it for the node and the champion: activate one of them *instead* of it
#: (`pyflyte launchplan --activate NAME`, then `--deactivate training_pipeline_nightly`). batch_predict_nightly
#: (03:00) stays on: it scores with the model the nightly training promoted.
PAUSED_SCHEDULES = ("tuning_pipeline_nightly", "training_pipeline_distributed_nightly")

#: The Flyte release the sandbox walkthrough starts (`flytectl demo start --version ...`): on the release line of the
#: pinned flytekit (requirements.txt). `python -m flyte.cli doctor` names it in its fixes and checks the sandbox's line.
SANDBOX_FLYTE_VERSION = "v1.16.3"

# --- Nightly notifications (flyte/workflows/shared/notifications.py) -----------------------------------------------------
#: The terminal phases of a nightly execution that FlyteAdmin reports to the recipients below: every way it can end
#: without succeeding.
NIGHTLY_NOTIFY_PHASES = ("FAILED", "TIMED_OUT", "ABORTED")


def recipients(variable: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """``default``, or the comma-separated addresses in the environment variable ``variable`` when it is set (empty:
    none). Read when this module is imported, so `pyflyte register`/`package` bake the value into the launch plans."""
    value = os.environ.get(variable)
    found = default if value is None else tuple(a.strip() for a in value.split(",") if a.strip())
    for address in found:
        if not re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+", address):
            raise ValueError(f"{variable}: {address[:120]!r} is not an email address")
    return found


#: Addresses emailed when a nightly run fails, times out or is aborted (PIPELINE_NOTIFY_EMAIL overrides). The default
#: is a placeholder that reaches no one: set your team's address before registering.
NIGHTLY_NOTIFY_EMAIL = recipients("PIPELINE_NOTIFY_EMAIL", ("ml-pipeline-alerts@example.com",))
#: Slack channel email addresses (Slack's "Send emails to Slack"); PIPELINE_NOTIFY_SLACK overrides. None by default.
NIGHTLY_NOTIFY_SLACK = recipients("PIPELINE_NOTIFY_SLACK", ())
#: PagerDuty service integration email addresses; PIPELINE_NOTIFY_PAGERDUTY overrides. None by default.
NIGHTLY_NOTIFY_PAGERDUTY = recipients("PIPELINE_NOTIFY_PAGERDUTY", ())

# --- Source bounds (flyte/core/data/fetch.py, flyte/workflows/shared/sources.py) ---------------------------------------------------
#: The largest http(s) body a download accepts, in bytes: refused as soon as the server announces more or more
#: arrives, so a runaway or hostile server cannot fill the pod's disk. 20 GiB is twice the 10M-row bench's CSV x 10.
FETCH_MAX_BYTES = 20 << 30
#: Seconds one http(s) download may take in all, redirects included: a server trickling bytes, each in time for
#: FETCH_READ_TIMEOUT_S, still fails here. Well inside LIGHT_TIMEOUT; at 20 MB/s it allows about 18 GB.
FETCH_DEADLINE_S = 900.0
#: Redirects an http(s) download or HEAD follows; each target is checked against the allow-lists above first.
FETCH_MAX_REDIRECTS = 5
