"""The quality gate: floors on the new model's metrics and a paired comparison with the champion, then a decision."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from flyte.core.data import labels as lbl
from flyte.core.common.errors import DataValidationError
from flyte.core.gate.comparison import Comparison, GateRules, compare  # noqa: F401  (re-exported: the gate's API)
from flyte.core.artifact.manifest import MANIFEST_FILE, sha256
from flyte.core.evaluation.predict import probability_column
from flyte.core.registry.registry import Registry
from flyte.core.artifact.schema import ModelSchema, read_schema
from flyte.core.evaluation.score import Metrics, score_predictions
from flyte.core.data.tables import iter_batches, read_columns, schema as table_schema

log = logging.getLogger(__name__)


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


class Judgement(NamedTuple):
    decision: GateDecision
    html: str


def check_floors(metrics: Metrics, rules: GateRules) -> list[FloorCheck]:
    """The floors of ``rules`` applied to the challenger's metrics on the test rows."""
    return [
        FloorCheck("accuracy", metrics.accuracy, rules.min_accuracy, "at least", metrics.accuracy >= rules.min_accuracy),
        # A NaN AUC (a class missing from the test rows) passes no floor.
        FloorCheck("roc_auc", metrics.roc_auc, rules.min_roc_auc, "at least", bool(metrics.roc_auc >= rules.min_roc_auc)),
        FloorCheck("log_loss", metrics.log_loss, rules.max_log_loss, "at most", metrics.log_loss <= rules.max_log_loss),
    ]


def decide(floors: list[FloorCheck], comparison: Comparison, rules: GateRules, preamble: list[str]) -> tuple[bool, list[str]]:
    """Promote when every floor holds and the challenger is not significantly worse (or, with ``require_better``,
    significantly better). ``preamble``: reasons already known (no champion, an incompatible one).

    Significantly worse on accuracy: the champion wins more discordant rows AND McNemar's two-sided p < alpha
    (so a one-sided test at alpha / 2). On AUC: the whole 1 - alpha interval of the difference lies below 0.
    """
    reasons = list(preamble)
    for f in floors:
        if not f.passed:
            reasons.append(f"{f.metric} {f.value:.4f} fails the floor: must be {f.kind} {f.bound:.4f}")
    ok = all(f.passed for f in floors)
    if comparison.compared:
        c = comparison
        acc = (f"accuracy {c.challenger_accuracy:.4f} vs {c.champion_accuracy:.4f} (difference {c.accuracy_difference:+.4f}, "
               f"{c.confidence:.0%} CI [{c.accuracy_ci_low:+.4f}, {c.accuracy_ci_high:+.4f}]; McNemar exact p = {c.mcnemar_p:.4g}, "
               f"{c.challenger_only} rows only the challenger got right, {c.champion_only} only the champion)")  # fmt: skip
        auc = (f"ROC AUC {c.challenger_roc_auc:.4f} vs {c.champion_roc_auc:.4f} (difference {c.auc_difference:+.4f}, "
               f"{c.confidence:.0%} CI [{c.auc_ci_low:+.4f}, {c.auc_ci_high:+.4f}])")  # fmt: skip
        if c.test_rows:
            acc = f"on the {c.rows} test rows neither model trained on ({c.seen_rows} of {c.test_rows} left out), {acc}"
        acc_worse = c.champion_only > c.challenger_only and c.mcnemar_p < rules.alpha
        acc_better = c.challenger_only > c.champion_only and c.mcnemar_p < rules.alpha
        auc_worse, auc_better = c.auc_ci_high < 0, c.auc_ci_low > 0
        if acc_worse:
            reasons.append(f"significantly worse than the champion: {acc}")
        if auc_worse:
            reasons.append(f"significantly worse than the champion: {auc}")
        ok = ok and not acc_worse and not auc_worse
        if rules.require_better and not (acc_better or auc_better):
            reasons.append(f"not significantly better than the champion, which require_better asks: {acc}; {auc}")
            ok = False
        if ok:
            verdict = "significantly better" if acc_better or auc_better else "not significantly worse"
            reasons.append(f"{verdict} than the champion: {acc}; {auc}")
    if ok:
        reasons.append("promote: every floor holds" + (" and the comparison allows it" if comparison.compared else ""))
    return ok, reasons


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


def probabilities(predictions: Path, texts: list[str], rows: int) -> np.ndarray:
    """The probability columns of a predictions table, in ``texts`` order, as a rows x classes array."""
    table = read_columns(predictions, [probability_column(t) for t in texts])
    if table.num_rows != rows:
        raise DataValidationError(f"{predictions}: {table.num_rows} predictions for {rows} test rows")
    return np.column_stack([table.column(i).to_numpy() for i in range(table.num_columns)])


def judge(
    model_dir: Path, test: Path, predictions: Path, metrics: Metrics, registry: str | Registry, champion: str,
    rules: GateRules, scratch: Path, n_threads: int = 1, bootstrap_budget: int = 0, analytic_rows: int = 0,
) -> Judgement:  # fmt: skip
    """Judge the challenger in ``model_dir`` (its ``predictions`` and ``metrics`` on ``test``) against ``champion``,
    the identity ``<version>@<sha256>`` read from ``registry`` (a model name's entry, or its location; "" for none),
    under ``rules``.
    ``bootstrap_budget``: the most resamples x rows the bootstrap may cost (0: no cap); ``analytic_rows``: from
    this many test rows on, paired normal intervals instead of the bootstrap (0: never)."""
    from flyte.core.gate.gate_report import render_gate

    schema = read_schema(model_dir)
    texts = schema.label_texts
    y = lbl.read_codes(test, schema.target, texts, schema.label_kind)
    ours = probabilities(predictions, texts, len(y))
    recomputed = score_predictions(y, ours, texts)
    if recomputed.rows != metrics.rows or not math.isclose(recomputed.accuracy, metrics.accuracy, abs_tol=1e-12):
        raise DataValidationError(
            f"the metrics given (accuracy {metrics.accuracy}, {metrics.rows} rows) are not those of these predictions "
            f"(accuracy {recomputed.accuracy}, {recomputed.rows} rows)"
        )
    floors = check_floors(recomputed, rules)
    comparison, preamble, version = Comparison(), [], ""
    if not champion:
        preamble.append("no champion yet: the floors alone decide")
    else:
        version, _, digest = champion.partition("@")
        if digest == sha256((Path(model_dir) / MANIFEST_FILE).read_bytes()):
            decision = GateDecision(False, [f"the challenger is already the champion ({version}): nothing to promote"],
                                    floors, comparison, champion, version)  # fmt: skip
            return Judgement(decision, render_gate(decision, schema.target))
        from flyte.core.artifact.model import load_model

        entry = registry if isinstance(registry, Registry) else Registry(registry)
        champion_dir = entry.fetch(version, digest, Path(scratch) / "champion")
        reigning = load_model(champion_dir, n_threads=n_threads)
        why = incompatibility(reigning.schema, schema, table_schema(test).names)
        if why and not rules.replace_incompatible:
            decision = GateDecision(False, [f"the champion {version} cannot be compared on these test rows: {why}",
                                            "kept the champion; set replace_incompatible to judge by the floors alone"],
                                    floors, comparison, champion, version)  # fmt: skip
            return Judgement(decision, render_gate(decision, schema.target))
        if why:
            preamble.append(f"the champion {version} cannot be compared ({why}); replace_incompatible: the floors alone decide")
        else:
            from flyte.core.gate.gate_rows import compare_unseen

            comparison, note = compare_unseen(test, y, ours, reigning, champion_dir, rules, bootstrap_budget, analytic_rows)
            if note:
                preamble.append(note)
    promote, reasons = decide(floors, comparison, rules, preamble)
    floors_only = bool(champion) and not comparison.compared
    decision = GateDecision(promote, reasons, floors, comparison, champion, version, floors_only=floors_only)
    log.info("gate: promote=%s against champion %s; %s", promote, version or "none", "; ".join(reasons))
    return Judgement(decision, render_gate(decision, schema.target))

