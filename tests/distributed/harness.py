"""Real processes for the distributed tests: ``polynews worker`` and ``polynews scheduler``
as subprocesses of this interpreter, on this checkout (PYTHONPATH is passed on), with the
test's settings given on their command lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from polynews.config import SETTINGS, Settings, defaults


def cli_args(settings: Settings) -> list[str]:
    """Global options that give a subprocess exactly ``settings`` (those off their default)."""
    base = defaults()
    args = ["--data-dir", str(settings.data_dir)]
    for row in SETTINGS:
        value = getattr(settings, row.name)
        if row.name == "data_dir" or value == getattr(base, row.name):
            continue
        text = ",".join(value) if isinstance(value, tuple) else str(value)
        args += ["--set", f"{row.name}={text}"]
    return args


def polynews(settings: Settings, *command: str) -> list[str]:
    """The command line of ``polynews <command>`` with ``settings``."""
    return [sys.executable, "-m", "polynews.cli", *cli_args(settings), *command]


class Proc:
    """A polynews subprocess whose output goes to a log file the test can read."""

    def __init__(self, argv: Sequence[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.popen = subprocess.Popen(
            list(argv), stdout=self._log, stderr=subprocess.STDOUT, env=env
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def output(self) -> str:
        """Everything it wrote so far."""
        return self.log_path.read_text("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Wait until ``text`` appears in its output (or fail with the output)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen in:\n{self.output()[-4000:]}")

    def kill9(self) -> None:
        """SIGKILL, as a crash would."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._log.close()


@contextmanager
def workers(settings: Settings, tmp: Path, n: int, *extra: str) -> Iterator[list[Proc]]:
    """``n`` worker processes, ready (consuming) on entry, stopped on exit."""
    procs = [Proc(polynews(settings, "worker", *extra), tmp / f"worker-{i}.log") for i in range(n)]
    try:
        for proc in procs:
            proc.wait_for("ready.", timeout=90)
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def run_scheduler_once(settings: Settings, tmp: Path, *, timeout: float = 240) -> Proc:
    """``polynews scheduler --once --all`` to its end; fails on a non-zero exit."""
    proc = Proc(polynews(settings, "scheduler", "--once", "--all"), tmp / "scheduler.log")
    try:
        code = proc.popen.wait(timeout)
    finally:
        proc.stop()
    assert code == 0, proc.output()[-4000:]
    return proc


def stats(settings: Settings) -> dict[str, object]:
    """``polynews stats --json`` of ``settings``' database."""
    done = subprocess.run(
        polynews(settings, "stats", "--json"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def comparable(data: dict[str, object]) -> dict[str, object]:
    """The counts the issue compares: articles, duplicates, stories, translations, errors."""
    return {k: data.get(k) for k in ("articles", "duplicates", "stories", "translations", "errors")}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own on a free port, without persistence, that the
    test can restart (everything it held is lost, as after a crash)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        import redis

        self._proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with redis.Redis.from_url(self.url) as client:
                    if client.ping():
                        return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        """Kill the server (SIGKILL: nothing is saved)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None

    def restart(self, down_for: float = 1.0) -> None:
        """Kill it, wait ``down_for`` seconds, start it again on the same port, empty."""
        self.stop()
        time.sleep(down_for)
        self.start()
