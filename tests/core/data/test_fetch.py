"""Tests for flyte.core.data.fetch: every answer a loopback server can give, sorted into retry or not."""

from __future__ import annotations

import errno
import socket
import threading

import pytest

from flyte.core.data import fetch
from flyte.core.common.errors import DataValidationError, DiskFullError, SourceUnavailableError
from tests.http_servers import Routes, answering_server, closed_port, resetting_server, silent_server

CSV = b"a,y\n1,0\n2,1\n"


def download(url, destination, connect_s=5.0, read_s=5.0):
    return fetch.http_download(url, destination, connect_timeout_s=connect_s, read_timeout_s=read_s)


def test_downloads_the_body(tmp_path):
    routes = Routes()
    routes.add("/data.csv", (200, CSV))
    with answering_server(routes) as base:
        assert download(f"{base}/data.csv", tmp_path / "data.csv").read_bytes() == CSV


@pytest.mark.parametrize("status,words", [(404, "HTTP 404 Not Found"), (403, "HTTP 403 Forbidden"), (410, "HTTP 410 Gone")])
def test_a_refusal_is_a_user_error_naming_the_status(tmp_path, status, words):
    routes = Routes()
    routes.add("/data.csv", (status, b"nope"))
    with answering_server(routes) as base:
        with pytest.raises(DataValidationError) as raised:
            download(f"{base}/data.csv", tmp_path / "data.csv")
    assert str(raised.value) == f"{base}/data.csv: cannot fetch: {words}"
    assert raised.value.hint  # each of these says what to check
    assert not (tmp_path / "data.csv").exists()


@pytest.mark.parametrize("status,words", [(503, "HTTP 503 Service Unavailable"), (429, "HTTP 429 Too Many Requests"), (502, "HTTP 502 Bad Gateway")])
def test_a_busy_server_is_transient(tmp_path, status, words):
    routes = Routes()
    routes.add("/data.csv", (status, b"later"))
    with answering_server(routes) as base:
        with pytest.raises(SourceUnavailableError, match=words):
            download(f"{base}/data.csv", tmp_path / "data.csv")
    assert not (tmp_path / "data.csv").exists()


def test_a_server_that_never_answers_fails_after_the_read_timeout(tmp_path):
    """Run in a thread so a regression (no timeout) fails the test instead of hanging it."""
    outcome = {}

    def attempt():
        try:
            download(f"{base}/data.csv", tmp_path / "data.csv", read_s=0.3)
        except Exception as exc:  # noqa: BLE001 (the test inspects whatever was raised)
            outcome["error"] = exc

    with silent_server() as base:
        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout=60)  # a generous bound for a 0.3 s timeout: only a hang reaches it
        assert not worker.is_alive(), "the download hung: no read timeout"
    assert isinstance(outcome.get("error"), SourceUnavailableError), outcome
    assert "the server sent nothing for 0.3 s" in str(outcome["error"])


def test_a_reset_connection_is_transient_and_leaves_no_file(tmp_path):
    with resetting_server() as base:
        with pytest.raises(SourceUnavailableError, match="connection failed"):
            download(f"{base}/data.csv", tmp_path / "data.csv")
    assert not (tmp_path / "data.csv").exists()


def test_a_refused_connection_is_transient(tmp_path):
    with pytest.raises(SourceUnavailableError, match="Connection refused"):
        download(f"http://127.0.0.1:{closed_port()}/data.csv", tmp_path / "data.csv")


def test_a_host_that_does_not_resolve_is_a_user_error(tmp_path, monkeypatch):
    # The resolver is replaced, so no DNS query leaves the machine: the test is about the classification.
    def no_such_host(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(DataValidationError, match="host name does not resolve"):
        download("http://no-such-host.invalid/data.csv", tmp_path / "data.csv")


def test_a_full_disk_names_the_destination(tmp_path, monkeypatch):
    class FullDisk:
        def __init__(self, path, mode):
            self.path = path
            open(path, mode).close()  # the file exists, as a real partial download would

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fetch, "open", FullDisk, raising=False)
    routes = Routes()
    routes.add("/data.csv", (200, CSV))
    with answering_server(routes) as base:
        with pytest.raises(DiskFullError) as raised:
            download(f"{base}/data.csv", tmp_path / "data.csv")
    assert str(raised.value) == f"{tmp_path / 'data.csv'}: no space left on device"
    assert not (tmp_path / "data.csv").exists()
