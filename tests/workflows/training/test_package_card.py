"""What registration sends for the publish task: its inputs, its wiring after score, and the card template bound."""

from __future__ import annotations

import pytest

from flyte.workflows import config
from tests.flyte_package import package
from tests.workflows.test_package import IMAGE, PREFIX, WORKFLOW


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


def test_publish_is_cached_with_its_derived_version_and_shows_a_deck(pkg):
    template = pkg.tasks[PREFIX + "publish"].template
    assert template.metadata.discoverable and template.metadata.discovery_version == config.PUBLISH_CACHE_VERSION
    assert config.PUBLISH_CACHE_VERSION.startswith("1.0-")
    assert template.metadata.generates_deck.value
    assert sorted(template.interface.inputs.variables) == sorted(
        ["model", "test", "predictions", "metrics", "profile", "dataset", "split_params", "split_summary", "hyperparameters",
         "card_template", "card"]
    )


def test_the_workflows_model_is_publishs_output_and_publish_runs_after_score(pkg):
    template = pkg.workflows[WORKFLOW].template
    nodes = {n.id: n for n in template.nodes}
    by_task = {n.task_node.reference_id.name.rsplit(".", 1)[-1]: n for n in template.nodes if n.HasField("task_node")}
    publish = by_task["publish"]
    (model_out,) = [b for b in template.outputs if b.var == "model"]
    assert model_out.binding.promise.node_id == publish.id
    sources = {b.var: b.binding.promise.node_id for b in publish.inputs if b.binding.HasField("promise")}
    assert sources["metrics"] == by_task["score"].id and sources["model"] == by_task["fit"].id
    assert sources["predictions"] == by_task["predict"].id
    (template_input,) = [b for b in publish.inputs if b.var == "card_template"]
    assert template_input.binding.scalar.primitive.string_value == config.MODEL_CARD_TEMPLATE
    assert nodes  # every node is a task the package holds
    assert all(n.task_node.reference_id.name in pkg.tasks for n in template.nodes if n.HasField("task_node"))
