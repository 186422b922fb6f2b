"""Locations: one reading of paths, file:// and remote URIs, and one rule for a plain file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyte.core.common import uris


@pytest.mark.parametrize("uri, scheme, is_file", [
    ("data/x.csv", "", True), ("/tmp/x.csv", "", True), ("C:\\data\\x.csv", "", True), ("c:/data/x.csv", "", True),
    ("file:///tmp/x.csv", "file", True), ("s3://bucket/x.csv", "s3", False), ("HTTPS://host/x.csv", "https", False),
    ("bundled://x.csv", "bundled", False),
])  # fmt: skip
def test_scheme_and_locality(uri, scheme, is_file):
    assert uris.scheme(uri) == scheme
    assert uris.is_file(uri) is is_file
    assert uris.is_http(uri) is (scheme in ("http", "https"))


def test_file_path_and_name():
    assert uris.file_path("file:///tmp/a b/x.csv") == Path("/tmp/a b/x.csv")
    assert uris.file_path("rel/x.csv") == Path("rel/x.csv")
    with pytest.raises(ValueError, match="not a local path"):
        uris.file_path("s3://bucket/x.csv")
    assert uris.file_name("s3://bucket/dir/x.csv.gz?versionId=3") == "x.csv.gz"
    assert uris.file_name("https://host/") == "" and uris.file_name("C:\\data\\x.csv") != ""


def test_child_joins_once():
    assert uris.child("s3://b/models/", "v1") == uris.child("s3://b/models", "v1") == "s3://b/models/v1"


@pytest.mark.parametrize("name", ["model.ubj", "manifest.json", "20260101T000000Z-0123456789ab", "pima-indians_2.csv"])
def test_plain_names(name):
    assert uris.is_plain_name(name)


@pytest.mark.parametrize("name", ["", ".", "..", ".staging-x", "a/b", "..\\b", "a\\b", "a b", "-x", None, 3])
def test_names_that_reach_outside_or_hide_are_refused(name):
    assert not uris.is_plain_name(name)
