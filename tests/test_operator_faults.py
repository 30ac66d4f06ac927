"""Operator faults: a killed parent, a broken config, a full disk, a read-only archive.

Each runs the real command line in a subprocess (what an operator sees: one line on
stderr, no traceback). A full disk is a real tmpfs of a few hundred kilobytes; a
read-only data directory is a tmpfs remounted read-only (as root, file modes do not stop
writes) or, for an ordinary user, a directory without write permission.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from tests.conftest import _postgres_database, test_settings
from tests.ingest.localserver import Handler, LocalServer
from tests.web.conftest import seed
from typer.testing import CliRunner

from polynews.cli import app
from polynews.store import create_db_engine, migrate

CLI = [sys.executable, "-m", "polynews.cli"]
IS_ROOT = os.geteuid() == 0


def polynews(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the command line; return its outcome."""
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line in this process (faster); same outcome as :func:`polynews`."""
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # what would have been a traceback
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int, *parts: str) -> str:
    """The command failed with ``code`` and exactly one ``polynews: error:`` line."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("polynews: error:")]
    assert len(errors) == 1, done.stderr
    for part in parts:
        assert part in errors[0], errors[0]
    return errors[0]


# -- processes ----------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    """Every live (not zombie) process below ``pid``."""
    table = _process_table()
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, state) in table.items():
            if ppid == parent and child not in found and state != "Z":
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids of ``pids`` still running (zombies waiting for a reaper count as gone)."""
    table = _process_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


def wait_for(condition: object, timeout: float, what: str) -> None:
    """Poll ``condition()`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _kill_all(pids: set[int]) -> None:
    for pid in alive(pids):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _spawned_workers(pid: int) -> set[int]:
    """Multiprocessing workers spawned by ``pid`` (not its resource tracker)."""
    workers = set()
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.add(child)
    return workers


def _kill_parent_and_check_workers_exit(parent: subprocess.Popen[bytes], workers: set[int]) -> None:
    parent.kill()  # SIGKILL: no clean-up, no atexit, no pool shutdown
    parent.wait(timeout=10)
    try:
        wait_for(lambda: not alive(workers), 5, "the workers to exit after their parent died")
    finally:
        _kill_all(workers)


@pytest.mark.parametrize(
    "start",
    [
        "asyncio.run(main())",
        "t = threading.Thread(target=asyncio.run, args=(main(),)); t.start(); t.join()",
    ],
    ids=["death-signal", "watchdog-only"],  # a pool started off the main thread
)
def test_executor_workers_die_with_their_parent(tmp_path: Path, start: str) -> None:
    script = tmp_path / "busy.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, threading, time
            from polynews.executor import ProcessExecutor

            def busy(marker):
                open(marker, "w").close()  # this worker is up and at work
                time.sleep(600)

            async def main():
                executor = ProcessExecutor(2, chunk=1)
                await executor.map(busy, [{str(tmp_path)!r} + f"/busy{{n}}" for n in range(3)])

            if __name__ == "__main__":
                {start}
            """
        ),
        "utf-8",
    )
    parent = subprocess.Popen([sys.executable, str(script)])
    workers: set[int] = set()
    try:
        wait_for(lambda: len(list(tmp_path.glob("busy[0-9]"))) == 2, 60, "two busy workers")
        workers = _spawned_workers(parent.pid)
        assert len(workers) == 2
        _kill_parent_and_check_workers_exit(parent, workers)
    finally:
        _kill_all(workers | descendants(parent.pid))
        parent.kill()
        parent.wait()


def _article(n: int) -> bytes:
    text = f"The harbour council met for the {n}th time to discuss the new lock gates. " * 6
    return (
        f"<html><head><title>Harbour report {n}</title></head><body><article>"
        f"<h1>Harbour report {n}</h1><p>{text}</p><p>{text}</p><p>{text}</p>"
        "</article></body></html>"
    ).encode()


def test_fetch_workers_die_when_fetch_is_killed(tmp_path: Path) -> None:
    # 210 pages in 10 feeds: the first 200 page requests are answered, later ones hang.
    # Whatever the chunk size and per-source share of a pass, some pages are analysed by
    # the workers while others hang, so the workers are up when the pass is killed.
    server = LocalServer()
    release = threading.Event()
    answered = 200
    count = [0]
    lock = threading.Lock()

    def page(handler: Handler) -> None:
        with lock:
            count[0] += 1
            hang = count[0] > answered
        if hang:
            release.wait(60)
        handler.reply(200, _article(int(handler.path.rsplit("/", 1)[1].split(".")[0])))

    outlines = []
    for feed_no in range(10):
        items = []
        for n in range(feed_no * 21, feed_no * 21 + 21):
            path = f"/news/{n}.html"
            server.routes[path] = page
            items.append(f"<item><title>Report {n}</title><link>{server.url(path)}</link></item>")
        body = (
            f"<rss version='2.0'><channel><title>H{feed_no}</title>{''.join(items)}</channel></rss>"
        )
        server.static(f"/feed{feed_no}.xml", body.encode(), "application/rss+xml")
        outlines.append(
            f"<outline text='H{feed_no}' xmlUrl='{server.url(f'/feed{feed_no}.xml')}'/>"
        )
    opml = tmp_path / "feeds.opml"
    opml.write_text(f"<opml version='2.0'><body>{''.join(outlines)}</body></opml>", "utf-8")
    data = tmp_path / "data"
    flags = [
        "--data-dir", str(data), "--set", "allow_private_networks=127.0.0.0/8",
        "--set", "per_host_delay=0", "--set", "per_host_concurrency=16", "--set", "workers=2",
        "--set", "translate=false", "--set", "total_timeout=120", "--set", "read_timeout=120",
    ]  # fmt: skip
    workers: set[int] = set()
    with server.running():
        assert cli(*flags, "sources", "import", str(opml)).returncode == 0
        fetch = subprocess.Popen([*CLI, *flags, "fetch"], stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: len(_spawned_workers(fetch.pid)) == 2, 90, "two extraction workers")
            wait_for(lambda: count[0] > answered, 60, "a hanging page")
            workers = _spawned_workers(fetch.pid)
            _kill_parent_and_check_workers_exit(fetch, workers)
        finally:
            release.set()
            _kill_all(workers | descendants(fetch.pid))
            fetch.kill()
            fetch.wait()


# -- one clear line instead of a traceback ------------------------------------------------


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "polynews.toml"
    config.write_bytes('site_title = "Nouvelles de la cité"\n'.encode("latin-1"))
    done = cli("--config", str(config), "--data-dir", str(tmp_path), "config")
    assert_one_line_error(done, 2, str(config), "not UTF-8")


def test_deeply_nested_opml_is_one_line(tmp_path: Path) -> None:
    depth = 100_000
    opml = tmp_path / "deep.opml"
    opml.write_bytes(
        b"<opml version='2.0'><body>"
        + b"<outline text='x'>" * depth
        + b"<outline xmlUrl='https://deep.example/feed.xml'/>"
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    done = polynews("--data-dir", str(tmp_path / "data"), "sources", "import", str(opml))
    assert_one_line_error(done, 1)
    listed = polynews("--data-dir", str(tmp_path / "data"), "sources", "list", "--json")
    assert json.loads(listed.stdout) == []


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real, small filesystem at ``path`` (root only), unmounted afterwards."""
    if not IS_ROOT:
        pytest.skip("a small real filesystem needs root to mount a tmpfs")
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "polynews-test", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make the directory ``path`` (a tmpfs when root) unwritable for polynews."""
    if IS_ROOT:
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield
        return
    modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
    for p in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def _fill(directory: Path, *, leave: int = 0) -> None:
    """Write into ``directory`` until its filesystem is full, then free ``leave`` bytes."""
    _write_until_full(directory / "filler")
    if leave:
        (directory / "filler").unlink()
        (directory / "reserve").write_bytes(b"\0" * leave)
        _write_until_full(directory / "filler")
        (directory / "reserve").unlink()


def _write_until_full(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "leave",
    [0, 128 * 1024],
    ids=["full-before-the-run", "full-during-the-run"],
)
def test_a_full_disk_is_one_line(tmp_path: Path, leave: int) -> None:
    # With no byte left SQLite cannot even make its -shm file (an "I/O error"); with a
    # little left it opens, then runs out writing ("database or disk is full").
    with tmpfs(tmp_path / "small", "2m") as data:
        assert cli("--data-dir", str(data), "stats").returncode == 0  # migrated: fits
        _fill(data, leave=leave)
        opml = tmp_path / "many.opml"
        outlines = "".join(
            f"<outline text='Feed {n} {'x' * 180}' xmlUrl='https://f{n}.example/rss.xml'/>"
            for n in range(3000)
        )
        opml.write_text(f"<opml version='2.0'><body>{outlines}</body></opml>", "utf-8")
        done = cli("--data-dir", str(data), "sources", "import", str(opml))
        assert_one_line_error(done, 1, "is full", str(data))
        (data / "filler").unlink()  # with room again, the archive is intact
        listed = cli("--data-dir", str(data), "sources", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)) < 3000


def test_a_read_only_data_directory_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "archive"
    with tmpfs(data, "8m") if IS_ROOT else _plain_dir(data):
        assert cli("--data-dir", str(data), "stats").returncode == 0
        with read_only(data):
            for command in (["sources", "add", "https://x.example/rss.xml"], ["fetch"]):
                done = cli("--data-dir", str(data), *command)
                assert_one_line_error(done, 1, str(data), "read-only", "writable")
            for command in (["stats"], ["sources", "list"]):  # reading needs no write access
                done = cli("--data-dir", str(data), *command)
                assert done.returncode == 0, done.stderr


@contextmanager
def _plain_dir(path: Path) -> Iterator[Path]:
    path.mkdir()
    yield path


# -- serve --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int, Callable[[], str]]]:
    """``polynews serve`` on a free port until the block ends.

    Yields its base URL, its pid and a function returning what it logged so far.
    """
    port = _free_port()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [*CLI, *args, "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, **(env or {})},
        )
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"serve exited {proc.returncode}: {log.read()[-3000:]}")
            try:
                return httpx.get(base + "/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_for(up, 60, "the server to answer")
            yield base, proc.pid, lambda: Path(f"/proc/self/fd/{log.fileno()}").read_text()
        finally:
            proc.terminate()  # SIGTERM, as systemd stops a service
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _kill_all(descendants(proc.pid))
                proc.kill()
                proc.wait()


def test_serve_works_on_a_read_only_archive(tmp_path: Path) -> None:
    data = tmp_path / "archive"
    with tmpfs(data, "16m") if IS_ROOT else _plain_dir(data):
        settings = test_settings(data)
        engine = create_db_engine(settings.database)
        migrate(engine)
        seed(engine)
        engine.dispose()
        assert not (data / "polynews.db-wal").exists()  # checkpointed on close
        before = sorted(p.name for p in data.iterdir())
        with (
            read_only(data),
            serving("--data-dir", str(data), "--set", "web_workers=2") as (base, _pid, logged),
        ):
            for _ in range(4):  # reach both workers
                page = httpx.get(base + "/fr/", timeout=10)
                assert page.status_code == 200
                assert "écluse du port rouvre" in page.text
                found = httpx.get(base + "/fr/search", params={"q": "écluse"}, timeout=10)
                assert found.status_code == 200
                assert "écluse du port rouvre" in found.text
                api = httpx.get(base + "/api/v1/articles", timeout=10)
                assert api.status_code == 200
            time.sleep(1.5)  # past the page cache's data version check
            assert httpx.get(base + "/fr/", timeout=10).status_code == 200
            assert "failed" not in logged() and "error" not in logged().lower(), logged()
        assert sorted(p.name for p in data.iterdir()) == before


def test_server_workers_die_with_serve(tmp_path: Path) -> None:
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("polynews-serve-*"))
    with serving("--data-dir", str(tmp_path), "--set", "web_workers=2") as (base, pid, _logged):
        workers = _spawned_workers(pid)
        assert len(workers) == 2
        try:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not alive(workers), 5, "the server workers to exit after serve died")
            with pytest.raises(httpx.TransportError):
                httpx.get(base + "/healthz", timeout=2)  # nobody serves on, orphaned
        finally:
            _kill_all(workers)
            for left in set(tmp.glob("polynews-serve-*")) - before:  # a kill -9 leaves it
                shutil.rmtree(left)


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def test_serve_workers_get_no_secret_in_their_environment(tmp_path: Path) -> None:
    gen = _postgres_database()
    url = next(gen)
    try:
        secret_password = "db-pass-5ecret"
        with_password = url.replace("://postgres@", f"://postgres:{secret_password}@")
        assert secret_password in with_password
        config = tmp_path / "polynews.toml"
        config.write_text(f'database_url = "{with_password}"\n', "utf-8")
        token = "api-t0ken-5ecret"
        args = ["--config", str(config), "--data-dir", str(tmp_path), "--set", "web_workers=2"]
        tmp = Path(tempfile.gettempdir())
        before = set(tmp.glob("polynews-serve-*"))
        with serving(*args, env={"POLYNEWS_API_TOKEN": token}) as (base, pid, _logged):
            workers = descendants(pid)
            assert len(_spawned_workers(pid)) == 2
            for worker in workers:
                environ = _environ(worker)
                assert environ, f"cannot read the environment of {worker}"
                assert secret_password.encode() not in environ
                assert token.encode() not in environ
            # the workers still have the secrets they need: the token guards writes
            refused = httpx.post(
                base + "/api/v1/sources",
                json={"url": "https://x.example/rss.xml"},
                headers={"Authorization": "Bearer wrong"},
                timeout=10,
            )
            assert refused.status_code in (401, 403)
            accepted = httpx.post(
                base + "/api/v1/sources",
                json={"url": "https://x.example/rss.xml"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert accepted.status_code in (200, 201), accepted.text
            (private,) = set(tmp.glob("polynews-serve-*")) - before
            assert private.stat().st_mode & 0o077 == 0
            assert (private / "settings.json").stat().st_mode & 0o077 == 0
        assert not private.exists(), "the settings file outlived the server"
    finally:
        gen.close()
