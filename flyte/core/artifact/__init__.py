"""What a model directory holds: the booster, its schema, manifest, provenance and drift reference."""
