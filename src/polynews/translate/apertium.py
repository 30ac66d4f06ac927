"""Apertium, the rule-based engine from Debian's packages: fully offline, no German.

Each segment becomes its own ``<p>`` block of an HTML document (``-f html``). Apertium
never moves words across block boundaries, whereas with plain text it does move words
across newlines (checked with "I have\\nseen the big\\nhouse"), so blocks are what keeps
paragraphs 1:1.

A batch is never translated one process per sentence: it is cut, at block boundaries,
into at most ``apertium_processes`` chunks of similar size, each sent through its own
pipeline, all running at once. Small batches stay in one chunk: starting a pair costs
0.1-1.2 CPU-seconds (loading its dictionaries). One ``apertium`` call is itself a
chain of 10-16 processes that keeps about 1.5 cores busy, so the default is one chunk
per two cores: on 2 cores, two chunks of a 20k-word en→ca→fr batch took 25 % more CPU
and no less wall time than one.

A route with several Apertium hops (``en→ca→fr``) is one OS pipeline per chunk,
``apertium -f html eng-cat | apertium -f html cat-fra``, so the second hop translates
while the first is still reading, as the raw two-pair baseline does.

That is the cold path. Where the pairs allow it, a route is served warm instead
(:mod:`polynews.translate.apertium_warm`): the stages of its modes keep running between
batches with null-flush, one unit per segment, so a batch pays no start-up. A chain
with a stage that does not answer at ``\\0`` (the perceptron taggers of ``eng-cat`` and
``rus-ukr`` in Debian 12) is found on its first unit and served cold from then on.

Either way, when a pipeline dies in the middle of a batch (the ``rus-ukr`` tagger
crashes on most sentences), the segments it answered are kept and the others are
retried, warm, on the same chain without its tagger (``cg-proc -1 -n`` keeps the
constraint grammar's first reading, :func:`~polynews.translate.apertium_warm.without_tagger`);
a chain that died on more than half of its units goes without tagger from then on. What
still fails is retried sentence by sentence; a sentence that still kills it keeps its
original words, and a batch where more than half of the sentences failed is a failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import itertools
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from polynews.config import Settings
from polynews.errors import BackendUnavailable, TranslateError
from polynews.translate.apertium_warm import (
    NoFlush,
    WarmPipeline,
    deformat,
    mode_stages,
    reformat,
    without_tagger,
)
from polynews.translate.base import BackendKind, Direction
from polynews.translate.sentences import join_sentences, sentence_spans

log = logging.getLogger(__name__)

# Apertium names pairs with ISO 639-3 (newer packages) or 639-1 (older ones) codes.
_ISO3_TO_ISO1 = {
    "eng": "en", "spa": "es", "fra": "fr", "ita": "it", "cat": "ca", "deu": "de",
    "rus": "ru", "ukr": "uk", "por": "pt", "glg": "gl", "oci": "oc", "nld": "nl",
    "pol": "pl", "ron": "ro", "arg": "an", "eus": "eu", "bel": "be",
}  # fmt: skip

_PLACE_TAGS = ("<loc>", "<top>", "<org>", "<al>")
_BLOCK = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_MODE_DIR = re.compile(r"/usr/share/apertium/(apertium-[a-z_-]+)/")
_AUTOMORF = re.compile(r"lt-proc\s+(?:-\w+\s+)*'?([^'\s|]+\.automorf\.bin)'?")

_MAX_WARM_CHAINS = 12
"""Routes kept warm at once per process (least recently used closed first)."""
_MAX_CRASHES = 20
"""Pipeline deaths tolerated in one batch before the batch fails."""
_NO_TAGGER = "~no-tagger"
"""Marks the key of a chain whose taggers are left out (:func:`without_tagger`)."""
_TAGGER_GIVE_UP = 8
"""Units a chain may die on (more than half of those sent) before it goes without tagger."""

_MIN_CHUNK_CHARS = 30_000
"""Smallest chunk worth its own pipeline (about 5,000 words, several times a pair's start-up)."""

# Without Transfuse, ``-f html`` goes through apertium-deshtml/rehtml instead of
# tf-extract/tf-inject with null-flush on every stage: byte-identical output on 3,000
# FLORES blocks, blocks still kept apart, about 10 % less CPU.
_CHILD_ENV = {"APERTIUM_TRANSFUSE": "no"}


def _iso1(code: str) -> str | None:
    if len(code) == 2 and code.isalpha():
        return code
    return _ISO3_TO_ISO1.get(code)


@dataclass(frozen=True)
class Unit:
    """One lexical unit found by Apertium's morphological analyser."""

    surface: str
    tags: tuple[str, ...]  # one string of tags per reading; empty when the word is unknown

    @property
    def known(self) -> bool:
        """True when the analyser knows the word."""
        return bool(self.tags)

    @property
    def proper_noun(self) -> bool:
        """True when the analyser only knows the word as a proper noun (or not at all)."""
        return all("<np>" in reading for reading in self.tags)

    @property
    def person(self) -> bool:
        """True when one reading is a person's first name or surname."""
        return any("<ant>" in reading or "<cog>" in reading for reading in self.tags)

    @property
    def first_name(self) -> bool:
        """True when one reading is a first name and none a place ("Donald", not "Jordan")."""
        return not self.place and any("<ant>" in reading for reading in self.tags)

    @property
    def plural(self) -> bool:
        """True when the word is known, and only as a plural."""
        return bool(self.tags) and all("<pl>" in reading for reading in self.tags)

    @property
    def place(self) -> bool:
        """True when one reading is a place or organisation name."""
        return any(tag in reading for reading in self.tags for tag in _PLACE_TAGS)


class ApertiumBackend:
    """Translates with Apertium: warm null-flush chains where possible, else ``apertium``."""

    name = "apertium"
    kind: BackendKind = "rule"

    def __init__(
        self,
        modes: dict[Direction, str],
        *,
        binary: str = "apertium",
        version: str = "unknown",
        analysers: dict[Direction, Path] | None = None,
        timeout: float = 600.0,
        processes: int = 1,
        mode_files: dict[str, Path] | None = None,
    ) -> None:
        self._modes = dict(modes)
        self._binary = binary
        self._analysers = dict(analysers or {})
        self._timeout = timeout
        self.processes = max(1, processes)
        self.version = version
        # Warm chains need each mode's file; without them (a test's fake binary) all is cold.
        self._mode_files = dict(mode_files or {})
        self._warm: dict[tuple[str, ...], list[WarmPipeline]] = {}
        self._cold_chains: set[tuple[str, ...]] = set()
        self._checked: set[tuple[str, ...]] = set()
        self._crashes: dict[tuple[str, ...], tuple[int, int]] = {}  # (died on, units sent)
        self._taggerless: set[tuple[str, ...]] = set()  # chains that go without tagger
        self._stages: dict[tuple[str, ...], list[list[str]]] = {}  # by chain, read once
        self._warm_lock = threading.Lock()
        self._unbuffer = ["stdbuf", "-o0"] if shutil.which("stdbuf") else []

    def directions(self) -> set[Direction]:
        """The language pairs installed, e.g. ``{("en", "es"), ("es", "en"), ...}``."""
        return set(self._modes)

    def mode(self, source: str, target: str) -> str:
        """The Apertium mode name used for a direction (``"fr-es"``, ``"eng-spa"``)."""
        try:
            return self._modes[(source, target)]
        except KeyError:
            raise TranslateError(
                f"apertium has no {source}->{target} pair installed; "
                f"installed: {', '.join(sorted(f'{s}->{t}' for s, t in self._modes))}"
            ) from None

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        """Translate a batch with ``apertium -u -f html``, keeping segments 1:1."""
        return self.translate_chain(segments, [(source, target)])

    def translate_chain(self, segments: Sequence[str], hops: Sequence[Direction]) -> list[str]:
        """Translate a batch through consecutive pairs (``[("en", "ca"), ("ca", "fr")]``).

        The hops of one chunk are one OS pipeline of ``apertium`` processes; the chunks
        run at the same time. Segments stay 1:1 or the whole batch fails.
        """
        if not hops or any(a[1] != b[0] for a, b in itertools.pairwise(hops)):
            raise TranslateError(f"apertium: hops {list(hops)} do not form a chain")
        modes = [self.mode(source, target) for source, target in hops]
        todo = [i for i, seg in enumerate(segments) if seg.strip()]
        out = list(segments)
        if not todo:
            return out
        texts = [segments[i] for i in todo]
        translated = self._translate_texts(texts, tuple(modes), hops[0][0])
        for i, text in zip(todo, translated, strict=True):
            out[i] = text
        return out

    def _translate_texts(
        self, texts: list[str], chain: tuple[str, ...], language: str
    ) -> list[str]:
        """Translate non-empty texts through a chain of modes, warm when it can be."""
        what = " | ".join(chain)
        problems: list[str] = []
        if self._warm_capable(chain):
            try:
                return self._resilient(
                    texts, language, what, problems,
                    lambda units: self._warm_or_taggerless(chain, units, problems),
                )  # fmt: skip
            except NoFlush as exc:
                log.info("apertium chain served cold what=%s reason=%s", what, exc)
                self._cold_chains.add(chain)
        return self._resilient(
            texts, language, what, problems, lambda units: self._cold_units(chain, units, problems)
        )

    def _resilient(
        self,
        texts: list[str],
        language: str,
        what: str,
        problems: list[str],
        run: Callable[[list[str]], list[str | None]],
    ) -> list[str]:
        """``run`` on all texts; a text it failed on (None) is retried sentence by sentence.

        A sentence that fails alone keeps its original words (logged); when more than
        half of the sentences of the batch failed, the batch fails.
        """
        results = run(texts)
        failed = [i for i, r in enumerate(results) if r is None]
        if not failed:
            return [r or "" for r in results]
        pieces: list[tuple[int, list[tuple[int, int]]]] = []
        units: list[str] = []
        for i in failed:
            spans = sentence_spans(texts[i], language) or [(0, len(texts[i]))]
            pieces.append((i, spans))
            units += [texts[i][a:b] for a, b in spans]
        # a text that is one sentence already failed alone: no second try
        answers = run(units) if len(units) > len(failed) else [None] * len(units)
        lost = sum(answer is None for answer in answers)
        total = len(texts) - len(failed) + len(units)
        if lost * 2 > total:
            last = f": {problems[-1]}" if problems else ""
            raise TranslateError(
                f"apertium {what} failed on {lost} of {total} sentences; "
                f"the batch was not translated{last}"
            )
        log.warning(
            "apertium retried sentence by sentence what=%s texts=%d sentences=%d kept_original=%d",
            what, len(failed), len(units), lost,
        )  # fmt: skip
        position = 0
        for i, spans in pieces:
            own = answers[position : position + len(spans)]
            sources = units[position : position + len(spans)]
            position += len(spans)
            done = [a if a is not None else src for a, src in zip(own, sources, strict=True)]
            results[i] = join_sentences(texts[i], spans, done)
        return [r or "" for r in results]

    def _warm_capable(self, chain: tuple[str, ...]) -> bool:
        return chain not in self._cold_chains and all(m in self._mode_files for m in chain)

    def _warm_or_taggerless(
        self, chain: tuple[str, ...], texts: list[str], problems: list[str]
    ) -> list[str | None]:
        """Texts through the warm chain; those it died on again without its taggers.

        A chain that died on more than half of its units (at least ``_TAGGER_GIVE_UP``)
        goes without taggers from then on, since a restart costs every stage's start-up.
        """
        fallback = (*chain, _NO_TAGGER)
        if chain in self._taggerless:
            return self._warm_units(fallback, texts, problems)
        has_fallback = self._taggerless_stages(chain) is not None
        give_up = _TAGGER_GIVE_UP if has_fallback else None
        results = self._warm_units(chain, texts, problems, give_up)
        failed = [i for i, r in enumerate(results) if r is None]
        died, sent = self._crashes.get(chain, (0, 0))
        died, sent = died + len(failed), sent + len(texts)
        self._crashes[chain] = (died, sent)
        if not failed or not has_fallback:
            return results
        if died >= _TAGGER_GIVE_UP and died * 2 > sent:
            self._taggerless.add(chain)
            log.warning(
                "apertium chain goes without its tagger what=%s failed_units=%d of=%d",
                "|".join(chain), died, sent,
            )  # fmt: skip
        again = self._warm_units(fallback, [texts[i] for i in failed], problems)
        for i, answer in zip(failed, again, strict=True):
            results[i] = answer
        return results

    def _taggerless_stages(self, chain: tuple[str, ...]) -> list[list[str]] | None:
        """The stages of ``chain`` without its taggers (None: it has none to leave out)."""
        return without_tagger(self._chain_stages(chain))

    def _warm_units(
        self,
        chain: tuple[str, ...],
        texts: list[str],
        problems: list[str],
        give_up: int | None = None,
    ) -> list[str | None]:
        """Texts through warm pipelines of ``chain`` (several at once for large batches)."""
        lengths = [len(t) for t in texts]
        bounds = _chunks_by_length(lengths, self.processes)
        if len(bounds) == 1:
            return self._warm_run(chain, texts, problems, give_up)
        with ThreadPoolExecutor(max_workers=len(bounds)) as pool:
            parts = list(
                pool.map(
                    lambda b: self._warm_run(chain, texts[b[0] : b[1]], problems, give_up), bounds
                )
            )
        return [r for part in parts for r in part]

    def _warm_run(
        self,
        chain: tuple[str, ...],
        texts: list[str],
        problems: list[str],
        give_up: int | None = None,
    ) -> list[str | None]:
        """One warm pipeline's share: each text answered, or None where a stage died on it.

        With ``give_up``, once the chain died that many times, on more than half of the
        units it was sent, the units left are None too (without more restarts)."""
        pipe = self._take(chain)
        try:
            units = [deformat(t) for t in texts]
            results: list[str | None] = []
            crashes = 0
            if chain not in self._checked:  # the first unit alone: does every stage flush?
                answers = pipe.units(units[:1])
                self._checked.add(chain)
                results += [_answer(texts[0], a) for a in answers] or [None]
                if not answers:
                    crashes += 1
                    problems.append(f"apertium {pipe.what} died: {pipe.last_error or 'no message'}")
                units = units[1:]
            while units:
                was_running = pipe.running
                answers = pipe.units(units)
                offset = len(results)
                results += (_answer(texts[offset + j], a) for j, a in enumerate(answers))
                if len(answers) == len(units):
                    break
                if was_running and not answers and not crashes:
                    crashes += 1  # it may have died while idle: once more on a fresh chain
                    continue
                crashes += 1
                if crashes > _MAX_CRASHES:
                    raise TranslateError(
                        f"apertium {pipe.what} died {crashes} times in one batch; "
                        "the batch was not translated"
                    )
                problems.append(f"apertium {pipe.what} died: {pipe.last_error or 'no message'}")
                results.append(None)  # the unit it died on
                units = units[len(answers) + 1 :]
                if give_up is not None and crashes >= give_up and crashes * 2 > len(results):
                    return results + [None] * len(units)
            return results
        finally:
            pipe.lock.release()

    def _take(self, chain: tuple[str, ...]) -> WarmPipeline:
        """A free warm pipeline of ``chain`` (locked for the caller), started when needed."""
        with self._warm_lock:
            pipes = self._warm.pop(chain, [])
            self._warm[chain] = pipes  # most recently used last
            for pipe in pipes:
                if pipe.lock.acquire(blocking=False):
                    return pipe
            if len(pipes) < self.processes:
                stages = self._chain_stages(chain)
                pipe = WarmPipeline(stages, "|".join(chain), timeout=self._timeout)
                pipe.lock.acquire()
                pipes.append(pipe)
                self._evict()
                return pipe
            busy = pipes[0]
        busy.lock.acquire()
        return busy

    def _evict(self) -> None:
        """Close the least recently used chains beyond ``_MAX_WARM_CHAINS`` (lock held)."""
        while len(self._warm) > _MAX_WARM_CHAINS:
            oldest = next(iter(self._warm))
            for pipe in self._warm[oldest]:
                if pipe.lock.acquire(blocking=False):
                    pipe.close()
                    pipe.lock.release()
            del self._warm[oldest]

    def _chain_stages(self, chain: tuple[str, ...]) -> list[list[str]]:
        """The argv of every stage of ``chain``, read from its mode files once (a restart
        after a crash reuses them)."""
        if chain in self._stages:
            return self._stages[chain]
        if chain[-1:] == (_NO_TAGGER,):
            stages = self._taggerless_stages(chain[:-1])
            if stages is None:
                raise TranslateError(f"apertium {'|'.join(chain[:-1])} has no tagger to leave out")
        else:
            stages = []
            for mode in chain:
                command = _null_flush_command(self._mode_files[mode])
                stages += mode_stages(command, unbuffer=self._unbuffer)
        self._stages[chain] = stages
        return stages

    def warm_cpu_seconds(self) -> float:
        """CPU time used so far by the warm pipelines that are running (for benchmarks)."""
        with self._warm_lock:
            return sum(pipe.cpu_seconds() for pipes in self._warm.values() for pipe in pipes)

    def close(self) -> None:
        """Stop every warm pipeline (they also stop on their own when polynews exits)."""
        with self._warm_lock:
            for pipes in self._warm.values():
                for pipe in pipes:
                    pipe.close()
            self._warm.clear()

    def _cold_units(
        self, chain: tuple[str, ...], texts: list[str], problems: list[str]
    ) -> list[str | None]:
        """Texts through ``apertium -f html`` pipelines: each answer, or None for a text the
        pipeline crashed on or answered with nothing (Apertium's exit status is the last
        stage's, so a crashed tagger shows as empty paragraphs)."""
        what = " | ".join(chain)
        try:
            answers = self._cold_batch(list(chain), texts, what)
        except _Crash as exc:
            problems.append(str(exc))
            if len(texts) == 1:
                log.warning("apertium failed what=%s error=%s", what, exc)
                return [None]
            log.warning("apertium batch failed what=%s texts=%d error=%s", what, len(texts), exc)
            return [r for text in texts for r in self._cold_units(chain, [text], problems)]
        if any(not a.strip() for a in answers):
            problems.append(f"apertium {what} answered nothing (a stage crashed)")
        return [a if a.strip() else None for a in answers]

    def _cold_batch(self, modes: list[str], texts: list[str], what: str) -> list[str]:
        blocks = [f"<p>{html.escape(t, quote=False)}</p>\n" for t in texts]
        chunks = _chunks(blocks, self.processes)
        argvs = [[self._binary, "-u", "-f", "html", mode] for mode in modes]
        if len(chunks) == 1:
            results = [self._pipeline(argvs, "".join(blocks), what)]  # no thread needed
        else:
            with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
                futures = [
                    pool.submit(self._pipeline, argvs, "".join(blocks[a:b]), what)
                    for a, b in chunks
                ]
                results = [future.result() for future in futures]
        translated: list[str] = []
        for (start, end), text in zip(chunks, results, strict=True):
            found = _BLOCK.findall(text)
            if len(found) != end - start:
                raise _Crash(
                    f"apertium {what} returned {len(found)} paragraphs for {end - start}; "
                    "the batch was not translated"
                )
            translated += found
        return [html.unescape(block) for block in translated]

    def analyse(self, lines: Sequence[str], source: str, target: str) -> list[list[Unit]] | None:
        """Analysis of each line by the source analyser of a pair (one process), or None.


        Lines must be plain words and spaces: the quality layer asks about runs of
        capitalised words to decide which ones are names worth protecting.
        """
        analyser = self._analysers.get((source, target))
        if analyser is None or not lines:
            return None if analyser is None else []
        text = "".join(line.replace("\n", " ") + "\n" for line in lines)
        output = self._run(["lt-proc", str(analyser)], text, f"{source}-{target} analyser")
        result = [_parse_units(line) for line in output.split("\n")[: len(lines)]]
        if len(result) != len(lines):
            return None
        return result

    def _run(self, argv: list[str], text: str, what: str) -> str:
        try:
            proc = subprocess.run(
                argv, input=text.encode("utf-8"), capture_output=True,
                timeout=self._timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise TranslateError(
                f"apertium {what} took longer than {self._timeout:.0f} s on {len(text)} characters"
            ) from exc
        except OSError as exc:
            raise TranslateError(f"could not start {argv[0]} for {what}: {exc}") from exc
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()[-500:]
            raise TranslateError(f"apertium {what} failed (exit {proc.returncode}): {err}")
        return proc.stdout.decode("utf-8", "replace")

    def _pipeline(self, argvs: Sequence[list[str]], text: str, what: str) -> str:
        """Run ``argv1 | argv2 | ...`` on ``text``, each stage reading the previous one's output."""
        env = {**os.environ, **_CHILD_ENV}
        with contextlib.ExitStack() as stack:
            errors = [stack.enter_context(tempfile.TemporaryFile()) for _ in argvs]
            return self._run_pipeline(argvs, text, what, env, errors)

    def _run_pipeline(
        self,
        argvs: Sequence[list[str]],
        text: str,
        what: str,
        env: dict[str, str],
        errors: Sequence[IO[bytes]],
    ) -> str:
        procs: list[subprocess.Popen[bytes]] = []
        timed_out = threading.Event()

        def kill_all() -> None:
            timed_out.set()
            for proc in procs:
                _kill_group(proc)

        timer = threading.Timer(self._timeout, kill_all)
        feeder: threading.Thread | None = None
        try:
            for argv, err in zip(argvs, errors, strict=True):
                stdin = procs[-1].stdout if procs else subprocess.PIPE
                # Own process group: ``apertium`` is a shell script whose pipeline
                # children must die with it on a timeout.
                try:
                    proc = subprocess.Popen(
                        argv, stdin=stdin, stdout=subprocess.PIPE, stderr=err, env=env,
                        start_new_session=True,
                    )  # fmt: skip
                except OSError as exc:
                    raise TranslateError(f"could not start {argv[0]} for {what}: {exc}") from exc
                procs.append(proc)
                if len(procs) > 1 and procs[-2].stdout is not None:
                    procs[-2].stdout.close()  # the next stage owns it now
            timer.start()
            # Writing from another thread while this one reads: a pipe holds 64 KiB, so
            # writing everything first would block once the last stage's output fills up.
            feeder = threading.Thread(target=_feed, args=(procs[0], text.encode("utf-8")))
            feeder.start()
            last = procs[-1].stdout
            assert last is not None
            output = last.read()
            codes = [proc.wait() for proc in procs]
            if timed_out.is_set():
                raise TranslateError(
                    f"apertium {what} took longer than {self._timeout:.0f} s "
                    f"on {len(text)} characters"
                )
            for code, err in zip(codes, errors, strict=True):
                if code != 0:
                    err.seek(0)
                    message = err.read().decode("utf-8", "replace").strip()[-500:]
                    raise _Crash(f"apertium {what} failed (exit {code}): {message}")
            return output.decode("utf-8", "replace")
        finally:
            timer.cancel()
            for proc in procs:
                if proc.poll() is None:
                    _kill_group(proc)
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
            if feeder is not None:
                feeder.join()


def _answer(source: str, stream: str) -> str:
    """A warm answer as plain text, without blanks Apertium added at either end."""
    text = reformat(stream)
    if not source[:1].isspace():
        text = text.lstrip()
    if not source[-1:].isspace():
        text = text.rstrip()
    return text


class _Crash(TranslateError):
    """A cold pipeline exited with an error or lost paragraphs (worth retrying smaller)."""


def _null_flush_command(mode_file: Path) -> str:
    """The mode's pipeline with null-flush on every stage (``apertium-wblank-mode -z``)."""
    try:
        proc = subprocess.run(
            ["apertium-wblank-mode", "-z", str(mode_file)],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NoFlush(f"apertium-wblank-mode could not run on {mode_file}: {exc}") from exc
    command = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not command:
        raise NoFlush(f"apertium-wblank-mode gave nothing for {mode_file}")
    return command


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Write a pipeline's input and close it; a stage that died is reported by its exit code."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError):  # BrokenPipeError included
        proc.stdin.write(data)
    with contextlib.suppress(OSError):
        proc.stdin.close()


def _chunks(blocks: Sequence[str], processes: int) -> list[tuple[int, int]]:
    """Cut blocks into at most ``processes`` runs of similar length; small batches stay whole."""
    return _chunks_by_length([len(b) for b in blocks], processes)


def _chunks_by_length(lengths: Sequence[int], processes: int) -> list[tuple[int, int]]:
    """Cut items of these lengths into at most ``processes`` runs of similar total length;
    a batch under ``_MIN_CHUNK_CHARS`` per run stays whole."""
    total = sum(lengths)
    count = max(1, min(processes, total // _MIN_CHUNK_CHARS, len(lengths)))
    bounds: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, length in enumerate(lengths):
        size += length
        if len(bounds) < count - 1 and size >= total * (len(bounds) + 1) / count:
            bounds.append((start, i + 1))
            start = i + 1
    bounds.append((start, len(lengths)))
    return [b for b in bounds if b[0] < b[1]]


_UNIT = re.compile(r"\^(.*?)\$")


def _parse_units(line: str) -> list[Unit]:
    units = []
    for body in _UNIT.findall(line):
        surface, _, rest = body.partition("/")
        readings = tuple(r for r in rest.split("/") if r and not r.startswith("*"))
        units.append(Unit(surface, readings))
    return units


def discover_modes(binary: str) -> dict[Direction, str]:
    """Map each installed direction to its mode, from ``apertium -l``.

    Variant modes (``spa-cat_valencia``) and modes that are not a plain pair
    (``eco-es-fr``) are ignored; the first mode found for a direction wins.
    """
    try:
        proc = subprocess.run([binary, "-l"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendUnavailable(f"apertium: `{binary} -l` could not run: {exc}") from exc
    modes: dict[Direction, str] = {}
    for raw in proc.stdout.decode("utf-8", "replace").split():
        parts = raw.split("-")
        if len(parts) != 2 or "_" in raw:
            continue
        src, tgt = _iso1(parts[0]), _iso1(parts[1])
        if src and tgt and (src, tgt) not in modes:
            modes[(src, tgt)] = raw
    return modes


def _mode_files(binary: str, modes: dict[Direction, str]) -> dict[str, str]:
    """The text of each mode file (the shell pipeline Apertium runs), by mode name."""
    found: dict[str, str] = {}
    prefix = Path(binary).resolve().parent.parent / "share" / "apertium" / "modes"
    for mode in modes.values():
        path = prefix / f"{mode}.mode"
        if path.is_file():
            found[mode] = path.read_text(encoding="utf-8", errors="replace")
    return found


def _package_versions(packages: Sequence[str]) -> dict[str, str]:
    if not packages or shutil.which("dpkg-query") is None:
        return {}
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Version}\n", *packages],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    versions = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        name, _, version = line.partition(" ")
        if version:
            versions[name] = version
    return versions


def create(settings: Settings) -> ApertiumBackend:
    """Build the Apertium backend from the installed packages, or raise BackendUnavailable."""
    binary = shutil.which(str(settings.apertium_binary))
    if binary is None:
        raise BackendUnavailable(
            f"apertium: command {settings.apertium_binary!r} not found; install it with "
            "`apt-get install apertium apertium-eng-spa apertium-fr-es apertium-spa-ita`"
        )
    modes = discover_modes(binary)
    if not modes:
        raise BackendUnavailable(
            "apertium: no language pair installed; install e.g. `apt-get install apertium-eng-spa`"
        )
    texts = _mode_files(binary, modes)
    packages = sorted({m.group(1) for t in texts.values() for m in _MODE_DIR.finditer(t)})
    versions = _package_versions(["apertium", *packages])
    # Any pair package update changes the version, so the memory never serves old output.
    data = ",".join(f"{p}={versions.get(p, '?')}" for p in packages)
    digest = hashlib.sha256(data.encode()).hexdigest()[:8]
    version = f"{versions.get('apertium', 'unknown')}+data.{digest}"
    mode_dir = Path(binary).resolve().parent.parent / "share" / "apertium" / "modes"
    mode_files = {
        mode: mode_dir / f"{mode}.mode" for mode in texts if shutil.which("apertium-wblank-mode")
    }
    analysers: dict[Direction, Path] = {}
    for direction, mode in modes.items():
        match = _AUTOMORF.search(texts.get(mode, ""))
        if match and Path(match.group(1)).is_file():
            analysers[direction] = Path(match.group(1))
    if shutil.which("lt-proc") is None:
        analysers = {}
    log.info(
        "apertium ready version=%s directions=%s",
        version, ",".join(f"{s}-{t}" for s, t in sorted(modes)),
    )  # fmt: skip
    return ApertiumBackend(
        modes, binary=binary, version=version, analysers=analysers,
        timeout=float(settings.translation_timeout), mode_files=mode_files,
        processes=int(settings.apertium_processes) or max(1, (os.cpu_count() or 1) // 2),
    )  # fmt: skip
