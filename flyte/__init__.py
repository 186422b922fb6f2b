"""Tabular data to a scored XGBoost model, as Flyte tasks over a pure-Python core."""
