"""Prediction and scoring: metrics, streamed scores, intervals, calibration and the HTML report."""
