"""Intervals and curves on a test set: bootstrap and analytic intervals, calibration, per-class metrics."""
