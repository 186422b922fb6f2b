"""Hyperparameter search: the typed search space, its reproducible quasi-random trials, and the best trial."""

# Why a shifted Halton sequence and not Latin hypercube: an LHS of n points stratifies each axis into n bins, so
# asking for 30 trials instead of 20 moves every one of the first 20. Here trial i depends only on (space, seed,
# i), which is what lets a re-run with more trials find the finished ones in the cache. Halton points fill the
# cube evenly as a sequence (each prefix is low-discrepancy); one seeded random shift per axis (a Cranley-Patterson
# rotation) makes the design depend on the seed. scipy.stats.qmc would offer scrambled Sobol, but scipy is only a
# transitive dependency here (through scikit-learn), and six dimensions need nothing more than this.

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from flyte.core.common.errors import DataValidationError
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.common.validation import check_raw, check_types, require, strict

#: The first primes: Halton's base for each dimension, in TUNABLE order.
PRIMES = (2, 3, 5, 7, 11, 13, 17, 19)


@strict
@dataclass
class Dimension:
    """Where one hyperparameter is searched: a range ``[low, high]`` or a list of ``choices``.

    low / high: the range's ends, inclusive; ``low == high`` fixes the value.
    log: sample the range evenly in log scale (for rates and penalties that matter by orders of magnitude).
    integer: the hyperparameter is a whole number (``max_depth``): the range's whole numbers are equally likely.
    choices: when not empty, the values to pick from (equally likely), and low/high/log are ignored.
    """

    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False
    choices: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_types(self)
        if self.choices:
            require(len(set(self.choices)) == len(self.choices), f"choices hold a value twice: {self.choices}")
            return
        require(math.isfinite(self.low) and math.isfinite(self.high), f"range ends must be finite, got {self.low}, {self.high}")
        require(self.low <= self.high, f"range low {self.low} is above high {self.high}")
        require(not self.log or self.low > 0, f"a log-scale range must start above 0, got low {self.low}")
        require(not self.integer or (self.low == int(self.low) and self.high == int(self.high)),
                f"an integer range needs whole-number ends, got {self.low}, {self.high}")  # fmt: skip

    def value(self, u: float) -> float:
        """The value at position ``u`` in [0, 1) of the dimension."""
        if self.choices:
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.integer:
            span = int(self.high) - int(self.low) + 1
            return float(int(self.low) + min(int(u * span), span - 1))
        if self.log:
            return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def bounds(self) -> tuple[float, float]:
        """The smallest and largest value the dimension can take."""
        return (min(self.choices), max(self.choices)) if self.choices else (self.low, self.high)


#: The hyperparameters a SearchSpace searches, in Halton-dimension order; every other one comes from the base.
TUNABLE = ("max_depth", "learning_rate", "min_child_weight", "subsample", "colsample_bytree", "reg_lambda")


@strict
@dataclass
class SearchSpace:
    """What to search, how many trials, and how they are scored.

    max_depth ... reg_lambda: where each tunable hyperparameter is searched (a Dimension each; the rest
        of the Hyperparameters, max_rounds and the seed among them, come from the base hyperparameters).
    trials: how many configurations to try. Trial i is the same for any ``trials`` > i, so raising it re-uses
        the finished trials from the cache.
    seed: seeds the design's shift and the cross-validation folds.
    folds: k of the stratified k-fold cross-validation (at least 3: one fold is scored, one stops early).
    include_base: trial 0 is the base hyperparameters themselves, so the search can only pick something that
        scored better than them in cross-validation.
    """

    max_depth: Dimension = field(default_factory=lambda: Dimension(low=2, high=8, integer=True))
    learning_rate: Dimension = field(default_factory=lambda: Dimension(low=0.01, high=0.3, log=True))
    min_child_weight: Dimension = field(default_factory=lambda: Dimension(low=0.5, high=20.0, log=True))
    subsample: Dimension = field(default_factory=lambda: Dimension(low=0.5, high=1.0))
    colsample_bytree: Dimension = field(default_factory=lambda: Dimension(low=0.5, high=1.0))
    reg_lambda: Dimension = field(default_factory=lambda: Dimension(low=0.1, high=20.0, log=True))
    trials: int = 20
    seed: int = 7
    folds: int = 5
    include_base: bool = True

    def __post_init__(self) -> None:
        for name in TUNABLE:  # a nested object arrives as a dict from JSON: check it as strictly as the rest
            raw = getattr(self, name)
            if isinstance(raw, dict):
                check_raw(Dimension, raw)
                setattr(self, name, Dimension(**raw))
            elif not isinstance(raw, Dimension):
                raise DataValidationError(f"SearchSpace.{name} must be an object (a Dimension), got {raw!r}")
        check_types(self)
        require(1 <= self.trials <= 10_000, f"trials must be between 1 and 10000, got {self.trials}")
        require(self.seed >= 0, f"seed must be 0 or more, got {self.seed}")
        require(3 <= self.folds <= 20, f"folds must be between 3 and 20, got {self.folds}")
        require(self.max_depth.integer or all(c == int(c) for c in self.max_depth.choices) and self.max_depth.choices,
                "max_depth is a whole number: give it integer=true or whole-number choices")  # fmt: skip
        for name in TUNABLE:  # every value the space can produce must be a valid Hyperparameters value
            for end in getattr(self, name).bounds():
                try:
                    Hyperparameters(**{name: int(end) if name == "max_depth" else float(end)})
                except DataValidationError as exc:
                    raise DataValidationError(f"SearchSpace.{name}: {exc}") from None


@dataclass
class Trial:
    """One configuration to cross-validate: its place in the design and its full hyperparameters."""

    index: int = 0
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)


@dataclass
class CrossValidation:
    """How trials are scored: ``folds`` stratified folds, assigned with ``seed``."""

    folds: int = 5
    seed: int = 7


def design_point(index: int, dimensions: int, seed: int) -> np.ndarray:
    """The ``index``-th point (0-based) of the seeded shifted Halton sequence in [0, 1)^dimensions.

    Depends only on (index, dimensions, seed). The sequence starts at Halton's point 1 (point 0 is the origin).
    """
    if dimensions > len(PRIMES):
        raise ValueError(f"at most {len(PRIMES)} dimensions, got {dimensions}")
    shift = np.random.default_rng(seed).random(len(PRIMES))[:dimensions]
    point = np.array([_radical_inverse(index + 1, p) for p in PRIMES[:dimensions]])
    return (point + shift) % 1.0


def _radical_inverse(n: int, base: int) -> float:
    """``n``'s digits in ``base`` mirrored about the radix point: 1 -> 0.5, 2 -> 0.25, 3 -> 0.75 in base 2."""
    result, scale = 0.0, 1.0 / base
    while n:
        n, digit = divmod(n, base)
        result += digit * scale
        scale /= base
    return result


def trial_config(space: SearchSpace, base: Hyperparameters, index: int) -> Trial:
    """Trial ``index`` of the search: a function of (space without ``trials``, base, index) only."""
    if space.include_base and index == 0:
        return Trial(index=0, hyperparameters=dataclasses.replace(base))
    u = design_point(index, len(TUNABLE), space.seed)
    values = {}
    for name, position in zip(TUNABLE, u):
        value = getattr(space, name).value(float(position))
        values[name] = int(value) if name == "max_depth" else float(value)
    return Trial(index=index, hyperparameters=dataclasses.replace(base, **values))


def sample_trials(space: SearchSpace, base: Hyperparameters) -> list[Trial]:
    """Every trial of the search, in index order."""
    return [trial_config(space, base, i) for i in range(space.trials)]


@dataclass
class TrialResult:
    """One trial's cross-validation scores (one value per fold; lower is better).

    metric: what mean_log_loss, std_log_loss and fold_log_loss measure: ``logloss`` / ``mlogloss`` (in nats) for a
        classifier; for a regression, the objective's own metric (``rmse`` for squared error, ``mae``, ``mphe``,
        ``poisson-nloglik``, ``tweedie-nloglik@p``), the one its early stopping watches.
    fold_accuracy / fold_roc_auc: a classifier's; fold_r2: a regression's R² per fold.
    rounds: the boosting rounds each fold's early-stopped fit kept.
    """

    index: int = 0
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    mean_log_loss: float = 0.0
    std_log_loss: float = 0.0
    fold_log_loss: list[float] = field(default_factory=list)
    fold_accuracy: list[float] = field(default_factory=list)
    fold_roc_auc: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)
    metric: str = "logloss"
    fold_r2: list[float] = field(default_factory=list)


def best_trial(results: list[TrialResult]) -> TrialResult:
    """The trial with the lowest mean CV log loss; a tie goes to the lower index (the earlier design point).

    A NaN score is refused rather than ranked: it would silently lose (or win) every comparison.
    """
    if not results:
        raise DataValidationError("no trial results to choose from")
    indices = [r.index for r in results]
    if len(set(indices)) != len(indices):
        raise DataValidationError(f"trial indices repeat: {sorted(indices)}")
    bad = [r.index for r in results if not math.isfinite(r.mean_log_loss)]
    if bad:
        raise DataValidationError(f"trial(s) {bad} have no finite cross-validation log loss")
    return min(results, key=lambda r: (r.mean_log_loss, r.index))
