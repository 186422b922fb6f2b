"""Orchestration plumbing every workflow shares: artifacts, sources, cache versions, logging, notifications."""
