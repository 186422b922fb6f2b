"""Tests for flyte.core.batch.model_source: the manifest's digest and a model directory fetched file by file, verified."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flyte.core.artifact.drift import REFERENCE_FILE
from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.manifest import MANIFEST_FILE, sha256
from flyte.core.common.uris import child
from flyte.core.batch.model_source import fetch_model, listed_files, manifest_digest, read_model_files


def manifest(**files: str) -> bytes:
    return json.dumps({"format": 1, "files": files}).encode()


DIGEST = "0" * 64


def copier(source: Path, log: list):
    def get(uri: str, destination: Path) -> None:
        log.append(uri)
        shutil.copyfile(source / uri.rsplit("/", 1)[1], destination)

    return get


def test_child_joins_any_uri():
    assert child("s3://bucket/run/model/", "schema.json") == "s3://bucket/run/model/schema.json"
    assert child("/tmp/model", MANIFEST_FILE) == "/tmp/model/manifest.json"


def test_listed_files_refuses_paths_and_incomplete_models():
    full = {"model.ubj": DIGEST, "schema.json": DIGEST, REFERENCE_FILE: DIGEST}
    assert listed_files(manifest(**full), "m") == sorted(full)
    with pytest.raises(DataValidationError, match="not a plain file name"):
        listed_files(manifest(**full, **{"../etc/passwd": DIGEST}), "m")
    with pytest.raises(DataValidationError, match="does not hold reference.json") as info:
        listed_files(manifest(**{"model.ubj": DIGEST, "schema.json": DIGEST}), "m")
    assert "fit the model again" in info.value.hint
    with pytest.raises(DataValidationError, match="not a model manifest"):
        listed_files(b"[1]", "m")
    assert manifest_digest(manifest(**full), "m") == sha256(manifest(**full))


@pytest.fixture
def model_dir(tmp_path):
    from flyte.core.training.fit import train_model
    from flyte.core.training.hyperparameters import Hyperparameters
    from flyte.core.artifact.model import save_model
    from tests.data_factory import binary_frame, split_frame

    (tmp_path / "w").mkdir()
    parts, profile = split_frame(tmp_path / "w", binary_frame(), "y")
    return save_model(train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=5)), tmp_path / "model")


def test_fetch_copies_exactly_the_listed_files_and_reads_them_back(model_dir, tmp_path):
    fetched_uris: list = []
    digest = sha256((model_dir / MANIFEST_FILE).read_bytes())
    out = fetch_model(str(model_dir), digest, tmp_path / "fetched", copier(model_dir, fetched_uris))
    assert sorted(Path(u).name for u in fetched_uris) == sorted(p.name for p in model_dir.iterdir())
    schema, reference = read_model_files(out)
    assert list(reference.features) == schema.features


def test_fetch_refuses_a_changed_manifest_or_a_corrupt_file_and_leaves_nothing(model_dir, tmp_path):
    with pytest.raises(DataValidationError, match="changed while this run was reading it"):
        fetch_model(str(model_dir), DIGEST, tmp_path / "fetched", copier(model_dir, []))
    corrupt = Path(shutil.copytree(model_dir, tmp_path / "corrupt"))
    (corrupt / "schema.json").write_text("{}")
    digest = sha256((corrupt / MANIFEST_FILE).read_bytes())
    with pytest.raises(DataValidationError, match="schema.json: sha256 .* does not match"):
        fetch_model(str(corrupt), digest, tmp_path / "fetched", copier(corrupt, []))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt", "model", "w"]
