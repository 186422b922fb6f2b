"""Hyperparameter search: the seeded trials, cross-validation and the trials report."""
