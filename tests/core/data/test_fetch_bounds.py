"""http_download's bounds: redirects re-checked against the caller's allow-list, a size cap, a total deadline,
and no partial file left behind."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

import pytest

from flyte.core.data import fetch
from flyte.core.common.errors import DataValidationError, SourceUnavailableError
from tests.http_servers import raw_server, redirect_to

CSV = b"a,y\n1,0\n2,1\n"


def body(data: bytes, declare: bool = True):
    def answer(handler):
        handler.send_response(200)
        if declare:
            handler.send_header("Content-Length", str(len(data)))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data)
        if not declare:
            handler.close_connection = True

    return answer


def only_host(host: str, port: int):
    def allow(url: str) -> None:
        parsed = urlparse(url)
        if (parsed.hostname, parsed.port) != (host, port):
            raise DataValidationError(f"{url}: not allowed")

    return allow


def test_a_redirect_to_a_host_the_allow_list_refuses_is_not_followed(tmp_path):
    hits = []

    def secret(handler):
        hits.append(handler.path)
        body(b"the other service's secret\n")(handler)

    with raw_server(secret) as other, raw_server(redirect_to(f"{other}/secret")) as allowed:
        port = urlparse(allowed).port
        with pytest.raises(DataValidationError, match="not allowed"):
            fetch.http_download(f"{allowed}/data.csv", tmp_path / "data.csv", 5, 5, allow=only_host("127.0.0.1", port))
    assert hits == []  # the other port was never asked
    assert list(tmp_path.iterdir()) == []


def test_an_allowed_redirect_is_followed(tmp_path):
    with raw_server(body(CSV)) as target, raw_server(redirect_to(f"{target}/data.csv")) as start:
        fetch.http_download(f"{start}/data.csv", tmp_path / "data.csv", 5, 5)
    assert (tmp_path / "data.csv").read_bytes() == CSV


def test_a_redirect_loop_stops_at_the_count(tmp_path):
    hits = []

    def loop(handler):
        hits.append(1)
        redirect_to("/again")(handler)

    with raw_server(loop) as base:
        with pytest.raises(DataValidationError, match="more than 3 redirects"):
            fetch.http_download(f"{base}/x", tmp_path / "x", limits=fetch.FetchLimits(max_redirects=3))
    assert len(hits) == 4
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("declare", [True, False], ids=["announced", "streamed"])
def test_a_body_over_the_cap_is_refused_and_leaves_nothing(tmp_path, declare):
    with raw_server(body(b"x" * 300_000, declare=declare)) as base:
        with pytest.raises(DataValidationError, match="over the cap of 100000 bytes"):
            fetch.http_download(f"{base}/big.csv", tmp_path / "big.csv", limits=fetch.FetchLimits(max_bytes=100_000))
    assert list(tmp_path.iterdir()) == []


def test_a_trickling_server_trips_the_total_deadline(tmp_path):
    stop = threading.Event()

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(200):  # bounded: at most 200 bytes, 20 s, whatever the client does
            if stop.is_set():
                return
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.1)

    limits = fetch.FetchLimits(read_timeout_s=5, deadline_s=1.0)
    try:
        with raw_server(trickle) as base:
            with pytest.raises(SourceUnavailableError, match="deadline of 1 s"):
                fetch.http_download(f"{base}/slow.csv", tmp_path / "slow.csv", limits=limits)
    finally:
        stop.set()
    assert list(tmp_path.iterdir()) == []


def test_the_body_is_staged_and_renamed_into_place(tmp_path, monkeypatch):
    seen = []
    real_replace = fetch.os.replace

    def replace(src, dst):
        seen.append((src, dst, (tmp_path / "data.csv").exists()))
        return real_replace(src, dst)

    monkeypatch.setattr(fetch.os, "replace", replace)
    with raw_server(body(CSV)) as base:
        fetch.http_download(f"{base}/data.csv", tmp_path / "data.csv")
    [(src, dst, existed)] = seen
    assert existed is False and str(dst) == str(tmp_path / "data.csv")
    assert str(src).startswith(str(tmp_path / ".data.csv.")) and str(src).endswith(".partial")
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]


def test_a_crash_mid_download_leaves_no_destination(tmp_path, monkeypatch):
    def crash(fd):
        raise KeyboardInterrupt  # stands for the process dying between the last write and the rename

    monkeypatch.setattr(fetch.os, "fsync", crash)
    with raw_server(body(CSV)) as base:
        with pytest.raises(KeyboardInterrupt):
            fetch.http_download(f"{base}/data.csv", tmp_path / "data.csv")
    assert list(tmp_path.iterdir()) == []


def test_head_rechecks_every_redirect(tmp_path):
    with raw_server(body(CSV)) as other, raw_server(redirect_to(f"{other}/x")) as allowed:
        port = urlparse(allowed).port
        with pytest.raises(DataValidationError, match="not allowed"):
            fetch.http_head(f"{allowed}/x", 5, 5, allow=only_host("127.0.0.1", port))
        assert fetch.http_head(f"{allowed}/x", 5, 5)["size"] == len(CSV)
