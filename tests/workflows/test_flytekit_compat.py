"""The memoised dataclass literal types: installed, built once per type, and identical to flytekit's own."""

from __future__ import annotations

import dataclasses
import typing

import mashumaro.jsonschema
import mashumaro.jsonschema.schema as mashumaro_schema
import pytest
from flytekit.core.type_engine import DataclassTransformer, TypeEngine

import flyte.workflows.training  # noqa: F401  (declares every training task, so the memo holds their types)
from flyte.workflows import flytekit_compat
from flyte.workflows.gate_tasks import GateCriteria
from flyte.workflows.training import training_pipeline


def interface_dataclasses() -> set[type]:
    """Every dataclass the training workflow's interface and its fields name, nested ones included."""
    found, pending = set(), [*training_pipeline.python_interface.inputs.values(), *training_pipeline.python_interface.outputs.values()]
    while pending:
        t = pending.pop()
        if dataclasses.is_dataclass(t) and t not in found:
            found.add(t)
            pending.extend(typing.get_type_hints(t).values())
        pending.extend(typing.get_args(t))
    return found


def test_the_hook_flytekit_and_mashumaro_must_keep_is_installed():
    """Fails when a flytekit or mashumaro upgrade moves what flytekit_compat patches: fix that module, then this."""
    assert type(TypeEngine._DATACLASS_TRANSFORMER) is flytekit_compat.MemoizedDataclassTransformer
    assert TypeEngine.get_transformer(GateCriteria) is TypeEngine._DATACLASS_TRANSFORMER
    assert mashumaro_schema._default is flytekit_compat._default  # the workflow import built schemas
    assert flytekit_compat.install() is True and flytekit_compat.fast_defaults() is True  # idempotent
    assert callable(flytekit_compat._slow_default) and flytekit_compat._slow_default is not flytekit_compat._default


def test_every_interface_dataclass_has_flytekits_own_literal_type_schema_included():
    """The memoised, fast-defaults result is byte for byte what plain flytekit builds: the registered interface
    cannot change."""
    types = interface_dataclasses()
    assert {"DatasetSpec", "Hyperparameters", "GateCriteria", "GateDecision", "Metrics"} <= {t.__name__ for t in types}
    memoised = TypeEngine._DATACLASS_TRANSFORMER
    try:
        mashumaro_schema._default = flytekit_compat._slow_default
        plain = {t: DataclassTransformer().get_literal_type(t) for t in types}
    finally:
        mashumaro_schema._default = flytekit_compat._default
    for t in types:
        assert memoised.get_literal_type(t).to_flyte_idl() == plain[t].to_flyte_idl(), t
        assert plain[t].metadata and plain[t].metadata.get("properties"), t  # a real schema was compared


def test_a_type_schema_is_built_once_per_process(monkeypatch):
    builds = []
    real = mashumaro.jsonschema.build_json_schema
    monkeypatch.setattr(mashumaro.jsonschema, "build_json_schema", lambda t, *a, **k: builds.append(t) or real(t, *a, **k))

    @dataclasses.dataclass
    class Fresh:
        rate: float = 0.5
        name: str = "x"

    transformer = flytekit_compat.MemoizedDataclassTransformer()
    first = transformer.get_literal_type(Fresh)
    assert transformer.get_literal_type(Fresh) is first
    assert builds == [Fresh]
    assert first.metadata["properties"]["rate"]["default"] == 0.5


@pytest.mark.parametrize(
    ("f_type", "value"), [(float, 0.25), (int, 3), (str, "a"), (bool, True), (float, 1), (typing.Optional[float], None), (tuple, (1, 2))]
)
def test_a_fast_default_renders_as_mashumaro_renders_it(f_type, value):
    """Plain scalars skip mashumaro's compiled class; anything else (an int given to a float field too) takes it."""
    from mashumaro.config import BaseConfig as config
    assert flytekit_compat._default(f_type, value, config) == flytekit_compat._slow_default(f_type, value, config)
    assert type(flytekit_compat._default(f_type, value, config)) is type(flytekit_compat._slow_default(f_type, value, config))
