"""Web serving figures: requests/s and latency of the site under wrk, against nginx.

Generates a database with N articles (default 10,000) in six languages, each translated
into the five others, straight through the store, with text of a realistic vocabulary
(30,000 words per language, Zipf frequencies) so that searches match what they would in
real news; builds the search index the way the pipeline does. Starts ``polynews serve``'s
``serve()`` (production settings) in its own process and measures the article page, the
home page, a search and a feed with ``wrk``; then nginx (Debian) serving the same article
page as a static file, in the same run.

Each URL gets two wrk runs: a *saturation* run (many connections: the most requests/s)
and a *latency* run at moderate concurrency, whose p99 is the figure checked against the
latency target -- under a saturating closed loop on a 2-core machine, p99 mostly measures
the load generator fighting the server for CPU. By default the server and nginx run on
CPU 0 and wrk on CPU 1 (taskset), with the same number of processes each, so the ratio to
nginx is fair. Prints a markdown table headed by the date, machine, load and commands.

    .venv/bin/python benchmarks/web.py [--articles 10000] [--duration 10] [--connections 32]
        [--latency-connections 4] [--workers 1] [--no-pin] [--database-url EMPTY_PG_URL]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, insert, select

from polynews.config import Settings, load_settings
from polynews.store import open_store
from polynews.store import sources as source_store
from polynews.store.schema import articles
from polynews.store.schema_translate import translations
from polynews.store.search import reindex

LANGS = ("en", "es", "de", "fr", "it", "uk")
VOCABULARY = 30_000
"""Distinct words per language in the generated text."""
ZIPF_S = 1.0
QUERY_RANKS = (40, 4000)
"""Query words are drawn (by frequency) from these vocabulary ranks: content words, not
the stop words at the head nor the one-off words of the tail."""

# The most frequent words of each language, written out; the rest of the vocabulary is
# made of each language's letters, syllable by syllable, so that word frequencies (and so
# index posting-list lengths) follow Zipf's law as real text does.
HEAD = {
    "en": "the of and to a in that is for on was with he it as at by said from his "
    "an be has have are were will not but this they which who council city year "
    "government people police minister new",
    "es": "de la que el en y a los se del las un por con no una su para es al lo "
    "como más pero sus le ha me si sin sobre este ya entre cuando todo esta ser son "
    "gobierno ciudad año",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein "
    "eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind "
    "Stadt Regierung Jahr",
    "fr": "de la le et les des en un du une que est pour qui dans a par plus pas au "
    "sur ne se ce il sont avec ou son elle mais aux ont été ville gouvernement année",
    "it": "di e il la che in a per un è del non una le si con i da gli al come più "
    "dei alla ha anche nel sono ma ci della città governo anno",
    "uk": "і в на що з не до у за як від про та це його але він для так було вже "
    "також під міста уряд року після може коли",
}
SYLLABLES = {
    "en": (
        "b c d f g h l m n p r s t w br cr st tr sh th ch",
        "a e i o u ea ou ai oo",
        "n r s t l d ck ng st rd",
    ),
    "es": ("b c d f g l m n p r s t v br cr tr pl ch ll", "a e i o u ia ie ue", "n r s l d z"),
    "de": (
        "b d f g h k l m n p r s t w z sch st br kr tr",
        "a e i o u ä ö ü ei au ie",
        "n r s t l ch ck ng tz",
    ),
    "fr": ("b c d f g l m n p r s t v br cr tr ch pr", "a e i o u é è ou ai eau", "n r s t l x"),
    "it": ("b c d f g l m n p r s t v br cr tr gn sc", "a e i o u ia io", "n r l"),
    "uk": (
        "б в г д ж з к л м н п р с т ф х ц ч ш бр пр тр ст",
        "а е и і о у я ю є ї",
        "н р с т л й к",
    ),
}


def vocabulary(lang: str) -> list[str]:
    """VOCABULARY distinct words of ``lang``, the most frequent first."""
    rng = random.Random(f"vocabulary-{lang}")
    onsets, vowels, codas = (part.split() for part in SYLLABLES[lang])
    words = list(dict.fromkeys(HEAD[lang].split()))
    seen = {w.lower() for w in words}
    while len(words) < VOCABULARY:
        n = rng.choice((1, 2, 2, 2, 3, 3, 4))
        word = "".join(
            rng.choice(onsets)
            + rng.choice(vowels)
            + (rng.choice(codas) if rng.random() < 0.3 else "")
            for _ in range(n)
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_weights(n: int) -> list[float]:
    """Cumulative Zipf-Mandelbrot weights for ranks 1..n."""
    out, total = [], 0.0
    for rank in range(1, n + 1):
        total += 1.0 / (rank + 2.7) ** ZIPF_S
        out.append(total)
    return out


class Writer:
    """Sentences and paragraphs of one language with Zipf word frequencies."""

    def __init__(self, lang: str, rng: random.Random) -> None:
        self.words = vocabulary(lang)
        self.cum = zipf_weights(len(self.words))
        self.rng = rng

    def sentence(self, n: int) -> str:
        """A sentence of ``n`` words."""
        words = self.rng.choices(self.words, cum_weights=self.cum, k=n)
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def paragraphs(self) -> list[str]:
        """An article body: 5 to 9 paragraphs of 2 or 3 sentences (about 250 words)."""
        rng = self.rng
        return [
            " ".join(self.sentence(rng.randint(8, 20)) for _ in range(rng.randint(2, 3)))
            for _ in range(rng.randint(5, 9))
        ]


def queries(lang: str, n: int, rng: random.Random) -> list[str]:
    """``n`` typical queries in ``lang``: one or two content words, common ones more often."""
    words = vocabulary(lang)[QUERY_RANKS[0] : QUERY_RANKS[1]]
    cum = zipf_weights(QUERY_RANKS[1])[QUERY_RANKS[0] :]
    base = cum[0]
    cum = [c - base + 1e-9 for c in cum]
    return [" ".join(rng.choices(words, cum_weights=cum, k=rng.choice((1, 2)))) for _ in range(n)]


def generate(settings: Settings, count: int) -> dict[str, float]:
    """Fill a fresh database with ``count`` published articles, each translated into the
    five other languages, then build the search index; returns seconds per step."""
    engine = open_store(settings)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(articles)).scalar_one():
            raise SystemExit("the database already holds articles; give an empty one")
    rng = random.Random(7)
    writers = {lang: Writer(lang, rng) for lang in LANGS}
    src = [
        source_store.add_source(
            engine, kind="feed", url=f"http://127.0.0.1:9/{lang}.xml", name=f"Outlet {lang}"
        ).id
        for lang in LANGS
    ]
    now = datetime(2025, 11, 1, tzinfo=UTC)
    batch = 1000
    t = time.monotonic()
    for start in range(0, count, batch):
        rows, trows = [], []
        for i in range(start, min(count, start + batch)):
            lang = LANGS[i % len(LANGS)]
            rows.append(
                {
                    "id": i + 1,
                    "source_id": src[i % len(LANGS)],
                    "url": f"http://127.0.0.1:9/{lang}/{i}.html",
                    "status": "ready",
                    "attempts": 1,
                    "title": writers[lang].sentence(rng.randint(6, 11)),
                    "published_at": now - timedelta(minutes=i),
                    "outlet": f"Outlet {lang}",
                    "language": lang,
                    "canonical_url": f"http://127.0.0.1:9/{lang}/{i}.html",
                    "paragraphs": json.dumps(writers[lang].paragraphs(), ensure_ascii=False),
                    "discovered_at": now,
                    "updated_at": now,
                }
            )
            for target in LANGS:
                translated = target != lang
                w = writers[target]
                trows.append(
                    {
                        "article_id": i + 1,
                        "lang": target,
                        "status": "translated" if translated else "original",
                        "engine": "apertium" if translated else None,
                        "engine_version": "3.9" if translated else None,
                        "route": f"apertium {lang}→{target}" if translated else None,
                        "title": w.sentence(rng.randint(6, 11)) if translated else None,
                        "paragraphs": json.dumps(w.paragraphs(), ensure_ascii=False)
                        if translated
                        else None,
                        "updated_at": now,
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(articles), rows)
            conn.execute(insert(translations), trows)
    steps = {"articles": time.monotonic() - t}
    t = time.monotonic()
    reindex(engine)
    steps["index"] = time.monotonic() - t
    engine.dispose()
    return steps


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


def wrk(url: str, duration: int, connections: int, pin: str | None) -> dict[str, float]:
    """Run wrk (one thread, pinned to CPU ``pin``) against ``url``; req/s and latency in ms."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if pin is not None:
        command = ["taskset", "-c", pin, *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {p: _ms(v) for p, v in re.findall(r"\s+(50|75|90|99)%\s+(\S+)", out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": pct["50"],
        "p99": pct["99"],
        "non2xx": float(errors.group(1)) if errors else 0.0,
    }


def search_times(base: str, n: int = 300) -> tuple[float, float, float]:
    """p50, p95 and max (ms) of sequential searches for typical queries in every language."""
    rng = random.Random(3)
    per_lang = {lang: queries(lang, n // len(LANGS) + 1, rng) for lang in LANGS}
    times = []
    with httpx.Client(base_url=base) as client:
        for i in range(n):
            lang = LANGS[i % len(LANGS)]
            q = per_lang[lang][i // len(LANGS)]
            t = time.perf_counter()
            r = client.get(f"/{lang}/search", params={"q": q})
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.status_code
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], times[-1]


def nginx(root: Path, port: int, workers: int, cpu: str | None) -> subprocess.Popen[bytes]:
    """nginx in the foreground with its own config, serving ``root`` on a loopback port."""
    conf = root.parent / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes {workers};
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
    command = ["nginx", "-c", str(conf), "-p", str(root.parent), "-e", "stderr"]
    return subprocess.Popen(_pinned(command, cpu))


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure over repeated runs, the worst p99 and all non-2xx."""
    out = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")}
    out["worst_p99"] = max(r["p99"] for r in runs)
    out["non2xx"] = sum(r["non2xx"] for r in runs)
    return out


def _pinned(command: list[str], cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu, *command] if cpu is not None else command


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    """Generate, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections of the saturation runs"
    )
    parser.add_argument(
        "--latency-connections",
        type=int,
        default=4,
        help="wrk connections of the latency runs (their p99 is the figure for the target)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of runs; the table gives medians"
    )
    parser.add_argument("--workers", type=int, default=1, help="server (and nginx) processes")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server and nginx to CPU 0 and wrk to CPU 1",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="an EMPTY PostgreSQL database to use instead of SQLite in the data directory",
    )
    args = parser.parse_args()
    server_cpu, client_cpu = (None, None) if args.no_pin else ("0", "1")
    work = Path(tempfile.mkdtemp(prefix="polynews-web-bench-"))
    started = datetime.now(UTC)
    load_before = _load()
    try:
        overrides: dict[str, object] = {"data_dir": str(work / "data")}
        if args.database_url:
            overrides["database_url"] = args.database_url
        settings = load_settings(environ={}, overrides=overrides)
        t = time.monotonic()
        cpu = time.process_time()
        steps = generate(settings, args.articles)
        generated = (time.monotonic() - t, time.process_time() - cpu)
        print(
            f"generated {args.articles} articles x 6 languages in {generated[0]:.0f} s "
            f"({generated[1]:.0f} CPU s; articles {steps['articles']:.0f} s, "
            f"search index {steps['index']:.0f} s)",
            file=sys.stderr,
        )
        port = _free_port()
        code = (
            "import sys, json\nfrom polynews.config import load_settings\n"
            "from polynews.web import serve\n"
            "o = json.loads(sys.argv[1])\n"
            "o.update(web_workers=int(sys.argv[3]), search_rate_limit=1e9, "
            "search_rate_burst=10**9)\n"
            "serve(load_settings(environ={}, overrides=o), '127.0.0.1', int(sys.argv[2]))\n"
        )
        server = subprocess.Popen(
            _pinned(
                [sys.executable, "-c", code, json.dumps(overrides), str(port), str(args.workers)],
                server_cpu,
            )
        )
        base = f"http://127.0.0.1:{port}"
        static = work / "static"
        static.mkdir()
        # nginx's workers run as an unprivileged user: let them read the page.
        work.chmod(0o755)
        static.chmod(0o755)
        nport = _free_port()
        proc: subprocess.Popen[bytes] | None = None
        runs: dict[str, list[dict[str, float]]] = {}
        try:
            _wait(base + "/healthz", server)
            article = httpx.get(f"{base}/fr/a/{args.articles // 2}", follow_redirects=True)
            article.raise_for_status()
            (static / "article.html").write_bytes(article.content)
            (static / "article.html").chmod(0o644)
            proc = nginx(static, nport, args.workers, server_cpu)  # workers inherit the pinning
            nurl = f"http://127.0.0.1:{nport}/article.html"
            _wait(nurl, proc)
            search_query = queries("en", 1, random.Random(11))[0]
            urls = {
                "article page": str(article.url),
                "nginx, same page as a file": nurl,
                "home page": base + "/en/",
                f"search '{search_query}'": base + "/en/search?" + urlencode({"q": search_query}),
                "feed (RSS)": base + "/de/feed.xml",
            }
            for url in urls.values():
                for _ in range(3 * args.workers):
                    httpx.get(url)  # warm every worker's cache
            # Round after round, every URL in turn: a neighbour's burst on this shared
            # machine then spoils one run of each rather than every run of one URL.
            for _ in range(args.repeat):
                for name, url in urls.items():
                    for mode, conns in (
                        ("saturation", args.connections),
                        ("latency", args.latency_connections),
                    ):
                        r = wrk(url, args.duration, conns, client_cpu)
                        runs.setdefault(f"{name}, {mode}", []).append(r)
            s50, s95, smax = search_times(base)
        finally:
            server.terminate()
            server.wait(timeout=20)
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {name: _median_run(r) for name, r in runs.items()}
    ratio = (
        results["article page, saturation"]["rps"]
        / results["nginx, same page as a file, saturation"]["rps"]
    )
    database = "PostgreSQL" if args.database_url else "SQLite"
    pinning = (
        "server and nginx pinned to CPU 0 (taskset -c 0), wrk to CPU 1 (taskset -c 1)"
        if server_cpu is not None
        else "nothing pinned"
    )
    print(
        f"\n{started:%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
        f"load average before {load_before}, after {_load()}\n"
        f"{args.articles} articles x 6 languages on {database}; {args.workers} server "
        f"process(es), {args.workers} nginx worker(s); {pinning}\n"
        f"saturation: wrk -t1 -c{args.connections} -d{args.duration}s; "
        f"latency: wrk -t1 -c{args.latency_connections} -d{args.duration}s; "
        f"{args.repeat} interleaved rounds, medians (worst p99 of the rounds beside)\n"
    )
    print("| request, run | requests/s | p50 ms | p99 ms | worst p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
            f"| {r['worst_p99']:.2f} | {r['non2xx']:.0f} |"
        )
    sat, lat = results["article page, saturation"], results["article page, latency"]
    print(
        f"\ntargets, article page: {sat['rps']:,.0f} requests/s at saturation (>= 2,000); "
        f"p99 {lat['p99']:.2f} ms in the latency runs (< 25 ms) at {lat['rps']:,.0f} requests/s; "
        f"{ratio:.0%} of nginx's rate, saturation runs (>= 20%)"
    )
    print(
        "search (target p95 < 50 ms), 300 sequential typical queries (one or two words) "
        "in 6 languages: "
        f"p50 {s50:.1f} ms, p95 {s95:.1f} ms, max {smax:.1f} ms"
    )
    print(
        f"data generation: {generated[0]:.0f} s wall, {generated[1]:.0f} s CPU "
        f"(search index {steps['index']:.0f} s)"
    )


if __name__ == "__main__":
    main()
