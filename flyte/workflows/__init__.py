"""Flyte entities: tasks, workflows and launch plans wrapping the pure core in flyte.core."""
