"""Provenance: versions read without imports, the image and commit from the environment or the checkout, never guessed."""

from __future__ import annotations

import subprocess

from flyte.core.data.dataset import DataProfile
from flyte.core.artifact.manifest import Manifest, read_manifest, write_manifest
from flyte.core.artifact.provenance import CODE_ROOT, DataSummary, Provenance, collect, git_commit, summarize

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_an_image_records_its_build_args():
    p = collect("proj:dev:x1", {"GIT_COMMIT": COMMIT + "-dirty", "FLYTE_INTERNAL_IMAGE": "reg/img:v1"})
    assert (p.git_commit, p.git_dirty, p.image, p.execution_id) == (COMMIT, True, "reg/img:v1", "proj:dev:x1")
    assert set(p.libraries) == {"flytekit", "xgboost", "pandas", "pyarrow", "numpy"}
    assert all(p.libraries.values())


def test_a_malformed_commit_is_recorded_as_unknown_not_guessed():
    assert git_commit({"GIT_COMMIT": "main"}) == ("", False)


def test_a_checkout_records_its_head_and_whether_it_is_dirty(tmp_path):
    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "f").write_text("1")
    git("add", "f")
    git("-c", "user.email=a@b", "-c", "user.name=t", "commit", "-qm", "one")
    head = git("rev-parse", "HEAD")
    assert git_commit({}, tmp_path) == (head, False)
    (tmp_path / "f").write_text("2")
    assert git_commit({}, tmp_path) == (head, True)


def test_outside_a_checkout_the_commit_is_empty(tmp_path):
    assert git_commit({}, tmp_path) == ("", False)
    inner = tmp_path / "sub"
    inner.mkdir()
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], check=True)
    assert git_commit({}, inner) == ("", False)  # a package inside another repository: not its commit


def test_this_checkout_is_found():
    commit, _ = git_commit({}, CODE_ROOT)
    assert len(commit) == 40


def test_summary_keeps_the_hashes_and_counts():
    profile = DataProfile(sha256="s" * 64, table_sha256="t" * 64, rows=10, columns=3, target="y",
                          feature_columns=["a", "b"], class_counts={"0": 6, "1": 4}, missing={"a": 1, "b": 0, "y": 0})  # fmt: skip
    s = summarize(profile)
    assert (s.source_sha256, s.table_sha256, s.rows, s.features, s.class_counts, s.missing["a"]) == (
        "s" * 64, "t" * 64, 10, ["a", "b"], {"0": 6, "1": 4}, 1)  # fmt: skip


def test_manifest_fields_round_trip_and_old_manifests_still_read(tmp_path):
    (tmp_path / "a").write_text("x")
    fields = dict(data=DataSummary(rows=5, table_sha256="t" * 64), dataset={"source": "s"}, split_params={"seed": 1},
                  hyperparameters={"seed": 2}, best_iteration=4, metrics={"accuracy": 0.5},
                  provenance=Provenance(python="3.11.7", git_commit=COMMIT, execution_id="local"))  # fmt: skip
    written = write_manifest(tmp_path, ["a"], **fields)
    assert read_manifest(tmp_path, ["a"]) == written
    # A format-1 manifest from before these fields, with an unknown later key: reads with defaults.
    (tmp_path / "manifest.json").write_text('{"format": 1, "files": %s, "later": 1, "provenance": "odd"}' % (
        '{"a": "%s"}' % written.files["a"]))  # fmt: skip
    old = read_manifest(tmp_path, ["a"])
    assert old == Manifest(files=written.files)
