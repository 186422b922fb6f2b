"""The gate through its tasks on the bundled Pima data: refuse a worse model, promote a better one, cache on the champion."""

from __future__ import annotations

from unittest import mock

import pytest

from flyte.core.gate import gate
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.data.dataset import pima_spec
from flyte.core.registry.registry import Registry
from flyte.core.registry.names import derive_model_name, entry_location
from flyte.workflows.gate.tasks import GateCriteria
from flyte.workflows.training.pipeline import training_pipeline
from tests.data_factory import write_mixed_csv

#: One boosting round at a small learning rate: every probability stays near the base rate, so it predicts the
#: majority class for almost every row. A deliberately worse model, but one whose ROC AUC is not nothing.
WEAK = Hyperparameters(max_rounds=1, early_stopping_rounds=1, learning_rate=0.05)
#: Floors low enough that only the comparison with the champion can refuse the weak model.
NO_FLOORS = GateCriteria(min_accuracy=0.0, min_roc_auc=0.0, max_log_loss=10.0)


#: The model name a run on the bundled Pima data promotes under when none is given.
PIMA = derive_model_name(pima_spec().source)


def run(registry, hyperparameters=Hyperparameters(), gate_criteria=GateCriteria(), model_name=""):
    return training_pipeline(registry=registry, hyperparameters=hyperparameters, gate=gate_criteria, model_name=model_name)


def pima(location: str, name: str = PIMA) -> Registry:
    """The registry entry of the Pima runs."""
    return Registry(entry_location(location, name))


def test_the_floors_refuse_a_weak_first_model(tmp_path):
    out = run(str(tmp_path / "r"), WEAK)
    assert not out.decision.promote and out.outcome.startswith("not promoted: no champion yet: the floors alone decide; accuracy")
    assert any(r.startswith("accuracy") and "fails the floor" in r for r in out.decision.reasons)
    assert pima(str(tmp_path / "r")).versions() == []  # the keep branch ran: nothing written


def test_a_worse_challenger_is_refused_and_the_champion_kept(tmp_path):
    location = str(tmp_path / "r")
    champion = run(location)
    assert champion.decision.promote and champion.decision.promoted_version
    worse = run(location, WEAK, NO_FLOORS)
    c = worse.decision.comparison
    # Same data, same split rule: every test row of the challenger is one the champion never saw.
    assert not worse.decision.promote and c.compared and c.rows == c.test_rows == 259 and c.seen_rows == 0
    assert c.champion_only > c.challenger_only and c.mcnemar_p < 0.05
    assert any("significantly worse" in r for r in worse.decision.reasons)
    registry = pima(location)
    assert registry.versions() == [champion.decision.promoted_version]
    assert registry.champion().version == champion.decision.promoted_version
    # The outcome line, a string output of the workflow, says what happened and why.
    assert champion.outcome.startswith(f"promoted: {champion.decision.promoted_version} is the champion: ")
    assert worse.outcome.startswith(f"kept the champion {champion.decision.promoted_version}: significantly worse")


def test_a_better_challenger_is_promoted_and_every_version_kept(tmp_path):
    location = str(tmp_path / "r")
    weak = run(location, WEAK, NO_FLOORS)  # no champion: the (absent) floors alone decide
    assert weak.decision.promote
    better = run(location, gate_criteria=GateCriteria(require_better=True))
    c = better.decision.comparison
    assert better.decision.promote, better.decision.reasons
    assert c.challenger_only > c.champion_only and c.mcnemar_p < 0.05 and c.accuracy_ci_low > 0
    assert better.decision.champion_version == weak.decision.promoted_version
    registry = pima(location)
    assert registry.versions() == sorted([weak.decision.promoted_version, better.decision.promoted_version])
    assert registry.champion().version == better.decision.promoted_version


def test_an_incompatible_champion_is_a_reason_not_a_crash(tmp_path, mixed_csv):
    """Two datasets promoted under one name given by hand: the second cannot be compared with the first's champion."""
    location = str(tmp_path / "r")
    _, spec = mixed_csv
    assert training_pipeline(registry=location, dataset=spec, model_name="shared").decision.promote  # another target
    refused = run(location, model_name="shared")
    assert not refused.decision.promote
    assert "cannot be compared on these test rows: the champion predicts 'label', the challenger 'class'" in refused.decision.reasons[0]
    replaced = run(location, gate_criteria=GateCriteria(replace_incompatible=True), model_name="shared")
    assert replaced.decision.promote and len(pima(location, "shared").versions()) == 2


def test_a_second_dataset_promotes_under_its_own_name(tmp_path):
    """After the Pima run, a model of another file is judged against its own name's champion (none), not Pima's."""
    location = str(tmp_path / "r")
    first = run(location)
    assert first.decision.promote and first.decision.model_name == PIMA
    path = tmp_path / "churned.csv"
    spec = write_mixed_csv(path)
    second = training_pipeline(registry=location, dataset=spec)
    assert second.decision.model_name == "churned"
    assert second.decision.promote and second.decision.champion == "", second.decision.reasons
    assert pima(location).champion().version == first.decision.promoted_version  # Pima's champion untouched
    assert pima(location, "churned").champion().version == second.decision.promoted_version


def test_judge_is_cached_per_champion(tmp_path):
    """Same inputs, new champion: judge runs again; same inputs, same champion: served from the cache."""
    location = str(tmp_path / "r")
    with mock.patch("flyte.core.gate.gate.judge", wraps=gate.judge) as spy:
        first = run(location)
        assert spy.call_count == 1 and first.decision.promote
        second = run(location)  # the champion is now this very model
        assert spy.call_count == 2
        assert not second.decision.promote and "already the champion" in second.decision.reasons[0]
        run(location)
        assert spy.call_count == 2
    assert len(pima(location).versions()) == 1


def test_gate_criteria_are_strict():
    from flyte.core.common.errors import DataValidationError

    with pytest.raises(DataValidationError, match="unknown key 'min_acuracy'; did you mean 'min_accuracy'"):
        GateCriteria.from_json('{"min_acuracy": 0.8}')
    assert GateCriteria.from_json('{"min_accuracy": 0.8}') == GateCriteria(min_accuracy=0.8)


def test_a_promotion_whose_champion_moved_fails_in_one_line_and_is_not_retried(tmp_path):
    """The judged-against champion was replaced before promote ran: promote refuses (never reverting the new one),
    and the project's command line prints it as one actionable line."""
    from datetime import datetime, timezone

    from flyte import cli
    from flyte.core.data.dataset import PIMA_MODEL, local_path
    from flyte.core.gate.gate import GateDecision
    from flyte.core.registry.registry import ChampionMoved
    from flyte.workflows.gate.tasks import promote

    location = str(tmp_path / "r")
    newer = pima(location).promote(local_path(PIMA_MODEL), ["meanwhile"], datetime(2026, 1, 1, tzinfo=timezone.utc), "")
    decision = GateDecision(promote=True, reasons=["judged against none"], champion="", model_name=PIMA)
    with pytest.raises(Exception) as caught:
        promote(model=str(local_path(PIMA_MODEL)), registry=location, decision=decision)
    assert any(isinstance(e, ChampionMoved) for e in cli.causes(caught.value))  # a user error: flytekit retries none
    problem = cli.describe(caught.value)
    assert "\n" not in problem.message and f"the champion is {newer.identity}" in problem.message
    assert pima(location).champion() == newer
