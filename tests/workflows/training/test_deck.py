"""No Deck carries unescaped data: hostile column names and labels, run through every task as its pod runs it."""

from __future__ import annotations

import numpy as np
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine

from flyte.core.data.dataset import DatasetSpec
from tests.flyte_package import WORKFLOW, local_executor, package, run_as_pods, string_literal

HOSTILE_FEATURE = "<img src=x onerror=alert(1)>"
HOSTILE_CATEGORY_COLUMN = "<script>alert(2)</script>"
HOSTILE_LABEL = "<svg onload=alert(3)>"
HOSTILE_VALUE = "<b>bold</b>"


def hostile_csv(path):
    rng = np.random.default_rng(0)
    lines = [f"{HOSTILE_FEATURE},{HOSTILE_CATEGORY_COLUMN},y"]
    for _ in range(300):
        x = rng.normal()
        lines.append(f"{x:.3f},{HOSTILE_VALUE if x > 0 else 'plain'},{HOSTILE_LABEL if x + rng.normal(scale=0.5) > 0 else 'safe'}")
    path.write_text("\n".join(lines) + "\n")
    return DatasetSpec(source=str(path), target="y", categorical_columns=[HOSTILE_CATEGORY_COLUMN])


def test_no_deck_holds_a_raw_tag_from_the_data(tmp_path):
    spec = hostile_csv(tmp_path / "hostile.csv")
    tmp_path.chmod(0o777)
    pkg = package("localhost:30000/flyte-xgboost:deck", tmp_path)
    ctx = FlyteContextManager.current_context()
    literal = TypeEngine.to_literal(ctx, spec, DatasetSpec, TypeEngine.to_literal_type(DatasetSpec)).to_flyte_idl()
    inputs = {"dataset": literal, "registry": string_literal(str(tmp_path / "registry"))}
    run_as_pods(pkg, WORKFLOW, WORKFLOW, tmp_path, local_executor(tmp_path), inputs=inputs)
    decks = sorted(tmp_path.glob("pods/**/deck.html"))
    assert decks, "the score task publishes its report as a Deck"
    assert any("<h1>Quality gate</h1>" in d.read_text() for d in decks), "the judge task publishes the gate's Deck"
    for deck in decks:
        html = deck.read_text()
        # flytekit's own page frame carries a tab-switching script; nothing from the data may add a tag.
        for raw in (HOSTILE_FEATURE, HOSTILE_CATEGORY_COLUMN, HOSTILE_LABEL, HOSTILE_VALUE, "<script>alert", "<img src=x"):
            assert raw not in html, (deck, raw)
    report = "".join(d.read_text() for d in decks)
    assert "Expected calibration error" in report  # the publish task's model card is among the Decks checked
    assert "&lt;svg onload=alert(3)&gt;" in report  # the label is shown, as text
