"""Orchestration settings in one place: cache versions, resource presets, thread counts, schedule."""

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
# 2.x: tables between tasks became directories of Parquet parts. 3.x: strict dataset options, no path in
# the profile, positive label order, booster-safe feature names.
ARROW = ("pyarrow", "numpy")
XGBOOST = ("xgboost", "pyarrow", "numpy", "pandas")
INGEST_CACHE_VERSION = derived("3.0", "flyte.core.data.ingest", ARROW)
SPLIT_CACHE_VERSION = derived("3.0", "flyte.core.data.split", ARROW)
#: Fit refuses a feature whose leak score (flyte/core/data/leakage.py: how far it alone determines the target on the
#: training rows, 0 to 1) passes this, unless the dataset spec allows it. In fit's version (its settings): a new
#: threshold changes which fits are refused and what the card reports.
LEAK_SCORE_THRESHOLD = 0.95
PREDICT_CACHE_VERSION = derived("3.0", "flyte.core.evaluation.predict", XGBOOST)
#: From this many test rows on, score streams the rows in batches and takes ROC AUC and the curves from a histogram
#: of SCORE_AUC_BINS bins per class (its error bound is logged); below, every score is sorted.
SCORE_EXACT_ROWS = 1_000_000
SCORE_AUC_BINS = 1 << 18
SCORE_CACHE_VERSION = derived("3.0", "flyte.core.evaluation.evaluate", ARROW, settings={"exact_rows": SCORE_EXACT_ROWS, "auc_bins": SCORE_AUC_BINS})

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
FIT_SETTINGS = {"cpus": TRAIN.cpus, "memory_mib": TRAIN.memory_mib, "leak_threshold": LEAK_SCORE_THRESHOLD}
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

# --- Batch prediction (issue 7): flyte/workflows/batch/pipeline.py and batch_tasks.py --------------------------
BATCH_TASKS = "flyte.workflows.batch.tasks"
#: PSI past which a feature's drift is flagged. The common rule of thumb for the population stability index:
#: below 0.1 no significant change, 0.1 to 0.25 a moderate shift, above 0.25 a significant shift (Siddiqi, "Credit
#: Risk Scorecards", Wiley 2006; Yurdakul, "Statistical Properties of Population Stability Index", 2018). Flagged past 0.25.
DRIFT_PSI_THRESHOLD = 0.25
# The threshold is in the check stage's manual version: config.py is not part of the code digest, and a new
# threshold changes which features that stage flags.
MODEL_FETCH_CACHE_VERSION = derived("1.0", "flyte.core.batch.model_source", (), tasks_module=BATCH_TASKS)
#: The fewest new rows for any drift flag, and the family-wise significance level a flagged feature's chi-square
#: p-value must also pass (divided among the features). PSI alone cries wolf at small n: 50 rows drawn from Pima's
#: own training file scored a PSI of 0.969 on one feature from a single empty decile (docs: gate). Both shape which
#: features check_rows flags, so both are in its cache version below.
DRIFT_MIN_ROWS = 30
DRIFT_ALPHA = 0.01
CHECK_ROWS_CACHE_VERSION = derived(
    f"1.0-psi{DRIFT_PSI_THRESHOLD:g}-min{DRIFT_MIN_ROWS}-alpha{DRIFT_ALPHA:g}", "flyte.core.batch.intake", ARROW, tasks_module=BATCH_TASKS
)
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

# --- Hyperparameter search (tuning_pipeline, flyte/workflows/tuning/pipeline.py) -------------------------------------------
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

# ---------------------------------------------------------------------------------------------------------------
# Model card and publishing (issue 7, card). The publish task copies the fit's model directory, adds the model
# card and the full manifest (flyte/core/publishing/publish.py). Its cache version follows publish's code closure; the card
# template is a task input, so editing it misses the cache by itself.
# flytekit and pandas too: the manifest records their versions, so an upgrade of either must publish afresh.
#: The intended-use and limitations text of every model card, edited by the user in model_card.md beside this
#: file ($dataset, $target, $labels, $rows and $features are filled in; docs/model-directory.md).
MODEL_CARD_TEMPLATE = (Path(__file__).resolve().parent / "model_card.md").read_text(encoding="utf-8")
#: Bootstrap resamples of the test rows for the card's 95% intervals, and their seed (same seed, same intervals).
CARD_BOOTSTRAP_REPLICATES = 1000
CARD_BOOTSTRAP_SEED = 0
#: The most test rows x replicates one card may resample: at 1M test rows it allows 200 replicates, about 11 s
#: for a binary target on one core (docs/model-directory.md); never fewer than CARD_MIN_REPLICATES.
CARD_BOOTSTRAP_ROW_BUDGET = 200_000_000
CARD_MIN_REPLICATES = 100
#: Equal-width bins of the card's calibration curve.
CARD_CALIBRATION_BINS = 10
#: From this many test rows on, the card's intervals are analytic (Wilson, DeLong, delta-method normal; analytic.py):
#: there they agree closely with the bootstrap (tests/core/evaluation/test_analytic.py) and cost O(n log n) once, not a pass per resample
#: (the statistics page of the docs argues it). Below it, the percentile bootstrap, unchanged on small test sets.
CARD_ANALYTIC_ROWS = 10_000
#: On that path the rows are streamed, and DeLong's placements come from a histogram of this many bins per class.
CARD_AUC_BINS = 1 << 18
#: The card settings above are passed by the publish task, not task inputs: they are part of its cache version.
PUBLISH_CACHE_VERSION = derived(
    "1.0", "flyte.core.publishing.publish", (*ARROW, "flytekit", "pandas", "xgboost"),
    settings={
        "replicates": CARD_BOOTSTRAP_REPLICATES, "seed": CARD_BOOTSTRAP_SEED, "row_budget": CARD_BOOTSTRAP_ROW_BUDGET,
        "min_replicates": CARD_MIN_REPLICATES, "bins": CARD_CALIBRATION_BINS, "analytic_rows": CARD_ANALYTIC_ROWS,
        "auc_bins": CARD_AUC_BINS,
    },
)  # fmt: skip


# --- Quality gate and promotion (issue 8; flyte/workflows/gate/tasks.py, promotion.py; docs/gate-and-registry.md) ---
# Floors a new model must meet on the test rows before it may replace the champion, and the comparison's settings.
# Every run may override them: `--gate '{"min_accuracy": 0.8}'` (the other fields keep these defaults).
# The floors are set under what the default Pima run reaches (accuracy 0.765, ROC AUC 0.839, log loss 0.479 on its
# 259 test rows), with room for another seed's split, and high enough to refuse a model that learned nothing
# (a constant guess scores accuracy 0.65 and ROC AUC 0.5 on Pima).
GATE_MIN_ACCURACY = 0.70
GATE_MIN_ROC_AUC = 0.75
GATE_MAX_LOG_LOSS = 0.60
#: Significance level of the champion comparison: McNemar's two-sided p and the bootstrap's 1 - alpha intervals.
GATE_ALPHA = 0.05
#: Paired-bootstrap resamples: 1000 puts the 2.5% quantile on the 25th value; each costs O(test rows) per class.
GATE_BOOTSTRAP_REPLICATES = 1000
GATE_BOOTSTRAP_SEED = 7
#: The most resamples x test rows judge's bootstrap may cost. Measured (gate_stats.paired_bootstrap, binary, this
#: shared 2-core machine): 0.30-0.42 microseconds per row per resample (42 ms at 100k rows, 298 ms at 1M). 2e8 is about
#: 85 s: 1000 resamples up to 200k test rows, then fewer (never under 200: at 3.3M rows, 200 take ~4.6 min),
#: well inside LIGHT_TIMEOUT. Multiclass costs that per class.
GATE_BOOTSTRAP_BUDGET = 200_000_000
#: From this many test rows on, judge's intervals are paired normal ones (accuracy from McNemar's discordant counts,
#: AUC by DeLong's paired variance; gate_stats.paired_analytic) in O(n log n), not a bootstrap that grows with the rows.
GATE_ANALYTIC_ROWS = 10_000
GATE_REQUIRE_BETTER = False
GATE_REPLACE_INCOMPATIBLE = False
#: The fewest test rows the champion never trained or early-stopped on (by its recorded split rule) that the
#: comparison needs; with fewer, the floors alone decide and the decision is flagged floors_only. At 100 paired rows
#: a 95% interval on an accuracy difference is still about +-0.05 wide for two models that disagree on 7% of rows,
#: so fewer rows could only say "not significantly worse" whatever the models (docs: gate).
GATE_MIN_UNSEEN_ROWS = 100
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
JUDGE_CACHE_VERSION = derived(
    "1.0", "flyte.core.gate.gate", XGBOOST, tasks_module=GATE_TASKS, settings={"bootstrap_budget": GATE_BOOTSTRAP_BUDGET, "analytic_rows": GATE_ANALYTIC_ROWS}
)
KEEP_CACHE_VERSION = derived("1.0", "flyte.core.gate.gate", ARROW, tasks_module=GATE_TASKS)
#: Reading the champion pointer is one small GET; writing a version is a few MB: minutes are plenty.
REGISTRY_TIMEOUT = timedelta(minutes=10)

# --- Distributed fit on Dask (issue 9; flyte/workflows/distributed/tasks.py) -------------------------------------
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

# Regression gate floors (GateCriteria.max_rmse / min_r2): no universal RMSE ceiling exists (it is in the target's
# units), so none by default; R² at least 0 refuses a model worse than predicting the test rows' mean.
GATE_MAX_RMSE = 0.0
GATE_MIN_R2 = 0.0
