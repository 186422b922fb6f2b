"""The tuning workflow: trials as a map task, the refit, and its launch plans."""
