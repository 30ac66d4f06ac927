"""The file raw archive: WARC records written per process, rotated, read back and checked."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from warcio.archiveiterator import ArchiveIterator

from polynews.config import defaults
from polynews.errors import ArchiveError, ConfigError
from polynews.model import FetchResult
from polynews.store import articles as store
from polynews.store.archive import FileWriter, RawArchive, RecordLocation, archive_of
from polynews.store.schema import raw_responses


def page(body: bytes, url: str = "https://a.example/story", **headers: str) -> FetchResult:
    """A fetched page as the fetcher returns it."""
    return FetchResult(
        url=url,
        final_url=url + "?from=feed",
        status=200,
        headers={"content-type": "text/html; charset=utf-8", **headers},
        body=body,
        fetched_at=datetime(2026, 12, 2, 9, 30, 1, 123456, tzinfo=UTC),
        sha256=hashlib.sha256(body).hexdigest(),
        content_type="text/html",
        encoding="utf-8",
    )


def records(path: Path) -> list[tuple[int, str, str | None]]:
    """(offset, WARC-Type, WARC-Target-URI) of every record, digests checked by warcio."""
    found = []
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle, check_digests=True)
        for record in iterator:
            record.content_stream().read()
            found.append(
                (
                    iterator.get_record_offset(),
                    record.rec_type,
                    record.rec_headers.get_header("WARC-Target-URI"),
                )
            )
    return found


def test_binary_and_text_bodies_round_trip_byte_exact_on_both_databases(engine: Engine) -> None:
    rng = random.Random(7)
    bodies = [
        bytes(range(256)) * 64,  # every byte value, NUL and CR LF included
        rng.randbytes(300_000),  # incompressible
        "<p>Привіт — ünïcödé</p>\r\n\r\n".encode() * 100,
        b"",
        b"HTTP/1.1 200 OK\r\nWARC/1.1\r\n\r\n",  # looks like the framing around it
    ]
    ids = []
    with engine.begin() as conn:
        for i, body in enumerate(bodies):
            ids.append(store.save_raw(conn, page(body, f"https://a.example/{i}")))
    with engine.connect() as conn:
        for raw_id, body in zip(ids, bodies, strict=True):
            back = store.load_raw(conn, raw_id)
            assert back.body == body
            assert back.sha256 == hashlib.sha256(body).hexdigest()
            assert back.url.startswith("https://a.example/")
            assert back.headers["content-type"] == "text/html; charset=utf-8"
        root = archive_of(conn).file_root()
    (warc,) = root.glob("*.warc.gz")
    kinds = [kind for _, kind, _ in records(warc)]
    assert kinds == ["warcinfo"] + ["response", "metadata"] * len(bodies)


def test_response_record_holds_status_headers_uri_date_and_sha256_digest(tmp_path: Path) -> None:
    archive = RawArchive(data_dir=tmp_path)
    body = b"<html><body>plain</body></html>"
    result = page(body, **{"content-encoding": "gzip", "etag": '"v1"'})
    location = archive.save(result)
    assert location.file.startswith("archive/polynews-") and location.file.endswith(".warc.gz")
    data = (tmp_path / location.file).read_bytes()[
        location.offset : location.offset + location.length
    ]
    record = next(iter(ArchiveIterator(io.BytesIO(data))))
    assert record.rec_type == "response"
    assert record.rec_headers.get_header("WARC-Target-URI") == result.final_url
    assert record.rec_headers.get_header("WARC-Date") == "2026-12-02T09:30:01.123456Z"
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    assert digest.startswith("sha256:")
    assert record.http_headers.statusline == "200 OK"
    assert record.http_headers.get_header("ETag") == '"v1"'
    # The body is stored decoded: the wire's encoding is kept only as the original header.
    assert record.http_headers.get_header("Content-Encoding") is None
    assert record.http_headers.get_header("X-Archive-Orig-content-encoding") == "gzip"
    assert record.content_stream().read() == body


def test_files_rotate_by_size_and_every_record_stays_readable(tmp_path: Path) -> None:
    archive = RawArchive(data_dir=tmp_path, max_file_bytes=20_000)
    rng = random.Random(3)
    saved = []
    for i in range(30):
        body = rng.randbytes(rng.randrange(1, 6000))
        saved.append((archive.save(page(body, f"https://r.example/{i}")), body))
    files = sorted((tmp_path / "archive").glob("*.warc.gz"))
    assert len(files) >= 5
    for path in files:
        assert path.stat().st_size <= 20_000 + 6000 + 2000  # one record may pass the mark
        assert f"-{os.getpid()}-" in path.name
        assert records(path)[0][1] == "warcinfo"  # every file opens with its own warcinfo
    assert len({loc.file for loc, _ in saved}) == len(files)
    for location, body in saved:
        digest = hashlib.sha256(body).hexdigest()
        assert archive.load(location, sha256=digest, url="u") == body


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    archive = RawArchive(data_dir=tmp_path)
    location = archive.save(page(b"gone soon"))
    archive.close()
    (tmp_path / location.file).unlink()
    with pytest.raises(ArchiveError, match="is missing; restore it from a backup"):
        archive.load(location, sha256=hashlib.sha256(b"gone soon").hexdigest(), url="u")


def test_a_record_that_is_not_the_recorded_one_fails_its_digest(tmp_path: Path) -> None:
    archive = RawArchive(data_dir=tmp_path)
    first = archive.save(page(b"first page"))
    second = archive.save(page(b"second page"))
    with pytest.raises(ArchiveError, match="does not match its SHA-256"):
        archive.load(second, sha256=hashlib.sha256(b"first page").hexdigest(), url="u")
    assert archive.load(first, sha256=hashlib.sha256(b"first page").hexdigest(), url="u")


def test_a_changed_byte_in_the_file_is_caught(tmp_path: Path) -> None:
    archive = RawArchive(data_dir=tmp_path)
    body = b"<p>" + b"x" * 5000 + b"</p>"
    location = archive.save(page(body))
    archive.close()
    path = tmp_path / location.file
    data = bytearray(path.read_bytes())
    data[location.offset + location.length // 2] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="archived record"):
        archive.load(location, sha256=hashlib.sha256(body).hexdigest(), url="u")


def test_a_location_past_the_caps_or_a_bomb_is_refused_without_reading_it_all(
    tmp_path: Path,
) -> None:
    archive = RawArchive(data_dir=tmp_path, max_record_bytes=10_000)
    with pytest.raises(ArchiveError, match="raise it to read this record"):
        archive.load(RecordLocation("archive/x.warc.gz", 0, 5_000_000), sha256="0", url="u")
    # A gzip member that expands far past the cap (a record of a megabyte of zeros).
    bomb = gzip.compress(b"WARC/1.1\r\n" + b"\0" * 5_000_000)
    path = tmp_path / "archive" / "bomb.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(bomb)
    with pytest.raises(ArchiveError, match="decompresses past"):
        archive.load(RecordLocation("archive/bomb.warc.gz", 0, len(bomb)), sha256="0", url="u")


def test_a_body_over_the_read_cap_written_earlier_is_refused_clearly(tmp_path: Path) -> None:
    body = b"y" * 50_000
    location = RawArchive(data_dir=tmp_path).save(page(body))
    small = RawArchive(data_dir=tmp_path, max_record_bytes=10_000)
    with pytest.raises(ArchiveError, match=r"holds more than 10000 bytes|decompresses past"):
        small.load(location, sha256=hashlib.sha256(body).hexdigest(), url="u")


def test_a_row_without_a_record_fails_that_row_only(engine: Engine) -> None:
    with engine.begin() as conn:
        broken = store.save_raw(conn, page(b"one", "https://b.example/1"))
        fine = store.save_raw(conn, page(b"two", "https://b.example/2"))
        conn.execute(
            update(raw_responses).where(raw_responses.c.id == broken).values(warc_file=None)
        )
    with engine.connect() as conn:
        with pytest.raises(ArchiveError, match="never archived"):
            store.load_raw(conn, broken)
        assert store.load_raw(conn, fine).body == b"two"


# -- several writers, killed writers -------------------------------------------------------

_WRITER = """
import hashlib, json, sys
from datetime import UTC, datetime
from pathlib import Path
from polynews.model import FetchResult
from polynews.store.archive import RawArchive

archive = RawArchive(data_dir=Path(sys.argv[1]), max_file_bytes=int(sys.argv[2]))
for i in range(int(sys.argv[3])):
    body = (f"<p>{sys.argv[4]} {i}</p>" * (1 + i % 50)).encode()
    result = FetchResult(
        url=f"https://w.example/{i}", final_url=f"https://w.example/{i}", status=200,
        headers={}, body=body, fetched_at=datetime.now(UTC),
        sha256=hashlib.sha256(body).hexdigest(), content_type="text/html", encoding=None,
    )
    loc = archive.save(result)
    # As the pipeline does: the location is made known only after the record is stored.
    print(json.dumps([loc.file, loc.offset, loc.length, result.sha256]), flush=True)
"""


def _writer(data_dir: Path, count: int, tag: str, max_file_bytes: int = 10**9) -> list[str]:
    return [sys.executable, "-c", _WRITER, str(data_dir), str(max_file_bytes), str(count), tag]


def _check_all(archive: RawArchive, lines: list[str]) -> None:
    for line in lines:
        file, offset, length, sha = json.loads(line)
        archive.load(RecordLocation(file, offset, length), sha256=sha, url=file)


def test_concurrent_writer_processes_each_write_their_own_files(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(_writer(tmp_path, 150, f"w{n}", 30_000), stdout=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].splitlines() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    archive = RawArchive(data_dir=tmp_path)
    files_of = []
    for proc, lines in zip(procs, outputs, strict=True):
        assert len(lines) == 150
        _check_all(archive, lines)
        files = {json.loads(line)[0] for line in lines}
        assert all(f"-{proc.pid}-" in f for f in files)
        files_of.append(files)
    assert not (files_of[0] & files_of[1] or files_of[1] & files_of[2])
    for path in (tmp_path / "archive").glob("*.warc.gz"):
        assert len(records(path)) > 1  # each whole file is valid WARC, digests and all


def test_a_killed_writer_leaves_nothing_that_poisons_later_reads_or_writes(
    tmp_path: Path,
) -> None:
    proc = subprocess.Popen(_writer(tmp_path, 100_000, "killed"), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    done = [proc.stdout.readline() for _ in range(40)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done += [line for line in proc.stdout.read().splitlines() if line]
    proc.stdout.close()
    (path,) = (tmp_path / "archive").glob("*.warc.gz")
    # Whatever the kill cut, add the worst case: half a record at the end of the file.
    partial = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + b"z" * 4000)
    with path.open("ab") as handle:
        handle.write(partial[: len(partial) // 2])
    archive = RawArchive(data_dir=tmp_path)
    _check_all(archive, done)
    # A new process never appends after the cut: it writes a file of its own.
    again = subprocess.run(
        _writer(tmp_path, 20, "after"), capture_output=True, text=True, timeout=60, check=True
    )
    lines = again.stdout.splitlines()
    assert all(json.loads(line)[0] != f"archive/{path.name}" for line in lines)
    _check_all(archive, lines + done)


def test_a_restarted_process_with_the_same_pid_never_reuses_a_file(tmp_path: Path) -> None:
    first = RawArchive(data_dir=tmp_path)
    a = first.save(page(b"a"))
    # A second archive in this process stands for a container restarted with the same pid.
    second = RawArchive(data_dir=tmp_path)
    b = second.save(page(b"b"))
    assert a.file != b.file
    assert first.load(a, sha256=hashlib.sha256(b"a").hexdigest(), url="u") == b"a"
    assert second.load(b, sha256=hashlib.sha256(b"b").hexdigest(), url="u") == b"b"


def test_a_forked_child_writes_its_own_file_not_its_parents(tmp_path: Path) -> None:
    archive = RawArchive(data_dir=tmp_path)
    parent_loc = archive.save(page(b"parent"))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write, report the location, exit at once
        try:
            loc = archive.save(page(b"child"))
            os.write(write_end, json.dumps([loc.file, loc.offset, loc.length]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        file, offset, length = json.loads(pipe.read())
    os.waitpid(pid, 0)
    parent_again = archive.save(page(b"parent again"))
    assert file != parent_loc.file and parent_again.file == parent_loc.file
    child_loc = RecordLocation(file, offset, length)
    assert archive.load(child_loc, sha256=hashlib.sha256(b"child").hexdigest(), url="u")
    for loc, body in ((parent_loc, b"parent"), (parent_again, b"parent again")):
        assert archive.load(loc, sha256=hashlib.sha256(body).hexdigest(), url="u") == body
    assert [k for _, k, _ in records(tmp_path / parent_loc.file)] == [
        "warcinfo", "response", "metadata", "response", "metadata",
    ]  # fmt: skip


def test_a_failed_write_abandons_the_file(tmp_path: Path) -> None:
    archive = RawArchive(data_dir=tmp_path)
    first = archive.save(page(b"before"))
    writer = archive.writer
    os.close(writer._fd)  # type: ignore[attr-defined]  # the disk goes away under it
    with pytest.raises(ArchiveError, match="could not write"):
        archive.save(page(b"lost"))
    after = archive.save(page(b"after"))
    assert after.file != first.file
    assert archive.load(after, sha256=hashlib.sha256(b"after").hexdigest(), url="u") == b"after"


def test_an_archive_outside_the_data_directory_records_absolute_paths(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    archive = RawArchive(data_dir=tmp_path / "data", archive_url=f"file:{elsewhere}")
    location = archive.save(page(b"abs"))
    assert Path(location.file).is_absolute() and location.file.startswith(str(elsewhere))
    relative = RawArchive(data_dir=tmp_path / "data", archive_url="file:warcs")
    assert relative.save(page(b"rel")).file.startswith("warcs/")


def test_the_archive_is_synced_before_the_row_commits(engine: Engine) -> None:
    with engine.begin() as conn:
        store.save_raw(conn, page(b"durable"))
        writer = archive_of(conn).writer
        assert writer._dirty  # type: ignore[attr-defined]  # written, not yet synced
    assert not writer._dirty  # type: ignore[attr-defined]  # synced by the commit


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("archive_url", "ftp://bucket/x"),
        ("archive_url", "s3://"),
        ("archive_url", "s3://key:secret@bucket/x"),
        ("archive_url", "/var/lib/polynews/warc"),  # a path needs file:
        ("archive_s3_endpoint", "minio:9000"),
        ("archive_max_file_bytes", 0),
    ],
)
def test_archive_settings_are_validated(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=name):
        defaults().replace(**{name: value})


def test_archive_settings_accept_the_documented_forms() -> None:
    for url in ("", "file:warcs", "file:/srv/warc", "s3://bucket", "s3://bucket/wire/raw"):
        assert defaults().replace(archive_url=url).archive_url == url
    assert defaults().replace(archive_s3_endpoint="http://127.0.0.1:9000").archive_s3_endpoint


def test_hostile_header_names_values_and_urls_cannot_break_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Values as an old row may hold them (a lone surrogate survives a JSON round trip),
    # names no server should send, a URL with a space and an injected line.
    result = page(
        b"payload",
        "https://h.example/a b\r\nWARC-Type: revisit",
        **{"x-bad": "\ud800 é 中\r\nInjected: yes", "bad name: x": "v", "": "empty"},
    )
    archive = RawArchive(data_dir=tmp_path)
    location = archive.save(result)
    assert archive.load(location, sha256=result.sha256, url="u") == b"payload"
    (path,) = (tmp_path / "archive").glob("*.warc.gz")
    with path.open("rb") as handle:
        found = [r for r in ArchiveIterator(handle) if r.rec_type == "response"]
        (record,) = found
        assert record.rec_headers.get_header("WARC-Target-URI") == (
            "https://h.example/a%20b%20%20WARC-Type:%20revisit?from=feed"
        )
        assert record.http_headers.get_header("Injected") is None
        assert record.http_headers.get_header("bad-name--x") == "v"
        record.content_stream().read()
    assert capsys.readouterr().out == ""  # warcio printed no warning


def test_a_new_file_starts_at_midnight_utc(tmp_path: Path) -> None:
    days = iter(
        [datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC)] * 2
        + [datetime(2026, 12, 3, 0, 0, 1, tzinfo=UTC)] * 2
    )
    writer = FileWriter(tmp_path, max_file_bytes=10**9, label="", clock=lambda: next(days))
    before = [writer.append(b"one", b""), writer.append(b"two", b"")]
    after = [writer.append(b"three", b""), writer.append(b"four", b"")]
    assert before[0][0] == before[1][0] and "-20261202-" in before[0][0]
    assert after[0][0] == after[1][0] and "-20261203-" in after[0][0]
    writer.close()


def test_saving_without_a_bound_archive_says_how_to_open_the_store(tmp_path: Path) -> None:
    from polynews.store import create_db_engine, migrate

    engine = create_db_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    try:
        migrate(engine)
        with engine.begin() as conn, pytest.raises(ArchiveError, match="open_store"):
            store.save_raw(conn, page(b"x"))
    finally:
        engine.dispose()
