"""Readers for each input format: CSV (with its compression and text rules) and Parquet."""
