"""The settings that shape a stage's output are strict typed inputs: unknown keys, wrong types and bad values refused."""

from __future__ import annotations

import pytest

from flyte.core.artifact.drift import DriftSettings
from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.score_stream import ScoreSettings
from flyte.core.publishing.publish import CardSettings

CASES = [
    (CardSettings, '{"replicate": 200}', "replicate"),
    (CardSettings, '{"replicates": "200"}', "replicates"),
    (CardSettings, '{"replicates": 50, "min_replicates": 100}', "min_replicates"),
    (CardSettings, '{"level": 1.5}', "level"),
    (CardSettings, '{"bins": 0}', "bins"),
    (ScoreSettings, '{"exact_row": 10}', "exact_row"),
    (ScoreSettings, '{"auc_bins": 1}', "auc_bins"),
    (DriftSettings, '{"psi": 0.1}', "psi"),
    (DriftSettings, '{"alpha": 0}', "alpha"),
    (DriftSettings, '{"min_rows": true}', "min_rows"),
]


@pytest.mark.parametrize("cls,text,named", CASES, ids=[f"{c.__name__}:{t}" for c, t, _ in CASES])
def test_bad_settings_are_refused_in_one_line_naming_the_field(cls, text, named):
    with pytest.raises(DataValidationError, match=named) as caught:
        cls.from_json(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("cls", [CardSettings, ScoreSettings, DriftSettings])
def test_defaults_round_trip_through_json(cls):
    import dataclasses
    import json

    default = cls()
    assert cls.from_json(json.dumps(dataclasses.asdict(default))) == default


def test_the_documented_defaults():
    assert (DriftSettings().psi_threshold, DriftSettings().min_rows, DriftSettings().alpha) == (0.25, 30, 0.01)
    assert CardSettings().replicates == 1000 and CardSettings().seed == 0 and CardSettings().analytic_rows == 10_000
    assert ScoreSettings().exact_rows == 1_000_000
