"""The model registry: named entries, versions written once, and an atomic champion pointer."""
