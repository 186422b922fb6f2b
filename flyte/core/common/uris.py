"""Locations (plain paths, ``file://``, ``s3://``, ``http(s)://`` ...) and the plain names of files in a directory."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

HTTP_SCHEMES = ("http", "https")
#: A plain name: one entry of a directory, never a path (no separator), never hidden, '.' or '..'.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def scheme(uri: str) -> str:
    """The URI's scheme, lower case; "" for a plain path (a Windows drive letter such as ``C:`` is a path)."""
    found = urlparse(uri).scheme
    return "" if len(found) == 1 else found


def is_http(uri: str) -> bool:
    """True for an ``http://`` or ``https://`` URL."""
    return scheme(uri) in HTTP_SCHEMES


def is_file(uri: str) -> bool:
    """True for a plain path or a ``file://`` URI: a location on this machine's disk."""
    return scheme(uri) in ("", "file")


def file_path(uri: str) -> Path:
    """The path a plain path or ``file://`` URI names; ValueError for any other scheme."""
    if scheme(uri) == "file":
        return Path(urlparse(uri).path)
    if scheme(uri):
        raise ValueError(f"{uri[:200]}: not a local path")
    return Path(uri)


def file_name(uri: str) -> str:
    """The last part of the URI's path ("" when it ends in '/')."""
    return Path(urlparse(uri).path).name if scheme(uri) else Path(uri).name


def child(uri: str, name: str) -> str:
    """The location of ``name`` inside the directory ``uri`` (a path or any URI; a trailing '/' is allowed)."""
    return f"{uri.rstrip('/')}/{name}"


def is_plain_name(name: object) -> bool:
    """True when ``name`` is a plain file name (letters, digits, '.', '_', '-', starting with a letter or digit):
    it names an entry of the directory itself, so a name read from a manifest, a pointer or a listing cannot
    reach outside it or a hidden staging entry."""
    return isinstance(name, str) and _PLAIN_NAME.fullmatch(name) is not None
