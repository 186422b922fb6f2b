"""Model names kept apart in one registry, and the registry's commands: each failure one line and a non-zero exit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.registry.registry import POINTER, Registry
from flyte.core.registry.cli import main, stale_staging
from flyte.core.registry.names import check_model_name, derive_model_name, entry_location, model_names, resolve_model_name
from tests.data_factory import saved_models
from tests.flyte_package import REPO
from tests.s3_server import s3, s3_server  # noqa: F401 (fixtures)

T1 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return saved_models(tmp_path_factory.mktemp("models"))


@pytest.mark.parametrize(
    "source, name",
    [
        ("bundled://pima-indians-diabetes.data.csv", "pima-indians-diabetes"),
        ("s3://bucket/2026/Churned.csv.gz", "churned"),
        ("/data/My Customers (v2).parquet", "my-customers-v2"),
        ("https://host/x/table.csv?version=3", "table"),
        ("C:\\data\\sales.tsv", "sales"),
        ("gs://bucket/.csv", "csv"),
        ("/data/___.csv", "model"),
        ("/data/" + "a" * 300 + ".csv", "a" * 64),
    ],
)
def test_a_model_name_is_derived_from_the_data_file(source, name):
    assert derive_model_name(source) == name
    assert check_model_name(name) == name


@pytest.mark.parametrize("bad", ["Churned", "-x", "a/b", "..", "versions", "a" * 65, "ümlaut", ""])
def test_an_invalid_model_name_is_refused_in_one_line(bad):
    with pytest.raises(DataValidationError, match="is not valid") as caught:
        check_model_name(bad)
    assert "\n" not in caught.value.message


def test_a_given_name_wins_over_the_derived_one():
    assert resolve_model_name("", "/data/churned.csv") == "churned"
    assert resolve_model_name("retention", "/data/churned.csv") == "retention"


def test_each_name_has_its_own_versions_and_champion(models, tmp_path):
    """A Pima champion does not block a 'churned' model: each name is judged and promoted apart."""
    root = str(tmp_path / "registry")
    pima = Registry(entry_location(root, "pima-indians-diabetes")).promote(models[0], ["first"], T1, expected_champion="")
    churned = Registry(entry_location(root, "churned"))
    assert churned.champion() is None  # the churned model is judged against no champion
    promoted = churned.promote(models[1], ["first"], T2, expected_champion="")
    assert model_names(root) == ["churned", "pima-indians-diabetes"]
    assert Registry(entry_location(root, "pima-indians-diabetes")).champion() == pima
    assert churned.versions() == [promoted.version]


def run(argv, capsys) -> tuple[int, str, str]:
    capsys.readouterr()  # only what this command writes: the set-up's promotions log their own lines
    logger = logging.getLogger("flyte")
    level = logger.level
    logger.setLevel(logging.WARNING)  # as run from a shell, where nothing sends the package's INFO lines anywhere
    try:
        code = main(argv)
    finally:
        logger.setLevel(level)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err, err
    return err


def test_list_names_then_versions(models, tmp_path, capsys):
    root = str(tmp_path / "registry")
    first = Registry(entry_location(root, "pima")).promote(models[0], ["first"], T1, expected_champion="")
    assert run(["list", root], capsys) == (0, f"pima  champion: {first.version}\n", "")
    assert run(["list", root, "pima"], capsys) == (0, f"* {first.version}\n", "")


def test_every_failure_of_the_commands_is_one_line_and_non_zero(models, tmp_path, capsys):
    root = str(tmp_path / "registry")
    code, out, err = run(["list", str(tmp_path / "no" / "such" / "dir")], capsys)
    assert code == 2 and out == "" and "no such model registry" in one_line(err)
    entry = Registry(entry_location(root, "pima"))
    first = entry.promote(models[0], ["first"], T1, expected_champion="")
    code, _, err = run(["list", root, "churned"], capsys)
    assert code == 2 and "no model named 'churned'" in one_line(err) and "names: pima" in err
    code, _, err = run(["rollback", root, "pima", "20990101T000000Z-000000000000"], capsys)
    assert code == 2 and "no such complete version" in one_line(err)
    code, _, err = run(["rollback", root, "Bad/Name", "x"], capsys)
    assert code == 2 and one_line(err)
    # A pointer naming a missing version: list says so (and still lists what can be rolled back to).
    pointer = Path(root, "pima", POINTER)
    raw = json.loads(pointer.read_text())
    pointer.write_text(json.dumps({**raw, "version": "20990101T000000Z-abcdefabcdef"}))
    code, out, err = run(["list", root, "pima"], capsys)
    assert code == 2 and out == f"  {first.version}\n" and "which is missing" in one_line(err)
    # An unreadable pointer: every command refuses it in one line; a rollback repairs it.
    pointer.write_bytes(b"\x00{not json")
    code, _, err = run(["list", root, "pima"], capsys)
    assert code == 2 and "champion.json: not valid JSON" in one_line(err)
    assert run(["rollback", root, "pima", first.version], capsys)[0] == 0
    assert entry.champion().version == first.version


def test_an_unnamed_registry_is_reported_not_read(models, tmp_path, capsys):
    """A registry written before model names (champion.json at its top) is named, with how to keep it."""
    root = tmp_path / "registry"
    Registry(str(root)).promote(models[0], ["old"], T1, expected_champion="")
    code, _, err = run(["list", str(root)], capsys)
    assert code == 2 and "the layout before model names" in one_line(err) and "/NAME/" in err


def test_the_module_command_prints_one_line_without_a_traceback(tmp_path):
    """`python -m flyte.core.registry`, as a user types it."""
    done = subprocess.run(
        [sys.executable, "-m", "flyte.core.registry", "list", str(tmp_path / "nowhere")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"Error: {tmp_path / 'nowhere'}: no such model registry (check the path; training creates it on the first promotion)\n"


def test_stale_staging_is_listed_and_cleaned_and_nothing_else(models, tmp_path, capsys, monkeypatch):
    root = str(tmp_path / "registry")
    entry = Registry(entry_location(root, "pima"))
    first = entry.promote(models[0], ["first"], T1, expected_champion="")

    def crash(self, model_dir, target, names):  # a promotion killed while writing its version
        Path(target, names[0]).write_bytes(b"partial")
        raise OSError("pod killed")

    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(Registry, "_write_files", crash)
        entry.promote(models[1], ["second"], T2, expected_champion=first.identity)
    (staging,) = [p for p in Path(root, "pima", "versions").iterdir() if p.name.startswith(".")]
    assert stale_staging(entry, older_than_hours=1) == []  # too young: it may belong to a live promotion
    old = time.time() - 2 * 3600
    for path in [staging, *staging.iterdir()]:
        os.utime(path, (old, old))
    assert run(["staging", root, "pima"], capsys) == (0, f"stale: {staging}\n", "")
    assert staging.exists()
    assert run(["clean-staging", root, "pima"], capsys) == (0, f"removed: {staging}\n", "")
    assert not staging.exists() and entry.versions() == [first.version] and entry.champion() == first
    assert run(["staging", root, "pima"], capsys)[1] == "no staging older than 1 h\n"


def test_an_incomplete_version_on_s3_is_stale_staging(models, s3, capsys):
    """On an object store a version's files are written in place, its manifest last: without one, it is staging."""
    root = s3.url("registry")
    entry = Registry(entry_location(root, "pima"))
    first = entry.promote(models[0], ["first"], T1, expected_champion="")
    s3.fs.pipe_file(s3.url("registry/pima/versions/20260302T020000Z-0123456789ab/model.ubj"), b"partial")
    assert run(["staging", root, "pima", "--older-than-hours", "0"], capsys)[1] == (
        f"stale: {s3.bucket}/registry/pima/versions/20260302T020000Z-0123456789ab\n"
    )
    assert run(["clean-staging", root, "pima", "--older-than-hours", "0"], capsys)[0] == 0
    assert entry.versions() == [first.version] and entry.champion() == first
