"""The task runner in scripts/ and .ci/run: the commands the README and CI rely on."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["setup", "postgres", "redis", "check", "test", "demo", "bench"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root, capturing its output as text."""
    return subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_ci_run_execs_scripts_test_and_nothing_else() -> None:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    code = [line.strip() for line in lines[1:] if line.strip() and not line.startswith("#")]
    assert lines[0] == "#!/usr/bin/env bash"
    assert code == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "exec scripts/test"]


@pytest.mark.parametrize("path", [f"scripts/{name}" for name in SCRIPTS] + [".ci/run"])
def test_script_is_executable_bash_that_parses(path: str) -> None:
    script = ROOT / path
    assert os.access(script, os.X_OK), f"{path} is not executable (chmod +x {path})"
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    result = run("bash", "-n", path)
    assert result.returncode == 0, result.stderr


def test_setup_refuses_an_unknown_option_with_a_hint() -> None:
    result = run("scripts/setup", "--frobnicate")
    assert result.returncode == 2
    assert "unknown option '--frobnicate'" in result.stderr
    assert "scripts/setup --help" in result.stderr


def test_setup_a_second_time_installs_nothing() -> None:
    env = {**os.environ, "POLYNEWS_SKIP_APT": "1"}
    first = run("scripts/setup", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run("scripts/setup", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    lines = [line for line in second.stdout.splitlines() if "waiting for another" not in line]
    assert lines == [
        "setup: apt packages ... skipped (POLYNEWS_SKIP_APT=1 or --skip-apt)",
        "setup: python packages ... ok (up to date with pyproject.toml)",
    ]


@pytest.mark.parametrize("name", ["no_such_benchmark", "../src/polynews/config"])
def test_bench_refuses_a_name_that_is_not_a_benchmark(name: str) -> None:
    result = run("scripts/bench", name)
    assert result.returncode == 2
    assert f"no benchmark named '{name}'" in result.stderr
    available = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py"))
    assert f"available: {' '.join(available)}" in result.stderr


def test_postgres_url_names_the_test_database() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYNEWS_PG_")}
    result = run("scripts/postgres", "url", env=env)
    assert result.returncode == 0
    assert result.stdout == "postgresql+psycopg://postgres@127.0.0.1:54329/polynews_test\n"


def test_the_tests_get_the_redis_server_scripts_redis_runs(redis_url: str) -> None:
    import redis

    assert (
        redis_url.rsplit("/", 1)[0] == run("scripts/redis", "url").stdout.strip().rsplit("/", 1)[0]
    )
    with redis.Redis.from_url(redis_url) as client:
        client.set("polynews:probe", "1")
        assert client.get("polynews:probe") == b"1"
        assert client.dbsize() == 1  # a database of this test's own


@pytest.mark.postgres
def test_the_tests_get_the_server_scripts_postgres_runs() -> None:
    url = os.environ.get("POLYNEWS_TEST_DATABASE_URL")
    if not url:
        pytest.skip("POLYNEWS_TEST_DATABASE_URL is unset; run the suite with scripts/test")
    assert url == run("scripts/postgres", "url").stdout.strip()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT current_database(), inet_server_addr()::text").fetchone()
        assert row == ("polynews_test", "127.0.0.1/32")
        # Search folds case in every site language, which the C locale would not do.
        assert conn.execute("SELECT lower('ПРИВІТ ÉTÉ')").fetchone() == ("привіт été",)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def private_postgres() -> Iterator[dict[str, str]]:
    """Environment for scripts/postgres pointing at a server of its own, deleted afterwards."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL is not installed; run scripts/setup")
    # Not pytest's tmp_path: its parent is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="polynews-pg-test-", dir="/tmp"))
    base.chmod(0o755)
    env = {**os.environ, "POLYNEWS_PG_PORT": str(_free_port()), "POLYNEWS_PG_DIR": str(base)}
    try:
        yield env
    finally:
        run("scripts/postgres", "destroy", env=env)
        shutil.rmtree(base, ignore_errors=True)


def _holder() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _running(env: dict[str, str]) -> bool:
    return run("scripts/postgres", "status", env=env).returncode == 0


@pytest.mark.postgres
def test_postgres_shared_by_two_runs_stops_after_the_last(private_postgres: dict[str, str]) -> None:
    env = private_postgres
    first, second = _holder(), _holder()
    try:
        assert run("scripts/postgres", "acquire", str(first.pid), env=env).returncode == 0
        assert run("scripts/postgres", "acquire", str(second.pid), env=env).returncode == 0
        assert run("scripts/postgres", "release", str(first.pid), env=env).returncode == 0
        assert _running(env), "stopped while a second run still used it"
        assert run("scripts/postgres", "release", str(second.pid), env=env).returncode == 0
        assert not _running(env), "left running after the last run released it"
    finally:
        for proc in (first, second):
            proc.kill()
            proc.wait()


@pytest.mark.postgres
def test_postgres_started_by_hand_outlives_test_runs(private_postgres: dict[str, str]) -> None:
    env = private_postgres
    started = run("scripts/postgres", "start", env=env)
    assert started.returncode == 0, started.stderr
    assert run("scripts/postgres", "start", env=env).returncode == 0, "a second start must be fine"
    holder = _holder()
    try:
        assert run("scripts/postgres", "acquire", str(holder.pid), env=env).returncode == 0
        assert run("scripts/postgres", "release", str(holder.pid), env=env).returncode == 0
    finally:
        holder.kill()
        holder.wait()
    assert _running(env)
    url = run("scripts/postgres", "url", env=env).stdout.strip()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("polynews_test",)


def test_postgres_refuses_an_unknown_command() -> None:
    result = run("scripts/postgres", "frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr
