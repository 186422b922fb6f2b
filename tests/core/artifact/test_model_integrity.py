"""Tests that a model directory is verified before it is trusted: manifest digests, schema content, booster fit."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xgboost as xgb

from flyte.core.artifact import model as model_module
from flyte.core.artifact.drift import REFERENCE_FILE
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.artifact.manifest import FORMAT, MANIFEST_FILE, sha256
from flyte.core.data.leakage import LEAKAGE_FILE
from flyte.core.artifact.model import MODEL_FILE, SCHEMA_FILE, check_xgboost_version, load_model, save_model
from flyte.core.artifact.schema import ModelSchema, read_schema
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame, split_frame

ROOT = Path(__file__).resolve().parents[3]
FLIPS = 60


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved three-class model (string labels, two categorical features), never modified: copy it first."""
    work = tmp_path_factory.mktemp("integrity")
    parts, profile = split_frame(work, mixed_frame(), "label", MIXED_CATEGORICAL)
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=20))
    return model, save_model(model, work / "model")


@pytest.fixture
def copy(saved, tmp_path):
    """A fresh copy of the saved model directory, free to tamper with."""
    return Path(shutil.copytree(saved[1], tmp_path / "model"))


def forge(directory: Path, name: str, data: bytes) -> None:
    """Replace ``name`` with ``data`` and rewrite its digest in the manifest: a consistent tampering."""
    (directory / name).write_bytes(data)
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    manifest["files"][name] = sha256(data)
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))


def forge_schema(directory: Path, **changes) -> None:
    schema = json.loads((directory / SCHEMA_FILE).read_text())
    schema.update(changes)
    forge(directory, SCHEMA_FILE, json.dumps(schema).encode())


def test_manifest_lists_each_file_with_its_sha256(saved):
    directory = saved[1]
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    assert manifest["format"] == FORMAT == 1
    assert set(manifest["files"]) == {MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, LEAKAGE_FILE}
    for name, digest in manifest["files"].items():
        assert digest == sha256((directory / name).read_bytes())


def test_failed_manifest_write_leaves_no_partial_output(saved, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model_module, "write_manifest", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(saved[0], tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_swapped_labels_are_refused_by_the_manifest(copy):
    schema = json.loads((copy / SCHEMA_FILE).read_text())
    schema["labels"] = schema["labels"][::-1]  # would silently invert every prediction
    (copy / SCHEMA_FILE).write_text(json.dumps(schema, indent=2))
    pattern = rf"{SCHEMA_FILE}: sha256 \w+\.\.\. does not match {MANIFEST_FILE}"
    with pytest.raises(DataValidationError, match=pattern):
        load_model(copy)
    with pytest.raises(DataValidationError, match=pattern):  # the score task's path, without XGBoost
        read_schema(copy)


# Run in a child process: a corrupt booster reaching XGBoost has segfaulted, which would kill pytest.
_FLIP_SCRIPT = """
import json, shutil, sys
from pathlib import Path
import numpy as np
from flyte.core.artifact.drift import REFERENCE_FILE
from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.model import MODEL_FILE, load_model

source, work, flips = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(6)
size = (source / MODEL_FILE).stat().st_size
outcomes = []
for i in range(flips):
    directory = Path(shutil.copytree(source, work / f"flip-{i}"))
    data = bytearray((directory / MODEL_FILE).read_bytes())
    offset, bit = int(rng.integers(size)), int(rng.integers(8))
    data[offset] ^= 1 << bit
    (directory / MODEL_FILE).write_bytes(bytes(data))
    try:
        load_model(directory)
        outcomes.append({"offset": offset, "outcome": "loaded"})
    except DataValidationError as exc:
        outcomes.append({"offset": offset, "outcome": "refused", "message": exc.message})
    except Exception as exc:
        outcomes.append({"offset": offset, "outcome": type(exc).__name__, "message": str(exc)[:300]})
    shutil.rmtree(directory)
(work / "outcomes.json").write_text(json.dumps(outcomes))
"""


def test_bit_flips_in_the_booster_are_refused_without_crashing(saved, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", _FLIP_SCRIPT, str(saved[1]), str(tmp_path), str(FLIPS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    outcomes = json.loads((tmp_path / "outcomes.json").read_text())
    assert len(outcomes) == FLIPS
    assert len({o["offset"] for o in outcomes}) > FLIPS // 2  # spread over the file, not one spot
    wrong = [o for o in outcomes if o["outcome"] != "refused" or f"{MODEL_FILE}: sha256" not in o["message"]]
    assert wrong == []


def test_consistently_forged_label_count_is_refused_by_the_booster(copy):
    forge_schema(copy, labels=["alpha", "beta"])  # the booster has three classes
    pattern = rf"{SCHEMA_FILE} does not describe .*{MODEL_FILE}: 2 labels, but the booster has 3 classes"
    with pytest.raises(DataValidationError, match=pattern):
        load_model(copy)
    assert read_schema(copy).labels == ["alpha", "beta"]  # read_schema alone cannot know: it never reads the booster


def test_binary_booster_with_three_labels_is_refused(tmp_path):
    parts, profile = split_frame(tmp_path, binary_frame(200), "y")
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=5))
    directory = save_model(model, tmp_path / "m")
    forge_schema(directory, labels=[0, 1, 2])
    with pytest.raises(DataValidationError, match="3 labels, but the booster has 2 classes"):
        load_model(directory)


def test_renamed_feature_is_refused(copy):
    forge_schema(
        copy, features=["x1", "x3", "colour", "size"],
        feature_importance={"x1": 1.0, "x3": 0.0, "colour": 1.0, "size": 0.0},
    )  # fmt: skip
    pattern = r"features \['x1', 'x3', 'colour', 'size'\] .*but the booster has \['x1', 'x2', 'colour', 'size'\]"
    with pytest.raises(DataValidationError, match=pattern):
        load_model(copy)


def test_reordered_features_are_refused(copy):
    forge_schema(copy, features=["x2", "x1", "colour", "size"])  # would feed each column to the other's trees
    with pytest.raises(DataValidationError, match="but the booster has"):
        load_model(copy)


def test_dropped_feature_is_refused(copy):
    forge_schema(copy, features=["x1", "colour", "size"], feature_importance={})
    with pytest.raises(DataValidationError, match="3 features, but the booster has 4"):
        load_model(copy)


def test_booster_names_are_what_the_schema_is_compared_by(tmp_path):
    """A feature XGBoost refuses to name (``w[kg]``) is stored mapped, and the check maps it the same way."""
    frame = binary_frame(200).rename(columns={"a": "w[kg]", "b": "h<1"})
    parts, profile = split_frame(tmp_path, frame, "y")
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=5))
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert loaded.schema.features == ["w[kg]", "h<1"] and loaded.booster.feature_names == ["w(kg)", "hlt1"]


def test_categorical_feature_stored_as_numeric_is_refused(copy):
    schema = json.loads((copy / SCHEMA_FILE).read_text())
    forge_schema(copy, categories={"colour": schema["categories"]["colour"]})  # 'size' no longer categorical
    pattern = r"categorical features \['colour'\], but the booster has \['colour', 'size'\]"
    with pytest.raises(DataValidationError, match=pattern):
        load_model(copy)


def test_best_iteration_disagreeing_with_the_rounds_is_refused(copy):
    rounds = json.loads((copy / SCHEMA_FILE).read_text())["best_iteration"] + 1
    forge_schema(copy, best_iteration=rounds + 3)
    with pytest.raises(DataValidationError, match=f"best_iteration {rounds + 3}, but the booster keeps {rounds} rounds"):
        load_model(copy)


def test_booster_that_does_not_give_probabilities_is_refused(saved, copy):
    booster = saved[0].booster.copy()
    booster.set_param({"objective": "multi:softmax"})  # class indices, which predict_proba would misread
    forge(copy, MODEL_FILE, bytes(booster.save_raw("ubj")))
    with pytest.raises(DataValidationError, match=f"{MODEL_FILE}: objective 'multi:softmax' does not give class probabilities"):
        load_model(copy)


def test_extra_file_is_refused(copy):
    (copy / "notes.txt").write_text("hello")
    with pytest.raises(DataValidationError, match=rf"notes\.txt: unexpected file, not listed in {MANIFEST_FILE}"):
        load_model(copy)
    with pytest.raises(DataValidationError, match="unexpected file"):
        read_schema(copy)


def test_extra_directory_is_refused(copy):
    (copy / "old").mkdir()
    with pytest.raises(DataValidationError, match=r"old: unexpected file"):
        load_model(copy)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, found list"),
        (json.dumps({"format": 2, "files": {}}), "format 2, but this code reads format 1"),
        (json.dumps({"format": 1}), "'files' must map file names"),
        (json.dumps({"format": 1, "files": {MODEL_FILE: "abc", SCHEMA_FILE: "abc"}}), "'files' must map file names"),
        (json.dumps({"format": 1, "files": {"../model.ubj": "0" * 64, SCHEMA_FILE: "0" * 64}}), "'files' must map file names"),
        (json.dumps({"format": 1, "files": {"..\\model.ubj": "0" * 64, SCHEMA_FILE: "0" * 64}}), "'files' must map file names"),
    ],
)
def test_malformed_manifest_is_refused_naming_it(copy, text, message):
    (copy / MANIFEST_FILE).write_text(text)
    for load in (load_model, read_schema):
        with pytest.raises(DataValidationError) as caught:
            load(copy)
        assert f"{MANIFEST_FILE}: {message}" in caught.value.message


def test_manifest_not_listing_the_booster_is_refused(copy):
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    del manifest["files"][MODEL_FILE]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(DataValidationError, match=f"{MANIFEST_FILE}: does not list {MODEL_FILE}"):
        load_model(copy)


def test_manifest_fields_a_later_writer_adds_are_ignored(copy):
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["metrics"] = {"accuracy": 0.9}
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert load_model(copy).schema.target == "label"


@pytest.mark.parametrize(
    "text, message",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'"a string"', "expected a JSON object, found str"),
    ],
)
def test_schema_that_is_not_a_json_object_is_refused(copy, text, message):
    forge(copy, SCHEMA_FILE, text)
    for load in (load_model, read_schema):
        with pytest.raises(DataValidationError) as caught:
            load(copy)
        assert f"{SCHEMA_FILE}: {message}" in caught.value.message


@pytest.mark.parametrize(
    "change, message",
    [
        ({"labels": "alpha"}, "'labels' must be a list of at least 2 labels"),
        ({"labels": ["alpha"]}, "'labels' must be a list of at least 2 labels"),
        ({"labels": ["alpha", "alpha", "beta"]}, "labels ['alpha', 'alpha', 'beta'] repeat a class"),
        ({"labels": [1, 2, 3]}, "labels [1, 2, 3] are not all of kind 'str'"),
        ({"features": "x1"}, "'features' must be a non-empty list of strings"),
        ({"features": ["x1", "x1", "colour", "size"]}, "'features' repeats a name"),
        ({"categories": {"colour": "red"}}, "'categories' must be an object of lists of strings"),
        ({"categories": {"shape": ["round"]}}, "'categories' names ['shape'], which are not features"),
        ({"best_iteration": -1}, "'best_iteration' must be a whole number >= 0"),
        ({"best_iteration": True}, "'best_iteration' must be a whole number >= 0"),
        ({"label_kind": "bytes"}, "'label_kind' must be one of"),
        ({"label_kind": ["str"]}, "'label_kind' must be one of"),
        ({"features": list(range(1000))}, "'features' must be a non-empty list of strings, found [0, 1, 2,"),
        ({"target": "x1"}, "the target 'x1' is also listed as a feature"),
        ({"xgboost_version": 3}, "'xgboost_version' must be a string"),
        ({"extra": 1}, "unknown field(s) ['extra']"),
    ],
)
def test_schema_with_bad_content_is_refused_naming_it(copy, change, message):
    forge_schema(copy, **change)
    for load in (load_model, read_schema):
        with pytest.raises(DataValidationError) as caught:
            load(copy)
        assert f"{SCHEMA_FILE}: {message}" in caught.value.message


def test_a_bad_value_is_quoted_short(copy):
    forge_schema(copy, features=list(range(1000)))
    with pytest.raises(DataValidationError) as caught:
        read_schema(copy)
    assert caught.value.message.endswith("...") and len(caught.value.message) < len(str(copy)) + 200


def test_schema_lacking_a_field_is_refused_naming_it(copy):
    schema = json.loads((copy / SCHEMA_FILE).read_text())
    del schema["labels"], schema["target"]
    forge(copy, SCHEMA_FILE, json.dumps(schema).encode())
    for load in (load_model, read_schema):
        with pytest.raises(DataValidationError, match=rf"{SCHEMA_FILE}: lacks field\(s\) \['target', 'labels'\]"):
            load(copy)


def test_every_schema_field_is_checked():
    from flyte.core.artifact.schema import _FIELD_CHECKS

    assert list(_FIELD_CHECKS) == [f.name for f in dataclasses.fields(ModelSchema)]


@pytest.mark.parametrize("data", [b"", b"{}", b"not a model"])
def test_unreadable_booster_with_a_matching_digest_is_refused(copy, data):
    forge(copy, MODEL_FILE, data)
    with pytest.raises(DataValidationError, match=f"{MODEL_FILE}: (empty|XGBoost cannot read it)") as caught:
        load_model(copy)
    message = caught.value.message
    assert "Stack trace" not in message and "\n" not in message
    assert not re.search(r"\[\d\d:\d\d:\d\d\]|\.cc:\d+", message)  # no C++ log time or source location


def _shifted(version: str, major: int = 0, minor: int = 0, patch: int = 0) -> str:
    a, b, c = (int(p) for p in version.split(".")[:3])
    return f"{a + major}.{b + minor}.{c + patch}"


def test_model_from_another_major_version_is_refused(copy):
    forge_schema(copy, xgboost_version=_shifted(xgb.__version__, major=1))
    pattern = rf"{SCHEMA_FILE}: the model was saved by XGBoost .*, but XGBoost {xgb.__version__} is loading it"
    with pytest.raises(DataValidationError, match=pattern) as caught:
        load_model(copy)
    assert "fit the model again" in caught.value.hint


def test_model_from_another_patch_release_loads_with_a_warning(copy, caplog):
    forge_schema(copy, xgboost_version=_shifted(xgb.__version__, patch=1))
    with caplog.at_level(logging.WARNING, logger="flyte.core.artifact.model"):
        loaded = load_model(copy)
    assert loaded.schema.xgboost_version == _shifted(xgb.__version__, patch=1)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert f"saved by XGBoost {loaded.schema.xgboost_version}" in caplog.text


def test_model_from_the_running_version_loads_silently(copy, caplog):
    with caplog.at_level(logging.DEBUG, logger="flyte.core.artifact.model"):
        load_model(copy)
    assert caplog.records == []


@pytest.mark.parametrize(
    "saved_by, refused",
    [
        ("3.2.0", False),
        ("3.2.0rc1", False),
        ("3.2.1", False),  # newer patch: warned
        ("3.1.4", False),  # older minor: warned
        ("3.3.0", True),  # newer minor: an older reader may misread it
        ("2.1.4", True),  # older major
        ("4.0.0", True),  # newer major
        ("", True),
        ("unknown", True),
    ],
)
def test_version_policy(saved_by, refused, caplog):
    where = Path("m") / SCHEMA_FILE
    if refused:
        with pytest.raises(DataValidationError) as caught:
            check_xgboost_version(saved_by, "3.2.0", where)
        message = caught.value.message
        assert message.startswith(f"{where}: ")
        assert f"XGBoost {saved_by}," in message or f"xgboost_version {saved_by!r} is not" in message
    else:
        with caplog.at_level(logging.WARNING, logger="flyte.core.artifact.model"):
            check_xgboost_version(saved_by, "3.2.0", where)
        assert bool(caplog.records) == (saved_by not in ("3.2.0", "3.2.0rc1"))
