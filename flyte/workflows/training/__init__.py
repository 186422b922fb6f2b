"""The training workflow: ingest, split, fit, predict, score and publish tasks, the workflow and launch plans."""
