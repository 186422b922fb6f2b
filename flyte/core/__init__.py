"""The pipeline's data and ML logic: plain Python, pandas and XGBoost; never imports flytekit."""
