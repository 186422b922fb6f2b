"""Which cluster the Dask task trains on: the plugin's scheduler named in the environment, else a LocalCluster."""

from __future__ import annotations

import logging

import pytest

from flyte.workflows import config

from flyte.workflows.distributed import cluster as dask_cluster
from flyte.workflows.distributed.cluster import NotEnoughWorkers, dask_client, local_cluster_size


@pytest.fixture(scope="module")
def plugin_cluster():
    """Stands in for the cluster the Dask operator starts: a scheduler with two workers, reached by address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield cluster


def test_local_cluster_is_sized_to_the_driver():
    workers, memory = local_cluster_size(config.DASK_DRIVER, cpu_count=8)
    assert workers == min(config.DASK_LOCAL_WORKERS, config.DASK_DRIVER.cpus) == 2
    assert memory * workers + config.DASK_LOCAL_DRIVER_RESERVE_MIB <= config.DASK_DRIVER.memory_mib
    assert local_cluster_size(config.DASK_DRIVER, cpu_count=1)[0] == 1  # never more workers than cores


def test_without_an_address_a_local_cluster_of_one_thread_workers_is_started(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv(dask_cluster.SCHEDULER_ENV, raising=False)
    caplog.set_level(logging.INFO, logger="flyte.workflows.distributed.cluster")
    with dask_client(tmp_path) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        assert [w["nthreads"] for w in workers] == [1] * local_cluster_size(config.DASK_DRIVER)[0]
    assert "starting a LocalCluster" in caplog.text and "using the LocalCluster" in caplog.text


def test_with_an_address_the_plugins_scheduler_is_used(tmp_path, monkeypatch, caplog, plugin_cluster):
    monkeypatch.setenv(dask_cluster.SCHEDULER_ENV, plugin_cluster.scheduler_address)
    caplog.set_level(logging.INFO, logger="flyte.workflows.distributed.cluster")
    with dask_client(tmp_path) as client:
        assert client.scheduler.address == plugin_cluster.scheduler_address
    assert f"using the plugin's cluster at {plugin_cluster.scheduler_address} with 2 workers" in caplog.text
    assert "LocalCluster" not in caplog.text


def test_too_few_workers_is_a_clear_error(tmp_path, monkeypatch, plugin_cluster):
    monkeypatch.setenv(dask_cluster.SCHEDULER_ENV, plugin_cluster.scheduler_address)
    monkeypatch.setattr(config, "DASK_WORKERS", 3)
    monkeypatch.setattr(config, "DASK_WORKER_WAIT_TIMEOUT_S", 1)
    with pytest.raises(NotEnoughWorkers, match=r"2 of 3 workers joined"):
        with dask_client(tmp_path):
            pass
