"""Training: the hyperparameters, the single-process fit and the Dask fit."""
