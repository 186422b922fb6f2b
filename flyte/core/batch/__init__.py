"""Batch prediction: the model source, row checks, drift against the reference, and the batch report."""
