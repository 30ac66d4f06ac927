"""robots.txt: parsing and matching as RFC 9309 says, and a per-origin cache with a TTL.

Rules: the groups naming our product token (the User-Agent up to its first ``/``,
compared case-insensitively) apply, all of them merged; failing that, the ``*`` groups.
The longest matching pattern wins, ``allow`` wins a tie, ``*`` matches any run of
characters and a final ``$`` anchors the end. ``/robots.txt`` itself is always allowed.
``Crawl-delay`` (not in the RFC, but widely used) is read from the same group.

What an answer for ``/robots.txt`` means (the policy, following RFC 9309 section 2.3.1):

* 2xx: parse it (only the first 512 KiB; the rest is ignored, as the RFC permits);
* any 4xx, including 401 and 403: the file is "unavailable", everything is allowed
  (401/403 mean the *file* is protected, not the site; this is the RFC's rule);
* 5xx, a timeout or a network error: the site is "unreachable", everything is
  disallowed, and the verdict is cached only briefly (:data:`FAILURE_TTL`) so the file
  is asked for again soon;
* a redirect chain that does not end at a file (too long, looping, or pointing at a
  refused address): as 4xx, everything is allowed; each page is still guarded itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

logger = logging.getLogger(__name__)

TTL = 24 * 3600.0  # RFC 9309: a cached robots.txt should not be used for more than 24 hours
FAILURE_TTL = 600.0  # an unreachable robots.txt is asked for again after ten minutes
MAX_ROBOTS_BYTES = 512 * 1024

_ROBOTS_PATH = "/robots.txt"
# Characters kept as they are when paths and patterns are brought to one percent-encoding.
_SAFE = "/?=&;:@+,!~'()*$-._[]"


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one robots.txt that apply to us."""

    rules: tuple[tuple[bool, str], ...] = ()  # (allow, pattern) as written
    crawl_delay: float | None = None
    note: str = ""  # why the rules are what they are, when not read from a file
    temporary: bool = False  # derived from a failure: cache briefly
    _compiled: tuple[tuple[bool, int, re.Pattern[str]], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        compiled = tuple(
            (allow, len(_normalise(pattern)), _compile(pattern)) for allow, pattern in self.rules
        )
        object.__setattr__(self, "_compiled", compiled)

    def allows(self, path: str) -> bool:
        """True when the path (with its query, e.g. ``/a/b?c=1``) may be fetched."""
        target = _normalise(path or "/")
        if target == _ROBOTS_PATH:
            return True
        best_length = -1
        verdict = True
        for allow, length, regex in self._compiled:
            if regex.match(target) and (length > best_length or (length == best_length and allow)):
                best_length = length
                verdict = allow
        return verdict


ALLOW_ALL = RobotsRules()


def disallow_all(note: str) -> RobotsRules:
    """Rules that refuse every path, cached briefly, with ``note`` saying why."""
    return RobotsRules(rules=((False, "/"),), note=note, temporary=True)


def product_token(user_agent: str) -> str:
    """The token robots.txt groups are matched against: ``polynews/0.1 (+url)`` -> ``polynews``."""
    match = re.match(r"[A-Za-z_-]+", user_agent.strip())
    return match.group(0).lower() if match else ""


def parse_robots(text: str, user_agent: str) -> RobotsRules:
    """The rules in ``text`` that apply to ``user_agent``; never fails, odd lines are skipped."""
    token = product_token(user_agent)
    ours: list[tuple[bool, str]] = []
    star: list[tuple[bool, str]] = []
    our_delay: float | None = None
    star_delay: float | None = None
    found_ours = False
    agents: list[str] = []
    in_rules = False  # a user-agent line after rules starts a new group
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if in_rules:
                agents = []
                in_rules = False
            agents.append(value.lower())
            continue
        if key not in ("allow", "disallow", "crawl-delay") or not agents:
            continue
        in_rules = True
        applies_ours = any(_agent_matches(a, token) for a in agents)
        applies_star = "*" in agents
        found_ours = found_ours or applies_ours
        if key == "crawl-delay":
            delay = _parse_delay(value)
            if applies_ours:
                our_delay = delay
            if applies_star:
                star_delay = delay
            continue
        if not value:  # "Disallow:" with nothing means no rule
            continue
        rule = (key == "allow", value)
        if applies_ours:
            ours.append(rule)
        if applies_star:
            star.append(rule)
    if found_ours:
        return RobotsRules(rules=tuple(ours), crawl_delay=our_delay)
    return RobotsRules(rules=tuple(star), crawl_delay=star_delay)


def _agent_matches(agent: str, token: str) -> bool:
    return bool(token) and product_token(agent) == token


def _parse_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    return delay if delay >= 0 else None


def _normalise(path: str) -> str:
    # Bring "%7E", "~" and raw UTF-8 to one form so patterns and paths compare equal.
    return quote(unquote(path, errors="replace"), safe=_SAFE)


def _compile(pattern: str) -> re.Pattern[str]:
    text = _normalise(pattern)
    anchored = text.endswith("$")
    if anchored:
        text = text[:-1]
    regex = ".*".join(re.escape(part) for part in text.split("*"))
    return re.compile(regex + ("$" if anchored else ""), re.DOTALL)


Loader = Callable[[str], Awaitable[RobotsRules]]


class RobotsCache:
    """robots.txt rules per origin (``https://host:port``), loaded once and kept for a TTL."""

    def __init__(
        self,
        loader: Loader,
        *,
        ttl: float = TTL,
        failure_ttl: float = FAILURE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, RobotsRules]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, origin: str) -> RobotsRules:
        """The rules for ``origin``, loading them when missing or expired (once per origin)."""
        cached = self._fresh(origin)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._fresh(origin)  # another task may have loaded it meanwhile
            if cached is not None:
                return cached
            rules = await self._loader(origin)
            ttl = self._failure_ttl if rules.temporary else self._ttl
            self._entries[origin] = (self._clock() + ttl, rules)
            logger.debug("robots loaded origin=%s rules=%d", origin, len(rules.rules))
            return rules

    def _fresh(self, origin: str) -> RobotsRules | None:
        entry = self._entries.get(origin)
        if entry is None:
            return None
        expires, rules = entry
        if expires <= self._clock():
            del self._entries[origin]
            return None
        return rules


__all__ = [
    "ALLOW_ALL",
    "FAILURE_TTL",
    "MAX_ROBOTS_BYTES",
    "TTL",
    "RobotsCache",
    "RobotsRules",
    "disallow_all",
    "parse_robots",
    "product_token",
]
