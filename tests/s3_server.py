"""A real S3-protocol server for the tests: moto's S3 in server mode on 127.0.0.1, spoken to over HTTP through s3fs,
exactly as a pod or a Dask worker reaches an object store.

Use the ``s3`` fixture (a fresh bucket per test; import it into a test module, or from conftest):
    from tests.s3_server import s3, s3_server  # noqa: F401 (fixtures)
    def test_x(s3): path = s3.url("data/x.csv"); s3.fs.pipe_file(path, b"...")
It sets the environment every client reads: botocore's AWS_ENDPOINT_URL_S3 (s3fs, flytekit's data layer, Dask
workers started afterwards), fsspec's FSSPEC_S3_* and flytekit's FLYTE_AWS_*, with throwaway credentials.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest

#: Serves moto's S3 one request at a time. Real S3 checks a conditional write's precondition and stores the object
#: as one step; moto's threaded server checks, then stores, without a lock between, so two concurrent conditional
#: PUTs could both pass its check. Serialising the requests gives moto the atomicity S3 documents.
_SERVER = """
import sys, threading
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()

def serial(environ, start_response):
    with lock:
        return list(app(environ, start_response))

server = make_server("127.0.0.1", 0, serial, threaded=True, request_handler=MotoRequestHandler)
print(server.server_port, flush=True)
server.serve_forever()
"""

REGION = "us-east-1"  # moto creates buckets without a location constraint only here
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class S3Bucket:
    """A bucket on the test server. endpoint: http://127.0.0.1:PORT; fs: an s3fs file system speaking to it."""

    endpoint: str
    bucket: str
    fs: object

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}".rstrip("/")


def environment(endpoint: str) -> dict[str, str]:
    """The variables that point every S3 client of this process and its children at ``endpoint``."""
    return {
        **CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "FSSPEC_S3_ENDPOINT_URL": endpoint,
        "FSSPEC_S3_KEY": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "FSSPEC_S3_SECRET": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "FLYTE_AWS_ENDPOINT": endpoint,
        "FLYTE_AWS_ACCESS_KEY_ID": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "FLYTE_AWS_SECRET_ACCESS_KEY": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="session")
def s3_server():
    """The server's endpoint URL; it runs in its own process for the whole session."""
    process = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the S3 test server did not start (exit status {process.poll()})"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def s3(s3_server, monkeypatch) -> S3Bucket:
    """A new, empty bucket on the test server, with this process's environment and fsspec pointed at the server."""
    import fsspec.config
    import s3fs

    for name, value in environment(s3_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": s3_server, **_fsspec_credentials()})
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem(endpoint_url=s3_server, **_fsspec_credentials())
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    fs.call_s3("create_bucket", Bucket=bucket)
    yield S3Bucket(endpoint=s3_server, bucket=bucket, fs=fs)
    close_async_clients()


def _fsspec_credentials() -> dict[str, str]:
    return {"key": CREDENTIALS["AWS_ACCESS_KEY_ID"], "secret": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}


@pytest.fixture
def s3_as_a_pod(s3, monkeypatch) -> S3Bucket:
    """The bucket reached only as a Flyte pod reaches its store: through FLYTE_AWS_* (flytekit's data config), with
    no AWS_ENDPOINT_URL and no fsspec defaults; flytekit's file access is rebuilt from that environment."""
    import fsspec.config
    import s3fs
    from flytekit import FlyteContextManager
    from flytekit.configuration import DataConfig
    from flytekit.core.data_persistence import FileAccessProvider

    keep = ("FLYTE_AWS_", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED", "AWS_DEFAULT_REGION")
    for name in environment(s3.endpoint):
        if not name.startswith(keep):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(fsspec.config.conf, "s3", {})
    s3fs.S3FileSystem.clear_instance_cache()
    ctx = FlyteContextManager.current_context()
    provider = FileAccessProvider(
        local_sandbox_dir=ctx.file_access.local_sandbox_dir, raw_output_prefix=ctx.file_access.raw_output_prefix,
        data_config=DataConfig.auto(),
    )  # fmt: skip
    with FlyteContextManager.with_context(ctx.with_file_access(provider)):
        yield s3


def close_async_clients() -> None:
    """Close the s3fs clients flytekit's file access opened on its event loop. s3fs closes only its synchronous
    instances when they are collected; an asynchronous one left open is reported by flytekit's loop as an ERROR
    ("Unclosed client session") whenever the collector reaches it, after the test summary as often as not."""
    import s3fs
    from flytekit.utils.asyn import loop_manager

    for fs in list(s3fs.S3FileSystem._cache.values()):
        if fs.asynchronous and fs._s3 is not None:
            loop_manager.run_sync(fs._s3.__aexit__, None, None, None)
            fs._s3 = None
    s3fs.S3FileSystem.clear_instance_cache()
