"""Tests for flyte.core.data.fingerprint: what decides whether ingest reads a source again."""

from __future__ import annotations

import dataclasses

from flyte.core.data.dataset import DatasetSpec
from flyte.core.data.fingerprint import local_fingerprint, reading_digest, remote_fingerprint


def spec(path, **kw) -> DatasetSpec:
    return DatasetSpec(source=str(path), target="y", **kw)


def test_same_bytes_at_another_path_have_the_same_fingerprint(tmp_path):
    (tmp_path / "a.csv").write_text("a,y\n1,0\n")
    (tmp_path / "b.csv").write_text("a,y\n1,0\n")
    first, second = local_fingerprint(tmp_path / "a.csv", spec(tmp_path / "a.csv")), local_fingerprint(tmp_path / "b.csv", spec(tmp_path / "b.csv"))
    assert first == second and first.identity.startswith("sha256:") and len(first.content_sha256) == 64


def test_an_edit_in_place_changes_it(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,y\n1,0\n")
    before = local_fingerprint(path, spec(path))
    path.write_text("a,y\n1,1\n")
    assert local_fingerprint(path, spec(path)).identity != before.identity


def test_reading_options_are_part_of_it_but_not_the_location(tmp_path):
    assert reading_digest(spec("a.csv")) == reading_digest(spec("elsewhere/b.csv"))
    assert reading_digest(spec("a.csv")) != reading_digest(spec("a.csv", delimiter=";"))
    assert set(dataclasses.asdict(spec("a.csv"))) - {"source"}  # every other option is in the digest


def test_remote_fingerprints_follow_the_store_validators():
    s = spec("https://example.com/a.csv")
    one = remote_fingerprint("https://example.com/a.csv", {"ETag": '"abc"', "size": 10}, s)
    assert one == remote_fingerprint("https://example.com/a.csv", {"ETag": '"abc"', "size": 10, "mimetype": "text/csv"}, s)
    assert one != remote_fingerprint("https://example.com/a.csv", {"ETag": '"abd"', "size": 10}, s)
    assert one != remote_fingerprint("https://example.com/b.csv", {"ETag": '"abc"', "size": 10}, s)  # ETags are per URL
    assert one.content_sha256 == ""


def test_a_remote_source_without_validators_is_never_reused():
    s = spec("https://example.com/a.csv")
    assert remote_fingerprint("https://example.com/a.csv", {"size": 10}, s) != remote_fingerprint(
        "https://example.com/a.csv", {"size": 10}, s
    )
