"""Web serving figures: requests/s and latency of the site under wrk, against nginx.

Generates a data directory with N articles (default 10,000) in six languages, each
translated into the five others, straight through the store; starts ``polynews serve``'s
``serve()`` (production settings) in its own process; measures the article page, the
home page, a search and a feed with ``wrk``; then nginx (Debian) serving the same
article page as a static file, in the same run. Prints a markdown table.

    .venv/bin/python benchmarks/web.py [--articles 10000] [--duration 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from polynews.config import defaults
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles
from polynews.store.schema_translate import translations
from polynews.store.search import reindex

LANGS = ("en", "es", "de", "fr", "it", "uk")
WORDS = {
    "en": [
        "harbour",
        "council",
        "vote",
        "ferry",
        "night",
        "mayor",
        "budget",
        "river",
        "bridge",
        "school",
        "storm",
        "market",
    ],
    "es": [
        "puerto",
        "consejo",
        "voto",
        "ferry",
        "noche",
        "alcalde",
        "presupuesto",
        "río",
        "puente",
        "escuela",
        "tormenta",
    ],
    "de": [
        "Hafen",
        "Rat",
        "Abstimmung",
        "Fähre",
        "Nacht",
        "Bürgermeister",
        "Haushalt",
        "Fluss",
        "Brücke",
        "Schule",
    ],
    "fr": [
        "port",
        "conseil",
        "vote",
        "ferry",
        "nuit",
        "maire",
        "budget",
        "fleuve",
        "pont",
        "école",
        "tempête",
        "marché",
    ],
    "it": [
        "porto",
        "consiglio",
        "voto",
        "traghetto",
        "notte",
        "sindaco",
        "bilancio",
        "fiume",
        "ponte",
        "scuola",
    ],
    "uk": [
        "порт",
        "рада",
        "голосування",
        "пором",
        "ніч",
        "мер",
        "бюджет",
        "річка",
        "міст",
        "школа",
        "буря",
        "ринок",
    ],
}


def _sentence(rng: random.Random, lang: str, n: int) -> str:
    words = [rng.choice(WORDS[lang]) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def generate(data_dir: Path, count: int) -> None:
    """Fill a fresh data directory with ``count`` published, translated articles."""
    settings = defaults().replace(data_dir=data_dir)
    engine = open_store(settings)
    rng = random.Random(7)
    src = [
        source_store.add_source(
            engine, kind="feed", url=f"http://127.0.0.1:9/{lang}.xml", name=f"Outlet {lang}"
        ).id
        for lang in LANGS
    ]
    now = datetime(2025, 11, 1, tzinfo=UTC)
    batch = 1000
    with engine.begin() as conn:
        for start in range(0, count, batch):
            rows, trows = [], []
            for i in range(start, min(count, start + batch)):
                lang = LANGS[i % len(LANGS)]
                paras = [_sentence(rng, lang, 25) for _ in range(6)]
                rows.append(
                    {
                        "id": i + 1,
                        "source_id": src[i % len(LANGS)],
                        "url": f"http://127.0.0.1:9/{lang}/{i}.html",
                        "status": "ready",
                        "attempts": 1,
                        "title": _sentence(rng, lang, 8),
                        "published_at": now - timedelta(minutes=i),
                        "outlet": f"Outlet {lang}",
                        "language": lang,
                        "canonical_url": f"http://127.0.0.1:9/{lang}/{i}.html",
                        "paragraphs": json.dumps(paras, ensure_ascii=False),
                        "discovered_at": now,
                        "updated_at": now,
                    }
                )
                for target in LANGS:
                    translated = target != lang
                    trows.append(
                        {
                            "article_id": i + 1,
                            "lang": target,
                            "status": "translated" if translated else "original",
                            "engine": "apertium" if translated else None,
                            "engine_version": "3.9" if translated else None,
                            "route": f"apertium {lang}→{target}" if translated else None,
                            "title": _sentence(rng, target, 8) if translated else None,
                            "paragraphs": json.dumps(
                                [_sentence(rng, target, 25) for _ in range(6)], ensure_ascii=False
                            )
                            if translated
                            else None,
                            "updated_at": now,
                        }
                    )
            conn.execute(insert(articles), rows)
            conn.execute(insert(translations), trows)
    reindex(engine)
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, duration: int, connections: int) -> dict[str, float]:
    """Run wrk against ``url``; requests/s and latency percentiles in ms."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {p: _ms(v) for p, v in re.findall(r"\s+(50|75|90|99)%\s+(\S+)", out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": pct["50"],
        "p99": pct["99"],
        "non2xx": float(errors.group(1)) if errors else 0.0,
    }


def search_p95(base: str, n: int = 300) -> tuple[float, float]:
    """p50 and p95 (ms) of sequential searches for varied words, in every language."""
    rng = random.Random(3)
    times = []
    with httpx.Client(base_url=base) as client:
        for i in range(n):
            lang = LANGS[i % len(LANGS)]
            q = " ".join(rng.sample(WORDS[lang], 2))
            t = time.perf_counter()
            r = client.get(f"/{lang}/search", params={"q": q})
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.status_code
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def nginx(root: Path, port: int) -> subprocess.Popen[bytes]:
    """nginx in the foreground with its own config, serving ``root`` on a loopback port."""
    conf = root.parent / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 2;
pid {root.parent}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type text/html;
  client_body_temp_path {root.parent}/tmp_body;
  proxy_temp_path {root.parent}/tmp_proxy;
  fastcgi_temp_path {root.parent}/tmp_fastcgi;
  uwsgi_temp_path {root.parent}/tmp_uwsgi;
  scgi_temp_path {root.parent}/tmp_scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
"""
    )
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(root.parent), "-e", "stderr"])


def main() -> None:
    """Generate, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="polynews-web-bench-"))
    try:
        t = time.monotonic()
        generate(work / "data", args.articles)
        print(
            f"generated {args.articles} articles x 6 languages in {time.monotonic() - t:.0f} s",
            file=sys.stderr,
        )
        port = _free_port()
        code = (
            "import sys\nfrom polynews.config import load_settings\n"
            "from polynews.web import serve\n"
            "s = load_settings(environ={}, overrides={'data_dir': sys.argv[1], "
            "'web_workers': int(sys.argv[3]), 'search_rate_limit': 1e9, "
            "'search_rate_burst': 10**9})\n"
            "serve(s, '127.0.0.1', int(sys.argv[2]))\n"
        )
        server = subprocess.Popen(
            [sys.executable, "-c", code, str(work / "data"), str(port), str(args.workers)]
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base + "/healthz", server)
            article = httpx.get(f"{base}/fr/a/{args.articles // 2}", follow_redirects=True)
            article.raise_for_status()
            article_url = str(article.url)
            urls = {
                "article page": article_url,
                "home page": base + "/en/",
                "search": base + "/en/search?q=harbour+ferry",
                "feed (RSS)": base + "/de/feed.xml",
            }
            for url in urls.values():
                for _ in range(3):
                    httpx.get(url)  # warm every worker's cache
            results = {
                name: wrk(url, args.duration, args.connections) for name, url in urls.items()
            }
            s50, s95 = search_p95(base)
        finally:
            server.terminate()
            server.wait(timeout=20)
        static = work / "static"
        static.mkdir()
        # nginx's workers run as an unprivileged user: let them read the page.
        work.chmod(0o755)
        static.chmod(0o755)
        (static / "article.html").write_bytes(article.content)
        (static / "article.html").chmod(0o644)
        nport = _free_port()
        proc = nginx(static, nport)
        try:
            _wait(f"http://127.0.0.1:{nport}/article.html", proc)
            results["nginx, same page as a file"] = wrk(
                f"http://127.0.0.1:{nport}/article.html", args.duration, args.connections
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = results["article page"]["rps"] / results["nginx, same page as a file"]["rps"]
    print(
        f"\n{args.articles} articles x 6 languages; "
        f"wrk -t2 -c{args.connections} -d{args.duration}s; "
        f"{args.workers} server processes; same 2-core machine for client and server\n"
    )
    print("| request | requests/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['non2xx']:.0f} |")
    print(f"\narticle page vs nginx: {ratio:.0%} of nginx's rate")
    print(f"search, sequential, varied words in 6 languages: p50 {s50:.1f} ms, p95 {s95:.1f} ms")


if __name__ == "__main__":
    main()
