"""The model registry: versions never overwritten, the champion pointer replaced atomically, on disk and via fsspec."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flyte.core.registry import registry as reg
from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.artifact.model import load_model
from flyte.core.registry.registry import POINTER, ChampionMoved, Registry
from flyte.core.registry.cli import main
from flyte.core.registry.names import entry_location
from tests.data_factory import saved_models

T1 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two different saved models (different seeds and rounds)."""
    return saved_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(params=["local", "memory"])
def location(request, tmp_path):
    """A local directory, and an fsspec object-store stand-in (memory://) so the object-store code path runs too."""
    if request.param == "local":
        return str(tmp_path / "registry")
    return f"memory://registry-{uuid.uuid4().hex}"


def test_first_promotion_with_no_champion(location, models, tmp_path):
    registry = Registry(location)
    assert registry.champion() is None and registry.champion_identity() == "" and registry.versions() == []
    pointer = registry.promote(models[0], ["first"], T1, expected_champion="")
    assert registry.versions() == [pointer.version]
    assert pointer.version.startswith("20260301T020000Z-")
    assert registry.champion() == pointer and pointer.reasons == ["first"]
    fetched = registry.fetch(pointer.version, pointer.manifest_sha256, tmp_path / "champion")
    assert load_model(fetched).schema == load_model(models[0]).schema


def test_promoting_the_same_model_again_creates_no_second_version(location, models):
    registry = Registry(location)
    first = registry.promote(models[0], ["first"], T1, expected_champion="")
    again = registry.promote(models[0], ["again"], T2, expected_champion=first.identity)
    assert again == first and registry.versions() == [first.version]


def test_a_new_champion_keeps_every_old_version(location, models):
    registry = Registry(location)
    first = registry.promote(models[0], ["first"], T1, expected_champion="")
    second = registry.promote(models[1], ["better"], T2, expected_champion=first.identity)
    assert registry.versions() == [first.version, second.version]
    assert registry.champion().version == second.version
    assert registry.manifest_digest(first.version) == first.manifest_sha256  # untouched


def test_an_interrupted_promotion_leaves_the_old_champion(location, models, tmp_path, monkeypatch):
    """A failure after the new version is written and before the pointer moves: the old champion stays, readable."""
    registry = Registry(location)
    first = registry.promote(models[0], ["first"], T1, expected_champion="")

    def crash(self, data, token):
        raise KeyboardInterrupt("pod killed before the pointer moved")

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(Registry, "_replace_pointer", crash)
        Registry(location).promote(models[1], ["better"], T2, expected_champion=first.identity)
    registry = Registry(location)
    assert registry.champion() == first
    assert len(registry.versions()) == 2  # the new version was fully written, just never pointed at
    fetched = registry.fetch(first.version, first.manifest_sha256, tmp_path / "after")
    assert load_model(fetched).schema == load_model(models[0]).schema
    # Running again completes the promotion, re-using the version already written.
    finished = registry.promote(models[1], ["better"], T2, expected_champion=first.identity)
    assert registry.champion() == finished and len(registry.versions()) == 2


def test_a_crash_while_writing_a_local_version_leaves_no_version(models, tmp_path, monkeypatch):
    registry = Registry(str(tmp_path / "registry"))
    calls = []

    def failing(self, model_dir, target, names):
        calls.append(target)
        Path(target, names[0]).write_bytes(b"partial")
        raise OSError("disk went away")

    monkeypatch.setattr(Registry, "_write_files", failing)
    with pytest.raises(OSError):
        registry.promote(models[0], ["first"], T1, expected_champion="")
    assert registry.versions() == [] and registry.champion() is None  # only a hidden staging directory remains


def test_versions_are_never_overwritten(location, models, monkeypatch):
    registry = Registry(location)
    version = registry.publish(models[0], T1)
    # The same name for other bytes (a forced clash): refused, nothing written.
    monkeypatch.setattr(reg, "version_name", lambda digest, when: version)
    with pytest.raises(FileExistsError, match="never overwritten"):
        registry.publish(models[1], T1)
    assert registry.versions() == [version]


def test_promotion_refuses_when_the_champion_moved(location, models):
    registry = Registry(location)
    registry.promote(models[0], ["first"], T1, expected_champion="")
    with pytest.raises(ChampionMoved, match="judged against none"):
        registry.promote(models[1], ["judged with no champion"], T2, expected_champion="")
    assert len(registry.versions()) == 1


def test_reading_the_champion_verifies_its_files(models, tmp_path):
    registry = Registry(str(tmp_path / "registry"))
    pointer = registry.promote(models[0], ["first"], T1, expected_champion="")
    stored = tmp_path / "registry" / "versions" / pointer.version / "schema.json"
    stored.write_bytes(stored.read_bytes().replace(b'"target"', b'"targex"'))
    with pytest.raises(DataValidationError, match="schema.json: sha256"):
        registry.fetch(pointer.version, pointer.manifest_sha256, tmp_path / "fetched")
    manifest = tmp_path / "registry" / "versions" / pointer.version / MANIFEST_FILE
    manifest.write_text(manifest.read_text() + " ")
    with pytest.raises(DataValidationError, match="does not match the champion pointer"):
        registry.fetch(pointer.version, pointer.manifest_sha256, tmp_path / "fetched2")


def test_a_malformed_pointer_is_refused_naming_it(tmp_path):
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / POINTER).write_text(json.dumps({"version": "../x"}))
    with pytest.raises(DataValidationError, match="champion.json"):
        Registry(str(tmp_path / "registry")).champion()


def test_rollback_command_moves_the_pointer_to_an_older_version(models, tmp_path, capsys):
    location = str(tmp_path / "registry")
    registry = Registry(entry_location(location, "pima"))
    first = registry.promote(models[0], ["first"], T1, expected_champion="")
    registry.promote(models[1], ["second"], T2, expected_champion=first.identity)
    assert main(["rollback", location, "pima", first.version]) == 0
    pointer = registry.champion()
    assert pointer.version == first.version and pointer.manifest_sha256 == first.manifest_sha256
    assert pointer.reasons[0].startswith("rollback by hand from 20260302")
    assert len(registry.versions()) == 2  # nothing deleted
    assert main(["list", location, "pima"]) == 0
    assert f"* {first.version}" in capsys.readouterr().out
    assert main(["rollback", location, "pima", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope: no such complete version" in err
    assert registry.champion() == pointer
