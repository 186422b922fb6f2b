"""Tests mirror the source tree: tests/core for flyte/core, tests/workflows for flyte/workflows."""
