"""XGBoost settings for the fit stage, importable without loading XGBoost itself."""

from __future__ import annotations

from dataclasses import dataclass

from flyte.core.validation import check_types, require, strict

#: Values of Hyperparameters.external_memory.
EXTERNAL_MEMORY_CHOICES = ("auto", "never", "always")


@strict
@dataclass
class Hyperparameters:
    """XGBoost settings; defaults suit small and medium tables.

    max_rounds: upper bound on boosting rounds; early stopping usually ends sooner.
    early_stopping_rounds: stop after this many rounds without a better validation log loss.
    learning_rate: shrinkage applied to each tree (XGBoost's eta).
    max_depth: deepest a tree may grow.
    min_child_weight: least hessian weight a leaf may hold; larger is more conservative.
    subsample / colsample_bytree: fraction of rows / columns sampled for each tree.
    reg_lambda / reg_alpha: L2 / L1 penalties on leaf weights.
    max_bin: histogram bins per feature; at most 256 keeps the training matrix at one byte per cell.
    seed: seeds XGBoost's row and column sampling, so a fit is repeatable.
    external_memory: where the quantised training matrix lives. ``never``: in memory. ``always``: in
        pages on the task's local disk (XGBoost's ExtMemQuantileDMatrix), for tables larger than the
        pod's memory. ``auto``: on disk only when the in-memory estimate would pass half the memory
        the task may use.
    """

    max_rounds: int = 500
    early_stopping_rounds: int = 50
    learning_rate: float = 0.05
    max_depth: int = 2
    min_child_weight: float = 1.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    reg_alpha: float = 0.0
    max_bin: int = 256
    seed: int = 7
    external_memory: str = "auto"

    def __post_init__(self) -> None:
        check_types(self)
        require(self.max_rounds >= 1 and self.early_stopping_rounds >= 1,
                "max_rounds and early_stopping_rounds must be at least 1")  # fmt: skip
        require(self.learning_rate > 0, f"learning_rate must be above 0, got {self.learning_rate}")
        require(self.max_depth >= 0, f"max_depth must be 0 (no limit) or more, got {self.max_depth}")
        require(self.min_child_weight >= 0, f"min_child_weight must be 0 or more, got {self.min_child_weight}")
        for name in ("subsample", "colsample_bytree"):
            value = getattr(self, name)
            require(0 < value <= 1, f"{name} must be in (0, 1], got {value}")
        require(self.reg_lambda >= 0 and self.reg_alpha >= 0, "reg_lambda and reg_alpha must be 0 or more")
        require(2 <= self.max_bin <= 256, f"max_bin must be between 2 and 256, got {self.max_bin}")
        require(self.seed >= 0, f"seed must be 0 or more, got {self.seed}")
        require(self.external_memory in EXTERNAL_MEMORY_CHOICES,
                f"external_memory must be one of {EXTERNAL_MEMORY_CHOICES}, got {self.external_memory!r}")  # fmt: skip
