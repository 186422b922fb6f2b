"""The batch prediction workflow: fetch a model, check rows, predict, score and report drift."""
