"""The Dask workflows: the cluster, the distributed fit and batch prediction."""
