"""The gate on a test table larger than judge_rows: floors on every row streamed, the champion met on a seeded sample."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.data.split import SplitParams
from flyte.core.evaluation.scored import read_scored, read_scored_rows, sample_mask
from flyte.core.gate.gate import GateRules, judge
from flyte.core.registry.registry import Registry
from tests.core.gate.test_gate_unseen import NOW, RULES, table, trained, worse

#: Of the challenger's ~3,300 test rows, the sample the bounded judge compares on.
SAMPLE = 1_500


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A champion on the first 7k rows and its retrain on all 10k, as the nightly run meets them."""
    tmp = tmp_path_factory.mktemp("bounded")
    df = table(10_000)
    registry = Registry(str(tmp / "registry"))
    champion, _, _ = trained(tmp / "champion", df.iloc[:7_000], SplitParams())
    registry.promote(champion, ["first"], NOW, expected_champion="")
    challenger, parts, metrics = trained(tmp / "challenger", df, SplitParams())
    args = (challenger, parts["test"], tmp / "challenger" / "predictions", metrics, str(registry.location),
            registry.champion_identity())  # fmt: skip
    return tmp, args


def run(pair, rules: GateRules = RULES, judge_rows: int = 0, metrics=None, scratch: str = "scratch"):
    tmp, (model, test, predictions, given, registry, champion) = pair
    return judge(model, test, predictions, metrics or given, registry, champion, rules, tmp / scratch,
                 judge_rows=judge_rows).decision  # fmt: skip


def test_a_sampled_judge_reaches_the_in_memory_verdict_with_the_same_floors(pair):
    full, sampled = run(pair), run(pair, judge_rows=SAMPLE, scratch="sampled")
    assert full.comparison.compared and sampled.comparison.compared
    assert sampled.promote == full.promote and not any(worse(r) for r in sampled.reasons), sampled.reasons
    # The comparison ran on the sample's unseen rows only; the floors on every test row.
    assert full.comparison.test_rows > 2 * SAMPLE
    assert 0.8 * SAMPLE < sampled.comparison.test_rows < 1.2 * SAMPLE
    assert sampled.comparison.rows < full.comparison.rows
    by_name = {f.metric: f for f in full.floors}
    assert len(sampled.floors) == len(full.floors) == 3
    for floor in sampled.floors:  # accuracy and log loss exactly; ROC AUC from histograms, within their bound
        assert floor.value == pytest.approx(by_name[floor.metric].value, abs=1e-3), floor
    assert any(r.startswith("judged in bounded memory") and f"judge_rows={SAMPLE}" in r for r in sampled.reasons)
    assert not any("bounded memory" in r for r in full.reasons)


def test_the_sample_is_the_same_every_time_and_follows_the_seed(pair):
    first, again = run(pair, judge_rows=SAMPLE, scratch="a"), run(pair, judge_rows=SAMPLE, scratch="b")
    assert dataclasses.asdict(first.comparison) == dataclasses.asdict(again.comparison)
    other = run(pair, dataclasses.replace(RULES, bootstrap_seed=8), judge_rows=SAMPLE, scratch="c")
    assert other.comparison.test_rows != first.comparison.test_rows or other.comparison.rows != first.comparison.rows


def test_metrics_of_other_rows_are_still_refused_on_the_streamed_path(pair):
    _, (_, _, _, given, _, _) = pair
    wrong = dataclasses.replace(given, confusion_matrix=[[given.confusion_matrix[0][0] + 1, given.confusion_matrix[0][1]],
                                                         given.confusion_matrix[1]])  # fmt: skip
    with pytest.raises(DataValidationError, match="are not those of the test rows"):
        run(pair, judge_rows=SAMPLE, metrics=wrong, scratch="wrong")


def test_a_sample_with_too_few_unseen_rows_leaves_the_floors_to_decide_and_says_so(pair):
    """Enough unseen rows in the whole test table, too few of them in the sample: the floors decide."""
    assert run(pair, dataclasses.replace(RULES, min_unseen_rows=1000), scratch="enough").comparison.compared
    decision = run(pair, dataclasses.replace(RULES, min_unseen_rows=1000), judge_rows=300, scratch="few")
    assert decision.floors_only and not decision.comparison.compared
    assert any("in the judged sample" in r and "min_unseen_rows=1000" in r for r in decision.reasons), decision.reasons


def test_the_sampled_rows_are_read_as_the_whole_table_reads_them(pair):
    _, (model, test, predictions, given, _, _) = pair
    texts, kind = [str(t) for t in given.labels], "int"
    y, proba = read_scored(test, predictions, "y", texts, kind)
    keep = sample_mask(len(y), 500, seed=3)
    ys, probas = read_scored_rows(test, predictions, "y", texts, kind, keep)
    np.testing.assert_array_equal(ys, y[keep])
    np.testing.assert_array_equal(probas, proba[keep])


def test_the_sample_mask_is_seeded_near_its_size_and_whole_when_the_table_is_smaller():
    keep = sample_mask(3_000_000, 100_000, seed=7)
    assert keep.dtype == bool and abs(int(keep.sum()) - 100_000) < 1_500
    np.testing.assert_array_equal(keep, sample_mask(3_000_000, 100_000, seed=7))
    assert not np.array_equal(keep, sample_mask(3_000_000, 100_000, seed=8))
    assert sample_mask(50, 100, seed=7).all()
