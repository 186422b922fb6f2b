"""The memoised dataclass literal types: installed, built once per type, and identical to flytekit's own."""

from __future__ import annotations

import dataclasses
import subprocess
import os
import sys
import typing

import mashumaro.jsonschema
import pytest
from flytekit.core.base_task import PythonTask
from flytekit.core.type_engine import DataclassTransformer, TypeEngine

from tests.flyte_package import REPO
import flyte.workflows.training.pipeline  # noqa: F401  (declares every training task, so the memo holds their types)
from flyte.workflows.shared import flytekit_compat
from flyte.workflows.gate import tasks as gate_tasks
from flyte.workflows.shared import literal_type_cache
from flyte.workflows.training import tasks
from flyte.workflows.gate.tasks import GateCriteria
from flyte.workflows.training.pipeline import training_pipeline


@pytest.fixture(autouse=True)
def own_type_cache(monkeypatch, tmp_path_factory):
    """Each test starts from an empty disk cache of literal types."""
    monkeypatch.setenv(literal_type_cache.CACHE_ENV, str(tmp_path_factory.mktemp("types")))


def interface_dataclasses() -> set[type]:
    """Every dataclass the training workflow's and its tasks' interfaces and their fields name, nested ones included."""
    entities = [training_pipeline, *(e for m in (tasks, gate_tasks) for e in vars(m).values() if isinstance(e, PythonTask))]
    pending = [t for e in entities for t in (*e.python_interface.inputs.values(), *e.python_interface.outputs.values())]
    found = set()
    while pending:
        t = pending.pop()
        if dataclasses.is_dataclass(t) and t not in found:
            found.add(t)
            pending.extend(typing.get_type_hints(t).values())
        pending.extend(typing.get_args(t))
    return found


def test_the_hook_flytekit_and_mashumaro_must_keep_is_installed():
    """Fails when a flytekit upgrade moves what flytekit_compat patches: fix that module, then this."""
    assert type(TypeEngine._DATACLASS_TRANSFORMER) is flytekit_compat.MemoizedDataclassTransformer
    assert TypeEngine.get_transformer(GateCriteria) is TypeEngine._DATACLASS_TRANSFORMER
    assert flytekit_compat.install() is True  # idempotent


def test_every_flytekit_attribute_the_compat_module_relies_on_is_still_there():
    """Fails on a flytekit upgrade that moves or reshapes what flytekit_compat uses, naming each attribute."""
    problems = flytekit_compat.missing_flytekit_api()
    assert not problems, "flytekit changed under flyte/workflows/shared/flytekit_compat.py:\n" + "\n".join(problems)


def test_the_check_names_a_missing_attribute_and_a_changed_signature(monkeypatch):
    from flytekit.core.local_cache import LocalTaskCache

    monkeypatch.delattr(LocalTaskCache, "initialize")
    monkeypatch.setattr(LocalTaskCache, "get", staticmethod(lambda task_name, cache_version, input_literal_map: None))
    problems = flytekit_compat.missing_flytekit_api()
    assert any("LocalTaskCache.initialize is gone" in p for p in problems), problems
    assert any("LocalTaskCache.get takes" in p and "cache_ignore_input_vars" in p for p in problems), problems


def test_no_module_outside_the_compat_module_reaches_into_flytekit_internals():
    """A private flytekit name (``flytekit...._x`` imports, ``._x`` on flytekit objects) appears only in flytekit_compat."""
    import re

    private = re.compile(r"from flytekit[\w.]* import [^\n]*\b_\w|flytekit\.[\w.]*\._\w|LocalTaskCache\._|_literal_sd|_raw_execute|"
                         r"_module_name|_DATACLASS_TRANSFORMER|CACHE_LOCATION")  # fmt: skip
    allowed = {REPO / "flyte/workflows/shared/flytekit_compat.py"}
    found = [f"{p.relative_to(REPO)}:{i}" for root in ("flyte", "tests") for p in sorted((REPO / root).rglob("*.py"))
             if p not in allowed and p.name != "test_flytekit_compat.py"
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if private.search(line.split("#")[0])]  # fmt: skip
    assert not found, f"private flytekit API outside flytekit_compat: {found}"


def compare_with_plain_flytekit() -> None:
    """Assert that every interface dataclass's memoised literal type is byte for byte plain flytekit's."""
    types = interface_dataclasses()
    assert {"DatasetSpec", "Hyperparameters", "GateCriteria", "GateDecision", "Metrics", "DataProfile", "SourceFingerprint"} <= {
        t.__name__ for t in types
    }
    memoised = TypeEngine._DATACLASS_TRANSFORMER
    plain = {t: DataclassTransformer().get_literal_type(t) for t in types}
    for t in types:
        assert memoised.get_literal_type(t).to_flyte_idl() == plain[t].to_flyte_idl(), t
        assert plain[t].metadata and plain[t].metadata.get("properties"), t  # a real schema was compared


def test_every_interface_dataclass_has_flytekits_own_literal_type_schema_included(tmp_path):
    """The memoised, fast-defaults result is byte for byte what plain flytekit builds: the registered interface
    cannot change. Checked as registration sees it, in fresh processes: one that builds and stores each type, then
    one that reads them back from the disk cache."""
    env = dict(os.environ, PIPELINE_TYPE_CACHE=str(tmp_path / "types"), PYTHONPATH=str(REPO))
    code = "from tests.workflows.shared.test_flytekit_compat import compare_with_plain_flytekit as c; c()"
    for _ in ("build", "read back"):
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    assert any((tmp_path / "types").iterdir())


def test_a_type_schema_is_built_once_per_process(monkeypatch, tmp_path):
    monkeypatch.setenv(literal_type_cache.CACHE_ENV, str(tmp_path))
    builds = []
    real = mashumaro.jsonschema.build_json_schema
    monkeypatch.setattr(mashumaro.jsonschema, "build_json_schema", lambda t, *a, **k: builds.append(t) or real(t, *a, **k))

    @dataclasses.dataclass
    class Fresh:
        rate: float = 0.5
        name: str = "x"

    transformer = flytekit_compat.MemoizedDataclassTransformer()
    first = transformer.get_literal_type(Fresh)
    assert transformer.get_literal_type(Fresh) == first
    assert builds == [Fresh]
    assert first.metadata["properties"]["rate"]["default"] == 0.5


def test_a_union_naming_a_memoised_dataclass_leaves_its_field_types_intact():
    """flytekit tags an Optional's variants by overwriting the structure of the literal type it was handed; the memo
    must not hand out its own copy, or every later interface naming the dataclass loses its field types."""
    plain = DataclassTransformer().get_literal_type(Inner).to_flyte_idl()
    assert set(plain.structure.dataclass_type) == {"rmse"}
    TypeEngine.to_literal_type(Inner)
    TypeEngine.to_literal_type(Outer)  # tags Optional[Inner]'s variant
    assert TypeEngine.to_literal_type(Inner).to_flyte_idl() == plain


@dataclasses.dataclass
class Inner:
    rmse: float = 0.0


@dataclasses.dataclass
class Outer:
    inner: typing.Optional[Inner] = None


def test_a_later_process_reads_each_literal_type_from_disk_as_built(monkeypatch, tmp_path):
    """A fresh transformer (as in the next process) builds no schema, and gets flytekit's own bytes."""
    monkeypatch.setenv(literal_type_cache.CACHE_ENV, str(tmp_path))
    types = interface_dataclasses()
    first = {t: flytekit_compat.MemoizedDataclassTransformer().get_literal_type(t) for t in types}
    assert len(list(tmp_path.glob("*.pb"))) == len(types)
    builds = []
    monkeypatch.setattr(mashumaro.jsonschema, "build_json_schema", lambda t, *a, **k: builds.append(t))
    later = flytekit_compat.MemoizedDataclassTransformer()
    for t in types:
        assert later.get_literal_type(t).to_flyte_idl() == first[t].to_flyte_idl(), t
    assert builds == []


def make(default=0.5, kind=float, inner_default=1, metadata=None):
    """A fresh dataclass named like every other one made here, with one nested dataclass."""
    inner = dataclasses.make_dataclass("Inner", [("n", int, dataclasses.field(default=inner_default))])
    fields = [("rate", kind, dataclasses.field(default=default)),
              ("inner", inner, dataclasses.field(default_factory=inner, metadata=metadata or {}))]  # fmt: skip
    return dataclasses.make_dataclass("Outer", fields)


def test_the_disk_key_changes_with_anything_that_shapes_the_literal_type():
    same = literal_type_cache.key(make())
    assert literal_type_cache.key(make()) == same  # an identical definition, in another class object
    for changed in (make(default=0.25), make(kind=int, default=1), make(inner_default=2), make(metadata={"description": "x"})):
        assert literal_type_cache.key(changed) != same


def test_an_off_or_unwritable_cache_only_means_building(monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    for setting in ("off", str(blocked)):
        monkeypatch.setenv(literal_type_cache.CACHE_ENV, setting)
        built = flytekit_compat.MemoizedDataclassTransformer().get_literal_type(make())
        assert built.metadata["properties"]["rate"]["default"] == 0.5
        assert literal_type_cache.load(make()) is None
    assert blocked.read_text() == "not a directory"


def test_an_edit_to_the_defining_module_changes_the_disk_key(tmp_path, monkeypatch):
    """A docstring lands in the schema but in no field: the key follows the module's bytes, not the fields alone."""
    import importlib

    module = tmp_path / "edited_types.py"
    monkeypatch.syspath_prepend(str(tmp_path))
    module.write_text('import dataclasses\n\n@dataclasses.dataclass\nclass Edited:\n    """First words."""\n    rate: float = 0.5\n')
    first = literal_type_cache.key(importlib.import_module("edited_types").Edited)
    module.write_text('import dataclasses\n\n@dataclasses.dataclass\nclass Edited:\n    """Other words."""\n    rate: float = 0.5\n')
    sys.modules.pop("edited_types")
    literal_type_cache._module_digest.cache_clear()
    assert literal_type_cache.key(importlib.import_module("edited_types").Edited) != first
