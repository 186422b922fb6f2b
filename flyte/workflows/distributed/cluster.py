"""Which Dask cluster a task trains on: the Flyte Dask plugin's scheduler when the pod names one, else a local one."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flyte.workflows import config
from flyte.workflows.shared.versions import ROOT

log = logging.getLogger(__name__)

#: Set by the Dask Kubernetes operator in the DaskJob's job-runner pod (the task's pod on a cluster), to
#: tcp://<job>-scheduler.<namespace>.svc.cluster.local:8786; dask reads it as its `scheduler-address` setting too.
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class NotEnoughWorkers(RuntimeError):
    """The plugin's cluster did not reach its worker count in time (pods pending, image pulls, a full node)."""


def local_cluster_size(driver: config.ResourcePreset, cpu_count: int | None = None) -> tuple[int, int]:
    """(workers, memory limit per worker in MiB) of a LocalCluster inside the driver's limits: at most
    DASK_LOCAL_WORKERS one-thread workers, no more than the driver's cpus (nor the machine's), sharing the
    driver's memory limit less DASK_LOCAL_DRIVER_RESERVE_MIB for the driver process itself."""
    cpus = min(driver.cpus, cpu_count or os.cpu_count() or 1)
    workers = max(1, min(config.DASK_LOCAL_WORKERS, cpus))
    memory = (driver.memory_mib - config.DASK_LOCAL_DRIVER_RESERVE_MIB) // workers
    if memory < 256:
        raise ValueError(f"a driver limit of {driver.memory_mib} MiB leaves {memory} MiB per local Dask worker")
    return workers, memory


@contextmanager
def dask_client(local_directory: Path, driver: config.ResourcePreset = config.DASK_DRIVER) -> Iterator:
    """A ``distributed.Client`` for the plugin's cluster, or for a LocalCluster started (and closed) here.

    On a cluster the job-runner pod carries SCHEDULER_ENV: connect to it, then wait for all DASK_WORKERS
    workers. With no address (``pyflyte run``, a test, a pod without the plugin) start a LocalCluster of
    worker processes with one thread each, sized by ``local_cluster_size``, spilling under ``local_directory``.
    Logs which cluster was used.
    """
    from distributed import Client, LocalCluster

    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if address:
        log.info("Dask: connecting to the plugin's scheduler at %s", address)
        with Client(address, timeout=config.DASK_CONNECT_TIMEOUT_S) as client:
            try:
                client.wait_for_workers(config.DASK_WORKERS, timeout=config.DASK_WORKER_WAIT_TIMEOUT_S)
            except TimeoutError:
                joined = len(client.scheduler_info(n_workers=-1)["workers"])
                raise NotEnoughWorkers(
                    f"Dask: {joined} of {config.DASK_WORKERS} workers joined {address} within "
                    f"{config.DASK_WORKER_WAIT_TIMEOUT_S} s; see the worker pods' events (image pull, pending on resources)"
                ) from None
            log.info("Dask: using the plugin's cluster at %s with %s", address, _describe(client))
            yield client
        return
    workers, memory_mib = local_cluster_size(driver)
    log.info("Dask: no %s in the environment; starting a LocalCluster of %d workers x 1 thread, %d MiB each",
             SCHEDULER_ENV, workers, memory_mib)  # fmt: skip
    with _project_importable(), LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, memory_limit=f"{memory_mib}MiB",
        dashboard_address=None, local_directory=str(local_directory),
    ) as cluster, Client(cluster) as client:  # fmt: skip
        log.info("Dask: using the LocalCluster at %s with %s", cluster.scheduler_address, _describe(client))
        yield client


@contextmanager
def _project_importable() -> Iterator[None]:
    """Let the local workers import ``flyte``. They are spawned interpreters that start from the driver's sys.path,
    where `pyflyte run` may have put the project as a relative entry, wrong in a worker's own directory: without this
    every task fails to unpickle ("No module named 'flyte'"). The absolute project root goes on the driver's sys.path
    (spawned workers copy it) and PYTHONPATH, for as long as the cluster lives (a nanny restarts a worker it killed
    for memory the same way)."""
    root = str(ROOT)
    before = os.environ.get("PYTHONPATH")
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, before) if p)
    try:
        yield
    finally:
        if added and root in sys.path:
            sys.path.remove(root)
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _describe(client) -> str:
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    threads = sum(w.get("nthreads", 0) for w in workers)
    memory = sum(w.get("memory_limit", 0) or 0 for w in workers)
    return f"{len(workers)} workers, {threads} threads, {memory / 2**20:.0f} MiB memory limit in all"
