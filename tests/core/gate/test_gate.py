"""The gate's floors and decision rules, on hand-made figures (the statistics themselves: test_gate_stats.py)."""

from __future__ import annotations

import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.gate.gate import Comparison, GateDecision, GateRules, check_floors, decide
from flyte.core.gate.gate_report import render_gate
from flyte.core.gate.gate_stats import mcnemar_p
from flyte.core.evaluation.score import Metrics

RULES = dict(min_accuracy=0.7, min_roc_auc=0.75, max_log_loss=0.6, alpha=0.05, bootstrap_replicates=1000,
             bootstrap_seed=7, require_better=False, replace_incompatible=False, min_unseen_rows=100)  # fmt: skip


def rules(**changes) -> GateRules:
    return GateRules(**{**RULES, **changes})


def comparison(b: int, c: int, auc_ci=(-0.01, 0.02)) -> Comparison:
    return Comparison(compared=True, rows=100, challenger_only=b, champion_only=c, mcnemar_p=mcnemar_p(b, c),
                      auc_ci_low=auc_ci[0], auc_ci_high=auc_ci[1], confidence=0.95)  # fmt: skip


def test_floors_each_checked():
    checks = check_floors(Metrics(accuracy=0.69, roc_auc=0.8, log_loss=0.61), rules())
    assert [(f.metric, f.passed) for f in checks] == [("accuracy", False), ("roc_auc", True), ("log_loss", False)]
    assert check_floors(Metrics(accuracy=0.7, roc_auc=0.75, log_loss=0.6), rules())[0].passed  # bounds are inclusive
    assert not check_floors(Metrics(accuracy=0.9, roc_auc=float("nan"), log_loss=0.1), rules())[1].passed


def test_no_champion_the_floors_decide():
    good = check_floors(Metrics(accuracy=0.8, roc_auc=0.85, log_loss=0.4), rules())
    assert decide(good, Comparison(), rules(), ["no champion yet"])[0]
    bad = check_floors(Metrics(accuracy=0.65, roc_auc=0.85, log_loss=0.4), rules())
    promote, reasons = decide(bad, Comparison(), rules(), [])
    assert not promote and reasons == ["accuracy 0.6500 fails the floor: must be at least 0.7000"]


def test_a_significantly_worse_challenger_is_refused_hand_checked():
    """b = 1, c = 9: p = 22/1024 = 0.0215 < 0.05 and the champion wins more rows: refused."""
    floors = check_floors(Metrics(accuracy=0.8, roc_auc=0.85, log_loss=0.4), rules())
    promote, reasons = decide(floors, comparison(1, 9), rules(), [])
    assert not promote
    assert any("significantly worse" in r and "p = 0.02148" in r for r in reasons)
    # At alpha = 0.01 the same table is not significant: the challenger is not significantly worse.
    assert decide(floors, comparison(1, 9), rules(alpha=0.01), [])[0]
    # The mirror image is a better challenger, promoted, and it satisfies require_better too.
    assert decide(floors, comparison(9, 1), rules(require_better=True), [])[0]


def test_the_auc_interval_entirely_below_zero_refuses():
    floors = check_floors(Metrics(accuracy=0.8, roc_auc=0.85, log_loss=0.4), rules())
    promote, reasons = decide(floors, comparison(5, 5, auc_ci=(-0.05, -0.001)), rules(), [])
    assert not promote and any("ROC AUC" in r and "significantly worse" in r for r in reasons)


def test_require_better_refuses_a_tie():
    floors = check_floors(Metrics(accuracy=0.8, roc_auc=0.85, log_loss=0.4), rules())
    assert decide(floors, comparison(5, 5), rules(), [])[0]
    promote, reasons = decide(floors, comparison(5, 5), rules(require_better=True), [])
    assert not promote and "require_better" in reasons[-1]


@pytest.mark.parametrize("change,message", [({"alpha": 0.7}, "alpha"), ({"min_accuracy": 1.5}, "min_accuracy"),
                                            ({"bootstrap_replicates": 10}, "bootstrap_replicates"),
                                            ({"require_better": "yes"}, "require_better")])  # fmt: skip
def test_bad_rules_are_refused(change, message):
    with pytest.raises(DataValidationError, match=message):
        rules(**change)


def test_the_page_escapes_everything_it_is_given():
    decision = GateDecision(promote=False, reasons=["<script>alert(1)</script>"], champion="v@x", champion_version="<b>v</b>")
    html = render_gate(decision, target="<img src=x>")
    assert "<script>alert" not in html and "<img src=x>" not in html and "<b>v</b>" not in html
    assert "&lt;script&gt;" in html and "Keep the champion" in html


def test_the_bootstrap_budget_caps_resamples_but_never_below_its_floor():
    from flyte.core.gate.comparison import MIN_CAPPED_REPLICATES, replicates_within

    assert replicates_within(rules(), rows=254, budget=0) == 1000
    assert replicates_within(rules(), rows=100_000, budget=200_000_000) == 1000
    assert replicates_within(rules(), rows=1_000_000, budget=200_000_000) == 200
    assert replicates_within(rules(), rows=10_000_000, budget=200_000_000) == MIN_CAPPED_REPLICATES


def test_a_large_test_set_is_compared_with_paired_normal_intervals_and_the_page_says_so():
    import numpy as np

    from flyte.core.gate.gate import compare

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 2000)
    p = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(scale=0.25, size=(2, 2000)), 0.01, 0.99)
    ours, theirs = (np.column_stack([1 - q, q]) for q in p)
    large = compare(y, ours, theirs, rules(), analytic_rows=2000)
    small = compare(y, ours, theirs, rules(), analytic_rows=2001)
    assert large.replicates == 0 and small.replicates == 1000
    assert large.accuracy_difference == small.accuracy_difference and large.mcnemar_p == small.mcnemar_p
    html = render_gate(GateDecision(True, ["ok"], comparison=large), target="y")
    assert "paired normal intervals" in html and "resamples" not in html
