"""What the gate decides and why: each floor's check, the decision, and whether a champion can be scored at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from flyte.core.artifact.schema import ModelSchema
from flyte.core.gate.comparison import Comparison
from flyte.core.gate.regression_comparison import RegressionComparison


@dataclass
class FloorCheck:
    """One floor: the challenger's ``value`` of ``metric`` against ``bound`` (``kind`` "at least" or "at most")."""

    metric: str = ""
    value: float = 0.0
    bound: float = 0.0
    kind: str = "at least"
    passed: bool = False


@dataclass
class GateDecision:
    """The gate's verdict. promote: whether the challenger becomes the champion; reasons: why, in words.

    champion: the champion judged against, ``<version>@<manifest sha256>`` ("" when none);
    champion_version: its version name; promoted_version: the version the challenger was stored under
    ("" unless promoted); model_name: the registry entry judged and promoted into ("" when not set).
    floors_only: a champion was there but the floors alone decided (too few rows it never saw, no recorded split
    rule, or replace_incompatible); a reason says which.
    regression: a regression challenger's comparison with its champion (None for a classifier, whose is ``comparison``).
    """

    promote: bool = False
    reasons: list[str] = field(default_factory=list)
    floors: list[FloorCheck] = field(default_factory=list)
    comparison: Comparison = field(default_factory=Comparison)
    champion: str = ""
    champion_version: str = ""
    promoted_version: str = ""
    model_name: str = ""
    floors_only: bool = False
    regression: Optional[RegressionComparison] = None


class Judgement(NamedTuple):
    """The gate's decision and the target column the challenger predicts (what gate_report's page names)."""

    decision: GateDecision
    target: str


def incompatibility(champion: ModelSchema, challenger: ModelSchema, columns: list[str]) -> str:
    """Why the champion cannot be scored on the challenger's test rows, or "" when it can."""
    if champion.target != challenger.target:
        return f"the champion predicts {champion.target!r}, the challenger {challenger.target!r}"
    if champion.label_texts != challenger.label_texts:
        return f"the champion's labels {champion.label_texts} differ from the challenger's {challenger.label_texts}"
    present = set(columns)
    missing = [f for f in champion.features if f not in present]
    if missing:
        return f"the test rows lack the champion's feature column(s) {missing}"
    return ""
