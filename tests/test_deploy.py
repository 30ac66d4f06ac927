"""deploy/: the systemd units, environment files and nginx site checked by the real tools.

``systemd-analyze verify`` (systemd is on every Debian machine) and ``nginx -t`` (nginx is
in scripts/apt-packages.txt for the serving benchmarks) read the files as they ship, with
only the paths that do not exist on a test machine pointed elsewhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from polynews.config import SETTINGS_BY_NAME

DEPLOY = Path(__file__).parents[1] / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
ENV_FILES = sorted(DEPLOY.glob("*.env"))


def _assignments(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: {line!r} is not NAME=VALUE"
            out[name] = value
    return out


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_environment_files_set_only_real_settings(path: Path) -> None:
    for name, value in _assignments(path).items():
        if name.startswith("POLYNEWS_"):
            setting = name.removeprefix("POLYNEWS_").lower()
            assert setting in SETTINGS_BY_NAME, f"{path.name}: {name} is not a setting"
            SETTINGS_BY_NAME[setting].convert(value)  # and its value is valid
        else:
            assert name in ("WORKER_QUEUES", "WORKER_CONCURRENCY"), name


def test_every_worker_file_gives_queues_and_concurrency() -> None:
    workers = [p for p in ENV_FILES if p.name.startswith("worker-")]
    assert {p.name for p in workers} >= {"worker-fetch.env", "worker-translate.env"}
    for path in workers:
        values = _assignments(path)
        assert values["WORKER_QUEUES"] and int(values["WORKER_CONCURRENCY"]) >= 1
    unit = (DEPLOY / "polynews-worker@.service").read_text("utf-8")
    assert "EnvironmentFile=/etc/polynews/worker-%i.env" in unit
    assert "${WORKER_QUEUES}" in unit and "${WORKER_CONCURRENCY}" in unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_units_pass_systemd_analyze(unit: Path, tmp_path: Path) -> None:
    text = unit.read_text("utf-8")
    # Point the program and the environment files at ones that exist here.
    text = text.replace("/opt/polynews/.venv/bin/polynews", shutil.which("true") or "/bin/true")
    for env in re.findall(r"EnvironmentFile=(\S+)", text):
        local = tmp_path / Path(env.replace("%i", "fetch")).name
        local.write_text("WORKER_QUEUES=fetch\nWORKER_CONCURRENCY=1\n", "utf-8")
        text = text.replace(env, str(local).replace("worker-fetch", "worker-%i"))
    name = unit.name.replace("@.service", "@fetch.service")
    (tmp_path / name).write_text(text, "utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line
        for line in done.stderr.splitlines()
        # the machine running the tests may lack the units named in After=
        if line.strip() and "redis-server.service" not in line and "postgresql" not in line
    ]
    assert not problems, done.stderr


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=news.example.org", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = (DEPLOY / "nginx.conf").read_text("utf-8")
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    (tmp_path / "site.conf").write_text(site, "utf-8")
    (tmp_path / "logs").mkdir()
    main = f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n include {tmp_path}/site.conf;\n}}\n"
    (tmp_path / "nginx.conf").write_text(main, "utf-8")
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
