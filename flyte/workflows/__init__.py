"""Flyte entities: tasks, workflows and launch plans wrapping the pure core in flyte.core."""

from flyte.workflows.shared.flytekit_compat import install as _install_memoized_literal_types

# Before any task module declares its interfaces: each dataclass's literal type is then built once per process.
_install_memoized_literal_types()
