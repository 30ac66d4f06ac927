"""Apertium pipelines kept running between batches, one null-flushed unit per segment.

``apertium eng-spa`` is a shell script that starts a chain of 10-16 programs, and each
program loads its dictionaries or rules before the first word (0.1-1.2 CPU-seconds per
pair). Started once per batch, that start-up dominates small batches. Here each stage
of a mode runs as its own process with null-flush (``-z``; the command line comes from
``apertium-wblank-mode -z``, as the Apertium wrapper itself builds it), the stages piped
into each other, and the chain stays up: a segment is written followed by ``\\0``, and
every stage answers it in full and flushes at the ``\\0``. That is how ``apertium-apy``
serves requests.

Segments are written in Apertium's stream format directly (special characters escaped,
line breaks as superblanks), so there is no format program per call; because every
segment is its own flushed unit, no word can move from one segment into another and
segments stay 1:1 by construction.

When a stage dies in the middle of a batch (the ``rus-ukr`` tagger of Debian 12
crashes on most sentences), everything answered before it is kept, the chain is
restarted, and the segment it died on is reported as ``None`` (:meth:`WarmPipeline.units`
answers fewer units); the backend retries it without the tagger (:func:`without_tagger`)
and then one sentence at a time, so one bad sentence costs only itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import shlex
import signal
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Sequence

from polynews.errors import TranslateError

log = logging.getLogger(__name__)

_SPECIAL = re.compile(r"([\\^$/\[\]{}<>@])")
# A reformatter for what the last stage writes: an escaped character, a word-bound
# blank ``[[...]]`` (dropped), a superblank ``[...]`` (its content kept), or plain text.
_OUTPUT = re.compile(r"\\(.)|\[\[(?:\\.|[^\]\\])*\]\]|\[((?:\\.|[^\]\\])*)\]|([^\\\[]+)", re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_READ = 1 << 16
_SENTINEL = b"0[]\0"  # a number passes through every pair unchanged
_IDLE_CHECKS = 4  # polls 0.25 s apart with every stage asleep and no answer: it is stuck


class NoFlush(TranslateError):
    """A stage of the chain does not answer at ``\\0`` (it waits for the end of input)."""


def deformat(text: str) -> str:
    """``text`` in Apertium's stream format: specials escaped, line breaks as superblanks."""
    escaped = _SPECIAL.sub(r"\\\1", text.replace("\0", ""))
    # The closing empty superblank keeps a final full stop: right before a \0 the
    # tagger drops it as the end-of-input mark (``apertium-destxt`` adds ``.[]`` for that).
    return escaped.replace("\r", "").replace("\n", "[\n]") + "[]"


def reformat(stream: str) -> str:
    """Plain text from what a translation chain writes (the inverse of :func:`deformat`)."""
    out: list[str] = []
    for match in _OUTPUT.finditer(stream):
        char, blank, plain = match.group(1), match.group(2), match.group(3)
        if char is not None:
            out.append(char)
        elif blank is not None:
            out.append(_ESCAPED.sub(r"\1", blank))
        elif plain is not None:
            out.append(plain)
    return "".join(out)


def mode_stages(command: str, *, unbuffer: Sequence[str] = ()) -> list[list[str]]:
    """The argv of each stage of a mode command line (``a | b | c``), ``$1``/``$2`` filled.

    ``$1`` is the generator's option (``-n``: no unknown-word marks, what ``apertium -u``
    passes) and ``$2`` the tagger's extra option (none). ``unbuffer`` (``["stdbuf",
    "-o0"]``) is put before the stages that, in lttoolbox 3.7, ignore the ``\\0`` when
    they write: ``lt-proc`` after the analyser and ``apertium-tagger``. Unbuffered, they
    cost no measurable CPU (20k words en→es: 1.90 s against 1.91 s for raw ``apertium``).
    """
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages: list[list[str]] = [[]]
    for word in lexer:
        if word == "|":
            stages.append([])
        elif word == "$1":
            stages[-1].append("-n")
        elif word != "$2":
            stages[-1].append(word)
    if any(not argv for argv in stages):
        raise TranslateError(f"apertium: cannot read the mode command {command[:200]!r}")
    if unbuffer:
        stages = [
            [*unbuffer, *argv]
            if (argv[0] == "lt-proc" and i > 0) or argv[0] == "apertium-tagger"
            else argv
            for i, argv in enumerate(stages)
        ]
    return stages


def without_tagger(stages: Sequence[Sequence[str]]) -> list[list[str]] | None:
    """``stages`` with each statistical tagger left out, the constraint grammar before it
    keeping the first reading of what it leaves ambiguous (``cg-proc -1 -n``, which writes
    the tagger's stream format); None when no tagger follows a ``cg-proc`` stage.

    For a pair whose tagger crashes on most input (Debian 12's ``rus-ukr`` perceptron
    tagger, Apertium issues 165 and 223): on FLORES-200 devtest it died on 183 of the first
    200 sentences; without it every sentence came through (chrF 44.6 against 28.5 for
    the untranslated Russian), and the 17 it survived came out word for word the same.
    """
    out = [list(argv) for argv in stages]
    dropped = False
    for i in range(len(out) - 1, 0, -1):
        if "apertium-tagger" in out[i] and out[i - 1][:1] == ["cg-proc"]:
            del out[i]
            out[i - 1][1:1] = ["-1", "-n"]
            dropped = True
    return out if dropped else None


class WarmPipeline:
    """A chain of processes that answers each ``\\0``-terminated unit, kept running.

    One batch at a time (the caller holds :attr:`lock`); :meth:`units` restarts the
    chain when it is not running. Processes die with their input: when polynews exits,
    the first stage reads end-of-file and the rest follow.
    """

    def __init__(self, stages: Sequence[Sequence[str]], what: str, *, timeout: float) -> None:
        self._stages = [list(argv) for argv in stages]
        self.what = what
        self._timeout = timeout
        self._procs: list[subprocess.Popen[bytes]] = []
        self._errors: tempfile._TemporaryFileWrapper[bytes] | None = None
        self.lock = threading.Lock()
        self.starts = 0
        self.last_error = ""  # what the stages said when the chain last died

    @property
    def running(self) -> bool:
        return bool(self._procs) and all(p.poll() is None for p in self._procs)

    def start(self) -> None:
        """Start (or restart) the chain."""
        self.close()
        env = dict(os.environ)
        if not env.get("LC_ALL") and not env.get("LC_CTYPE"):
            env["LC_CTYPE"] = "C.UTF-8"  # the Apertium wrapper does the same
        # Kept open while the chain runs (closed in close()), so no context manager.
        self._errors = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="polynews-apertium-", suffix=".err"
        )
        try:
            for argv in self._stages:
                stdin = self._procs[-1].stdout if self._procs else subprocess.PIPE
                proc = subprocess.Popen(
                    argv, stdin=stdin, stdout=subprocess.PIPE, stderr=self._errors, env=env,
                    start_new_session=True,
                )  # fmt: skip
                if self._procs and self._procs[-1].stdout is not None:
                    self._procs[-1].stdout.close()  # the new stage owns it now
                self._procs.append(proc)
        except OSError as exc:
            self.close()
            raise TranslateError(f"could not start apertium {self.what}: {exc}") from exc
        self.starts += 1
        # A pipeline dropped without close() (its backend garbage-collected) still stops.
        weakref.finalize(self, _stop, list(self._procs), self._errors)
        log.debug("apertium warm start what=%s stages=%d", self.what, len(self._procs))

    def close(self) -> None:
        """Stop the chain (nothing happens when it is not running)."""
        procs, self._procs = self._procs, []
        errors, self._errors = self._errors, None
        _stop(procs, errors)

    def stderr_tail(self) -> str:
        """The last lines the stages wrote to stderr (for error messages)."""
        if self._errors is None:
            return ""
        with contextlib.suppress(OSError):
            self._errors.flush()
            with open(self._errors.name, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 500))
                return fh.read().decode("utf-8", "replace").strip()
        return ""

    def units(self, units: Sequence[str]) -> list[str]:
        """Send raw stream-format units; the answers received before the chain died, in order.

        Each unit is followed by a sentinel unit (``0``, which every pair passes through):
        the sentinel's answer proves that every stage got past the unit. When a stage
        dies, the stages after it each write a last ``\\0`` as they see end-of-file, so a
        unit's own answer cannot tell a crash from an empty translation; a missing or
        empty sentinel answer can. Fewer answers than units means a stage died on unit
        ``len(answer)``; the chain is then stopped (the next call starts it again).
        Raises NoFlush when a stage never answers, TranslateError on a timeout.
        """
        if not units:
            return []
        if not self.running:
            self.start()
        first, last = self._procs[0], self._procs[-1]
        assert first.stdin is not None and last.stdout is not None
        payload = b"".join(u.replace("\0", "").encode("utf-8") + b"\0" + _SENTINEL for u in units)
        wanted = 2 * len(units)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            self.close()

        timer = threading.Timer(self._timeout, kill)
        # Written from another thread while this one reads: a pipe holds 64 KiB.
        writer = threading.Thread(target=_write, args=(first, payload), daemon=True)
        answers: list[bytes] = []
        pending = b""
        idle = 0
        timer.start()
        writer.start()
        try:
            fd = last.stdout.fileno()
            while len(answers) < wanted:
                if not answers and not select.select([fd], [], [], 0.25)[0]:
                    # Nothing yet: stuck when the input is written and every stage sleeps.
                    idle = idle + 1 if not writer.is_alive() and self._all_asleep() else 0
                    if idle >= _IDLE_CHECKS:
                        self.close()
                        raise NoFlush(f"apertium {self.what}: a stage does not flush at \\0")
                    continue
                try:
                    data = os.read(fd, _READ)
                except OSError:
                    data = b""
                if not data:
                    break
                pending += data
                *done, pending = pending.split(b"\0")
                answers += done
        finally:
            timer.cancel()
            writer.join(timeout=self._timeout)
        if timed_out.is_set():
            raise TranslateError(
                f"apertium {self.what} took longer than {self._timeout:.0f} s "
                f"on {sum(len(u) for u in units)} characters"
            )
        good: list[str] = []
        for i in range(len(units)):
            sentinel = answers[2 * i + 1] if 2 * i + 1 < len(answers) else b""
            if not sentinel.strip(b" []"):
                break
            good.append(answers[2 * i].decode("utf-8", "replace"))
        if len(good) < len(units):
            self.last_error = self.stderr_tail()[-300:]
            log.warning(
                "apertium stage died what=%s answered=%d of=%d error=%s",
                self.what, len(good), len(units), self.stderr_tail()[-200:] or "-",
            )  # fmt: skip
            self.close()
        return good

    def cpu_seconds(self) -> float:
        """CPU time used so far by the running stages (user + system, from /proc)."""
        total = 0
        for proc in self._procs:
            fields = _proc_stat(proc.pid)
            if len(fields) > 12 and fields[11].isdigit() and fields[12].isdigit():
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def _all_asleep(self) -> bool:
        """Every stage waits (state S in /proc): none is loading or computing."""
        return all(_proc_stat(proc.pid)[:1] == [b"S"] for proc in self._procs)


def _proc_stat(pid: int) -> list[bytes]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first); [] when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()
    except OSError:
        return []


def _stop(
    procs: Sequence[subprocess.Popen[bytes]],
    errors: tempfile._TemporaryFileWrapper[bytes] | None,
) -> None:
    """Kill a chain's processes, reap them and close their pipes and error file."""
    for proc in procs:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()
    if errors is not None:
        with contextlib.suppress(OSError):
            errors.close()


def _write(proc: subprocess.Popen[bytes], payload: bytes) -> None:
    """Write a batch and flush; a stage that died shows as missing answers, not here."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError, ValueError):  # BrokenPipeError, or closed on a timeout
        proc.stdin.write(payload)
        proc.stdin.flush()
