"""XGBoost settings for the fit stage, importable without loading XGBoost itself."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from flyte.core.common.validation import check_types, require, strict
from flyte.core.data.target import REGRESSION_OBJECTIVES

#: Objectives that need a target of 0 or more (their log link predicts a mean above 0).
NON_NEGATIVE_OBJECTIVES = ("poisson", "tweedie")
#: Hyperparameters.objective's value for the problem type's own default (squared error; log loss for classes).
DEFAULT_OBJECTIVE = "default"

#: Values of Hyperparameters.external_memory.
EXTERNAL_MEMORY_CHOICES = ("auto", "never", "always")

#: The most boosting rounds a fit may run. At the documented 10M-row maximum a round takes about 0.15 s, so
#: 10,000 rounds stay inside the fit task's timeout; a larger bound is a typo (1e9), not a setting.
MAX_ROUNDS_LIMIT = 10_000
#: The deepest tree: a depthwise tree holds up to 2**depth leaves, so past this a fit's memory and time explode.
MAX_DEPTH_LIMIT = 16
#: The largest shrinkage: above 1 every tree overshoots, and the fit diverges rather than learns.
MAX_LEARNING_RATE = 1.0
#: max_depth's and colsample_bytree's "the problem type's default" (see Hyperparameters).
PROBLEM_DEFAULT_DEPTH = -1
PROBLEM_DEFAULT_COLSAMPLE = 0.0
#: The largest seed XGBoost keeps exactly (an unsigned 32-bit integer).
MAX_SEED = 2**32 - 1


@strict
@dataclass
class Hyperparameters:
    """XGBoost settings. The defaults are the classification defaults, chosen on `make bench-defaults`.

    Why these values: on the benchmark suite (scikit-learn's bundled breast cancer, wine, iris and digits, and
    seeded synthetic tables: imbalanced five-class, integer-coded and text categoricals, 20% missing values, 300
    columns, Hastie's chi-square boundary, a checkerboard), trees 6 deep with shrinkage 0.05 and up to 2,000
    early-stopped rounds come within 0.01 ROC AUC of scikit-learn's HistGradientBoostingClassifier defaults on every
    dataset. Depth-2 trees, the earlier default, fell 0.05 behind on the imbalanced five-class table and 0.26 on the
    checkerboard: a shallow tree cannot express an interaction of more than two features, however many rounds it
    gets. min_child_weight 3 keeps deep trees from fitting a handful of rows, which holds the bundled Pima data's
    test figures where depth 2 had them. Regression's defaults differ: see REGRESSION_DEFAULTS.

    max_rounds: upper bound on boosting rounds (1 to MAX_ROUNDS_LIMIT, 10,000); early stopping usually ends sooner.
    early_stopping_rounds: stop after this many rounds without a better validation log loss (at most 10,000).
    learning_rate: shrinkage applied to each tree (XGBoost's eta), in (0, 1].
    max_depth: deepest a tree may grow (0 for no limit, else at most MAX_DEPTH_LIMIT, 16); -1 (the default) takes
        the problem type's default: 6 for classification, 3 for regression (CLASSIFICATION_DEFAULTS,
        REGRESSION_DEFAULTS).
    min_child_weight: least hessian weight a leaf may hold; larger is more conservative.
    subsample / colsample_bytree: fraction of rows / columns sampled for each tree; colsample_bytree 0 (the
        default) takes the problem type's default: 0.8 for classification, 1.0 (every column) for regression.
    reg_lambda / reg_alpha: L2 / L1 penalties on leaf weights.
    max_bin: histogram bins per feature; at most 256 keeps the training matrix at one byte per cell.
    seed: seeds XGBoost's row and column sampling, so a fit is repeatable (0 to 2**32 - 1).
    objective: the loss a regression fits: ``default`` (squared error for regression; log loss for classification,
        the only loss a classifier takes) or one of REGRESSION_OBJECTIVES: ``squared_error``, ``absolute_error``,
        ``pseudo_huber``, ``poisson``, ``tweedie``. Early stopping watches the matching validation metric (rmse, mae,
        mphe, poisson-nloglik, tweedie-nloglik); Poisson and Tweedie need every target 0 or more.
    huber_slope: pseudo-Huber's delta, in the target's units: errors beyond it count about linearly. 0 (the
        default) takes the target's standard deviation: a delta far below the errors leaves every hessian near 0,
        so no leaf reaches min_child_weight and the fit never splits.
    tweedie_variance_power: Tweedie's variance power, in (1, 2): near 1 Poisson-like, near 2 gamma-like.
    external_memory: where the quantised training matrix lives. ``never``: in memory. ``always``: in
        pages on the task's local disk (XGBoost's ExtMemQuantileDMatrix), for tables larger than the
        pod's memory. ``auto``: on disk only when the in-memory estimate would pass half the memory
        the task may use.
    """

    max_rounds: int = 2000
    early_stopping_rounds: int = 100
    learning_rate: float = 0.05
    max_depth: int = PROBLEM_DEFAULT_DEPTH
    min_child_weight: float = 3.0
    subsample: float = 0.8
    colsample_bytree: float = PROBLEM_DEFAULT_COLSAMPLE
    reg_lambda: float = 1.0
    reg_alpha: float = 0.0
    max_bin: int = 256
    seed: int = 7
    external_memory: str = "auto"
    objective: str = DEFAULT_OBJECTIVE
    huber_slope: float = 0.0
    tweedie_variance_power: float = 1.5

    def __post_init__(self) -> None:
        check_types(self)
        require(self.max_rounds >= 1 and self.early_stopping_rounds >= 1,
                "max_rounds and early_stopping_rounds must be at least 1")  # fmt: skip
        require(self.max_rounds <= MAX_ROUNDS_LIMIT, f"max_rounds must be at most {MAX_ROUNDS_LIMIT}, got {self.max_rounds}")
        require(self.early_stopping_rounds <= MAX_ROUNDS_LIMIT,
                f"early_stopping_rounds must be at most {MAX_ROUNDS_LIMIT}, got {self.early_stopping_rounds}")  # fmt: skip
        for name in ("learning_rate", "min_child_weight", "subsample", "colsample_bytree", "reg_lambda", "reg_alpha"):
            value = getattr(self, name)
            require(math.isfinite(value), f"{name} must be a finite number, got {value}")
        require(0 < self.learning_rate <= MAX_LEARNING_RATE,
                f"learning_rate must be above 0 and at most {MAX_LEARNING_RATE:g}, got {self.learning_rate}")  # fmt: skip
        require(self.max_depth == PROBLEM_DEFAULT_DEPTH or 0 <= self.max_depth <= MAX_DEPTH_LIMIT,
                f"max_depth must be 0 (no limit) to {MAX_DEPTH_LIMIT}, or -1 for the problem type's default, got {self.max_depth}")  # fmt: skip
        require(self.min_child_weight >= 0, f"min_child_weight must be 0 or more, got {self.min_child_weight}")
        require(0 < self.subsample <= 1, f"subsample must be in (0, 1], got {self.subsample}")
        require(self.colsample_bytree == PROBLEM_DEFAULT_COLSAMPLE or 0 < self.colsample_bytree <= 1,
                f"colsample_bytree must be in (0, 1], or 0 for the problem type's default, got {self.colsample_bytree}")  # fmt: skip
        require(self.reg_lambda >= 0 and self.reg_alpha >= 0, "reg_lambda and reg_alpha must be 0 or more")
        require(2 <= self.max_bin <= 256, f"max_bin must be between 2 and 256, got {self.max_bin}")
        require(0 <= self.seed <= MAX_SEED, f"seed must be 0 to {MAX_SEED}, got {self.seed}")
        choices = (DEFAULT_OBJECTIVE, *REGRESSION_OBJECTIVES)
        require(self.objective in choices, f"objective must be one of {list(choices)}, got {self.objective!r}")
        require(math.isfinite(self.huber_slope) and self.huber_slope >= 0,
                f"huber_slope must be 0 (the target's standard deviation) or more, got {self.huber_slope}")  # fmt: skip
        require(1 < self.tweedie_variance_power < 2,
                f"tweedie_variance_power must be between 1 and 2 exclusive, got {self.tweedie_variance_power}")  # fmt: skip
        require(self.external_memory in EXTERNAL_MEMORY_CHOICES,
                f"external_memory must be one of {EXTERNAL_MEMORY_CHOICES}, got {self.external_memory!r}")  # fmt: skip


#: The defaults for a regression fit (reg:squarederror), as overrides of Hyperparameters' classification defaults.
#: Chosen on the regression half of `make bench-defaults` (scikit-learn's diabetes data, Friedman's three functions,
#: a 30-column linear table, integer-coded and text categoricals with 10% missing values): trees 3 deep with every
#: column in every tree reach HistGradientBoostingRegressor's test RMSE or lower on each (ratio 0.73 to 0.995).
#: The classification settings fall behind here (1.64x HGB's RMSE on Friedman's second function; depth 6 with every
#: column, up to 1.16x): deeper trees fit the noise of smooth targets, and sampling columns drops one of a few vital
#: inputs from some trees.
REGRESSION_DEFAULTS: dict = {"max_depth": 3, "colsample_bytree": 1.0}

#: The classification defaults of the settings whose default depends on the problem type.
CLASSIFICATION_DEFAULTS: dict = {"max_depth": 6, "colsample_bytree": 0.8}

#: Each problem type's values for the settings left at "the problem type's default" (-1 depth, 0 colsample).
PROBLEM_TYPE_DEFAULTS: dict[str, dict] = {"classification": CLASSIFICATION_DEFAULTS, "regression": REGRESSION_DEFAULTS}


def resolved(params: Hyperparameters, problem_type: str) -> Hyperparameters:
    """``params`` with every setting left at "the problem type's default" given ``problem_type``'s value; what a
    fit trains with and a manifest records, so a retrain from the manifest needs no problem-type rule."""
    require(problem_type in PROBLEM_TYPE_DEFAULTS,
            f"problem_type must be one of {sorted(PROBLEM_TYPE_DEFAULTS)}, got {problem_type!r}")  # fmt: skip
    unset = {"max_depth": PROBLEM_DEFAULT_DEPTH, "colsample_bytree": PROBLEM_DEFAULT_COLSAMPLE}
    values = {k: v for k, v in PROBLEM_TYPE_DEFAULTS[problem_type].items() if getattr(params, k) == unset[k]}
    return replace(params, **values) if values else params


def default_hyperparameters(problem_type: str = "classification") -> Hyperparameters:
    """The default Hyperparameters for ``problem_type`` (``classification`` or ``regression``), resolved."""
    return resolved(Hyperparameters(), problem_type)
def regression_objective(params: Hyperparameters) -> str:
    """The regression objective's name (``squared_error`` for ``default``)."""
    return "squared_error" if params.objective == DEFAULT_OBJECTIVE else params.objective


def objective_settings(params: Hyperparameters, regression: bool, n_classes: int = 2, target_std: float = 1.0) -> dict:
    """XGBoost's objective, eval_metric (what early stopping watches) and their parameters, for this problem.

    Refuses a regression objective for a classifier: a class target takes log loss only. ``target_std``: the
    training target's standard deviation, pseudo-Huber's delta when huber_slope is 0."""
    if not regression:
        require(params.objective == DEFAULT_OBJECTIVE,
                f"objective {params.objective!r} is for regression; a classification target is fitted on log loss "
                "(leave objective at 'default', or set the dataset's problem_type to 'regression')")  # fmt: skip
        if n_classes == 2:
            return {"objective": "binary:logistic", "eval_metric": "logloss"}
        return {"objective": "multi:softprob", "eval_metric": "mlogloss", "num_class": n_classes}
    name = regression_objective(params)
    objective, metric = REGRESSION_OBJECTIVES[name]
    out = {"objective": objective, "eval_metric": metric or f"tweedie-nloglik@{params.tweedie_variance_power}"}
    if name == "pseudo_huber":
        out["huber_slope"] = params.huber_slope or (target_std if target_std > 0 else 1.0)
    if name == "tweedie":
        out["tweedie_variance_power"] = params.tweedie_variance_power
    return out
