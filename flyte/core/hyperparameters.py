"""XGBoost settings for the fit stage, importable without loading XGBoost itself."""

from __future__ import annotations

from dataclasses import dataclass

#: Values of Hyperparameters.external_memory.
EXTERNAL_MEMORY_CHOICES = ("auto", "never", "always")


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
