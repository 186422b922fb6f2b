"""Loopback servers for the fetch tests: fixed answers, a server that never answers, one that resets."""

from __future__ import annotations

import http.server
import socket
import struct
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator


@dataclass
class Route:
    """What the server answers on one path: a list of (status, body), one per request; the last one repeats."""

    answers: list[tuple[int, bytes]]
    hits: int = 0


@dataclass
class Routes:
    by_path: dict[str, Route] = field(default_factory=dict)

    def add(self, path: str, *answers: tuple[int, bytes]) -> None:
        self.by_path[path] = Route(list(answers))


@contextmanager
def serving(handler: type, daemon_threads: bool = False) -> Iterator[str]:
    """``handler`` served on a free loopback port in a background thread; yields the base URL, then stops."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = daemon_threads
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def answering_server(routes: Routes) -> Iterator[str]:
    """An http server on 127.0.0.1 answering each path as ``routes`` says (404 for unknown paths); yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            route = routes.by_path.get(self.path)
            if route is None:
                status, body = 404, b"no such file"
            else:
                status, body = route.answers[min(route.hits, len(route.answers) - 1)]
                route.hits += 1
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the test output clean
            pass

    with serving(Handler) as url:
        yield url


@contextmanager
def silent_server() -> Iterator[str]:
    """A socket that completes the TCP handshake (the kernel does, from the listen backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@contextmanager
def resetting_server(declared: int = 1000, sent: bytes = b"a,y\n1,0\n") -> Iterator[str]:
    """Answers 200 declaring ``declared`` bytes, sends ``sent`` (fewer), then resets the connection (TCP RST)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % declared + sent)
                # SO_LINGER with a zero timeout makes close() send RST instead of FIN: a reset, not an end.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        sock.close()


def closed_port() -> int:
    """A loopback port with nothing listening on it: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def raw_server(answer) -> Iterator[str]:
    """An http server on 127.0.0.1 whose every GET or HEAD is answered by ``answer(handler)`` (write the status,
    headers and body yourself); yields its base URL. For redirects, trickled bodies and bodies of any size."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            try:
                answer(self)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up, as the test wants
                pass

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    with serving(Handler, daemon_threads=True) as url:
        yield url


def redirect_to(location: str):
    """An ``answer`` for raw_server: 302 to ``location``."""

    def answer(handler):
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer
