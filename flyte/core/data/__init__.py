"""From a raw file to a validated, profiled and split table: spec, sources, readers, ingest and split."""
