"""The raw archive on an S3-compatible store: moto's S3 server on 127.0.0.1, real HTTP."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import test_settings
from tests.store.test_archive import page

from polynews.errors import ArchiveError
from polynews.store import articles as store
from polynews.store import create_db_engine, migrate
from polynews.store.archive import RawArchive, RecordLocation, bind_archive

SECRET = "s3cr3t-Never-In-Logs-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server, started for these tests and stopped after them."""
    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        pytest.fail(f"{server} is missing: moto[server] is a test dependency")
    port = _free_port()
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def bucket(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """A fresh bucket, with credentials in the environment as an operator would set them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTPOLYNEWS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    import boto3

    name = "polynews-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def _archive(tmp_path: Path, endpoint: str, url: str) -> RawArchive:
    return RawArchive(data_dir=tmp_path, archive_url=url, s3_endpoint=endpoint)


def test_pages_round_trip_through_s3_byte_exact(
    tmp_path: Path, s3_endpoint: str, bucket: str
) -> None:
    archive = _archive(tmp_path, s3_endpoint, f"s3://{bucket}/wire/raw")
    bodies = [bytes(range(256)) * 100, b"", "<p>Привіт</p>".encode() * 1000]
    saved = [archive.save(page(body, f"https://s.example/{i}")) for i, body in enumerate(bodies)]
    for location, body in zip(saved, bodies, strict=True):
        assert location.file.startswith(f"s3://{bucket}/wire/raw/") and location.offset == 0
        assert location.file.endswith(".warc.gz")
        back = archive.load(location, sha256=hashlib.sha256(body).hexdigest(), url="u")
        assert back == body
    assert not (tmp_path / "archive").exists()  # nothing written locally


def test_save_raw_and_load_raw_on_s3_through_the_database(
    tmp_path: Path, s3_endpoint: str, bucket: str
) -> None:
    settings = test_settings(
        tmp_path, archive_url=f"s3://{bucket}", archive_s3_endpoint=s3_endpoint
    )
    engine = create_db_engine(settings.database)
    try:
        bind_archive(engine, RawArchive.from_settings(settings))
        migrate(engine)
        with engine.begin() as conn:
            raw_id = store.save_raw(conn, page(b"\x00\x01binary\xff"))
        with engine.connect() as conn:
            assert store.load_raw(conn, raw_id).body == b"\x00\x01binary\xff"
        # Switching the archive back to files keeps the S3 records readable.
        bind_archive(engine, RawArchive.from_settings(settings.replace(archive_url="")))
        with engine.connect() as conn:
            assert store.load_raw(conn, raw_id).body == b"\x00\x01binary\xff"
    finally:
        engine.dispose()


def test_a_deleted_object_and_a_replaced_object_are_clear_errors(
    tmp_path: Path, s3_endpoint: str, bucket: str
) -> None:
    import boto3

    archive = _archive(tmp_path, s3_endpoint, f"s3://{bucket}")
    gone = archive.save(page(b"will be deleted"))
    swapped = archive.save(page(b"will be replaced"))
    other = archive.save(page(b"another page, same length!"))
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    key = gone.file.removeprefix(f"s3://{bucket}/")
    client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ArchiveError, match="does not exist"):
        archive.load(gone, sha256=hashlib.sha256(b"will be deleted").hexdigest(), url="u")
    data = client.get_object(Bucket=bucket, Key=other.file.removeprefix(f"s3://{bucket}/"))
    client.put_object(
        Bucket=bucket, Key=swapped.file.removeprefix(f"s3://{bucket}/"), Body=data["Body"].read()
    )
    with pytest.raises(ArchiveError, match=r"SHA-256|cut short|holds"):
        archive.load(swapped, sha256=hashlib.sha256(b"will be replaced").hexdigest(), url="u")


def test_a_missing_bucket_fails_the_write_clearly_and_logs_no_secret(
    tmp_path: Path, s3_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    archive = _archive(tmp_path, s3_endpoint, f"s3://{bucket}-absent/x")
    with pytest.raises(ArchiveError, match="NoSuchBucket") as failure:
        archive.save(page(b"nowhere to go"))
    good = _archive(tmp_path, s3_endpoint, f"s3://{bucket}")
    location = good.save(page(b"somewhere"))
    good.load(location, sha256=hashlib.sha256(b"somewhere").hexdigest(), url="u")
    assert caplog.records  # botocore and polynews did log at debug level
    assert SECRET not in caplog.text
    assert SECRET not in str(failure.value)


def test_an_unreachable_endpoint_is_an_archive_error(tmp_path: Path, bucket: str) -> None:
    archive = _archive(tmp_path, f"http://127.0.0.1:{_free_port()}", f"s3://{bucket}")
    with pytest.raises(ArchiveError, match="could not store a record"):
        archive.save(page(b"x"))
    with pytest.raises(ArchiveError, match="cannot read"):
        archive.load(RecordLocation(f"s3://{bucket}/k", 0, 10), sha256="0", url="u")
