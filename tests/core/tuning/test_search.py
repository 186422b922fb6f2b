"""Tests for flyte.core.tuning.search: the strict space, reproducible prefix-stable trials, and the best trial."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.tuning.search import (
    TUNABLE, Dimension, SearchSpace, TrialResult, best_trial, design_point, sample_trials, trial_config,
)  # fmt: skip

BASE = Hyperparameters(max_rounds=80, seed=3)


def test_defaults_are_valid_and_every_sampled_value_is_inside_its_dimension():
    space = SearchSpace(trials=64)
    for trial in sample_trials(space, BASE)[1:]:
        hp = trial.hyperparameters
        for name in TUNABLE:
            low, high = getattr(space, name).bounds()
            assert low <= getattr(hp, name) <= high, (name, getattr(hp, name))
        assert isinstance(hp.max_depth, int)
        assert (hp.max_rounds, hp.seed) == (80, 3)  # untuned settings come from the base


def test_trial_zero_is_the_base_when_asked_and_a_design_point_otherwise():
    assert sample_trials(SearchSpace(trials=2), BASE)[0].hyperparameters == BASE
    other = sample_trials(SearchSpace(trials=2, include_base=False), BASE)[0].hyperparameters
    assert other != BASE


def test_more_trials_keep_the_first_ones_exactly():
    """Trial i depends only on (space, seed, i): what lets a larger re-run reuse the cached trials."""
    few = sample_trials(SearchSpace(trials=5), BASE)
    many = sample_trials(SearchSpace(trials=12), BASE)
    assert many[:5] == few
    assert [t.index for t in many] == list(range(12))
    assert len({json.dumps(t.hyperparameters.__dict__, sort_keys=True) for t in many}) == 12  # all distinct


def test_same_seed_same_trials_other_seed_other_trials():
    a = sample_trials(SearchSpace(trials=6, seed=1), BASE)
    assert a == sample_trials(SearchSpace(trials=6, seed=1), BASE)
    assert a[1:] != sample_trials(SearchSpace(trials=6, seed=2), BASE)[1:]


def test_design_fills_each_axis_evenly():
    """A low-discrepancy sequence: 64 points put 16 in each quarter of every axis, give or take a few."""
    points = np.array([design_point(i, len(TUNABLE), seed=5) for i in range(64)])
    for axis in points.T:
        counts = np.bincount((axis * 4).astype(int), minlength=4)
        assert counts.min() >= 12 and counts.max() <= 20, counts


def test_dimension_values_follow_log_integer_and_choices():
    assert Dimension(low=2, high=4, integer=True).value(0.0) == 2
    assert Dimension(low=2, high=4, integer=True).value(0.999) == 4
    assert Dimension(low=0.01, high=1.0, log=True).value(0.5) == pytest.approx(0.1)
    assert Dimension(choices=[3.0, 5.0]).value(0.7) == 5.0
    assert Dimension(low=0.5, high=0.5).value(0.9) == 0.5  # low == high fixes the value


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"low": 2.0, "high": 1.0}, "above high"),
        ({"low": 0.0, "high": 1.0, "log": True}, "above 0"),
        ({"low": 1.5, "high": 3.0, "integer": True}, "whole-number"),
        ({"low": 1.0, "high": float("inf")}, "finite"),
        ({"choices": [1.0, 1.0]}, "twice"),
    ],
)
def test_bad_dimensions_are_refused(kwargs, message):
    with pytest.raises(DataValidationError, match=message):
        Dimension(**kwargs)


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"trails": 5}', "did you mean 'trials'"),
        ('{"trials": "5"}', "whole number"),
        ('{"trials": 0}', "trials must be"),
        ('{"folds": 2}', "folds must be"),
        ('{"subsample": {"low": 0.5, "high": 1.5}}', r"SearchSpace.subsample: subsample must be in \(0, 1\]"),
        ('{"max_depth": {"low": 2, "high": 5}}', "max_depth is a whole number"),
        ('{"learning_rate": {"low": 0.01, "hihg": 0.3}}', "did you mean 'high'"),
        ('{"learning_rate": 0.1}', "must be an object"),
    ],
)
def test_bad_spaces_are_refused_from_json(text, message):
    with pytest.raises(DataValidationError, match=message):
        SearchSpace.from_json(text)


def test_a_space_from_json_holds_dimensions():
    space = SearchSpace.from_json('{"trials": 3, "max_depth": {"choices": [2, 4]}, "learning_rate": {"low": 0.1, "high": 0.1}}')
    assert space.max_depth == Dimension(choices=[2.0, 4.0])
    trial = trial_config(space, BASE, 1)
    assert trial.hyperparameters.max_depth in (2, 4) and trial.hyperparameters.learning_rate == 0.1


def result(index, loss):
    return TrialResult(index=index, mean_log_loss=loss, fold_log_loss=[loss])


def test_best_is_the_lowest_mean_log_loss_and_ties_go_to_the_lower_index():
    assert best_trial([result(0, 0.5), result(1, 0.4), result(2, 0.45)]).index == 1
    assert best_trial([result(3, 0.4), result(1, 0.4), result(2, 0.41)]).index == 1


@pytest.mark.parametrize(
    "results,message",
    [([], "no trial"), ([result(0, 0.5), result(0, 0.4)], "repeat"), ([result(0, float("nan")), result(1, 0.4)], "finite")],
)
def test_doubtful_results_are_refused_rather_than_ranked(results, message):
    with pytest.raises(DataValidationError, match=message):
        best_trial(results)
