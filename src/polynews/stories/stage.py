"""The story stage: every published article joins a story (or founds one), with its claims.

It runs after dedup, on each chunk as it is published and once more at the end of a
pass. For every published article that is in no story yet, earliest first:

1. **Profile.** Title and lead are embedded (in one batch per chunk) and the names and
   numbers counted (:meth:`StoryLinker.profiles`); the profile is stored
   (``article_profiles``) so it is never computed again. Term weights are those
   shipped with polynews, not learnt from the stream, so a profile depends on the
   article alone.
2. **Candidates.** Profiled members of stories whose time (published, else discovered)
   lies within ``story_window_hours`` of the article's, at most ``MAX_CANDIDATES``
   of them: the window bounds both the work and the memory.
3. **Decision.** :meth:`StoryLinker.link` decides against every candidate, the same
   decision as ``polynews stories compare``. A story matches when at least one of its
   members is the same story (single link); the article joins with its best score.
4. **Merge.** When members of several stories match, they are one event: the
   younger stories are merged into the oldest (first report, then id) and the article
   joins it. The old ids redirect (``stories.merged_into``); nothing is ever split.
5. **Claims.** Claims belong to the article and are normally stored as it is
   published (:func:`publish_claims`, stories on or off). An article that reaches the
   stage without stored claims (published before that, or the extractor found none)
   gets them here, by the same function pair (:func:`article_claims`, then
   :func:`polynews.store.claims.save_claims`), in its membership's transaction.

The membership, merges and claims of one article are one transaction, so an article
is either done or untouched. Given the same articles in the same order, the stage
makes the same stories; run again, it finds nothing to do. A failure belongs to one
article: it is recorded against it (an event of stage ``stories``, or ``claims``
when only the claims failed, in which case the article still joins its story) and
the stage goes on; an article whose stage failed ``MAX_ATTEMPTS`` times is not tried
again. When the embedding model cannot be loaded, the stage says so in one log line
and does nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import numpy as np
from sqlalchemy import Connection, Engine

from polynews.store import claims as claim_store
from polynews.store import stories as store
from polynews.store.claims import ClaimRecord
from polynews.store.stories import StoredProfile, StoryArticle
from polynews.stories import claims as claim_rules
from polynews.stories.embedder_e5 import E5Embedder
from polynews.stories.similarity import Profile, StoryLinker, StoryText

log = logging.getLogger(__name__)

CHUNK = 200  # articles profiled (embedded) and linked per round
MAX_CANDIDATES = 20_000  # profiles held in memory for one time group at most
MAX_ATTEMPTS = 3  # failed tries after which an article is left without a story

FailureRecorder = Callable[[str, int, BaseException], None]
"""``(stage, article_id, error)``: records a failure of one article (never raises)."""


@functools.cache
def shared_linker(threads: int = 0) -> StoryLinker:
    """The process's linker for ``threads`` embedding threads (0: the model's default).

    The e5 model (about 70 MB, memory-mapped) is loaded on first use and then shared by
    every pipeline of the process.
    """
    return StoryLinker(E5Embedder(threads=threads or None))


@dataclass
class StageCounts:
    """What one run of the story stage did."""

    joined: int = 0  # articles that joined an existing story
    founded: int = 0  # articles that founded a story
    merged: int = 0  # stories merged into an older one
    claims: int = 0  # claims stored
    errors: int = 0  # articles whose profile or membership failed

    def add(self, other: StageCounts) -> None:
        """Add ``other``'s counts to these."""
        self.joined += other.joined
        self.founded += other.founded
        self.merged += other.merged
        self.claims += other.claims
        self.errors += other.errors


@dataclass
class _Pool:
    """Candidates of one time group in memory: profiles, their stories and times."""

    ids: list[int]
    stories: list[int]
    profiles: list[Profile]
    times: list[float]

    def within(self, time: float, seconds: float) -> list[int]:
        """Indexes of the candidates at most ``seconds`` away from ``time``."""
        if not self.times:
            return []
        distance = np.abs(np.asarray(self.times) - time)
        return [int(i) for i in np.flatnonzero(distance <= seconds)]

    def add(self, article_id: int, story_id: int, profile: Profile, time: float) -> None:
        """Keep a newly placed article as a candidate for the rest of the group."""
        self.ids.append(article_id)
        self.stories.append(story_id)
        self.profiles.append(profile)
        self.times.append(time)

    def redirect(self, merged: Sequence[int], into: int) -> None:
        """Members of ``merged`` stories now belong to ``into``."""
        gone = set(merged)
        self.stories = [into if s in gone else s for s in self.stories]


class StoryStage:
    """Places published articles in stories; see the module docstring for the rules."""

    def __init__(
        self,
        engine: Engine,
        linker: StoryLinker,
        *,
        window_hours: float,
        on_failure: FailureRecorder,
        chunk: int = CHUNK,
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        self.engine = engine
        self.linker = linker
        self.window = timedelta(hours=window_hours)
        self.on_failure = on_failure
        self.chunk = chunk
        self.max_candidates = max_candidates
        self._usable: bool | None = None
        self._embedder = ("", "")

    # -- availability -----------------------------------------------------------------

    def available(self) -> bool:
        """Whether the embedding model loads; checked once, and said once when it does not."""
        if self._usable is None:
            embedder = self.linker.embedder
            try:
                embedder.embed(["polynews"])
                self._embedder = (embedder.name, embedder.version)
                self._usable = True
            except Exception as exc:  # whatever stops the model, the rest goes on
                log.warning(
                    "stories off: the embedding model cannot be used (%s); articles are "
                    "published without stories or claims stage=stories",
                    exc,
                )
                self._usable = False
        return self._usable

    # -- the stage ----------------------------------------------------------------------

    def run(self) -> StageCounts:
        """Place every published article that is in no story yet; returns what was done."""
        counts = StageCounts()
        if not self.available():
            return counts
        failed: set[int] = set()
        while True:
            with self.engine.connect() as conn:
                batch = store.pending_articles(
                    conn, limit=self.chunk, max_failures=MAX_ATTEMPTS, exclude=sorted(failed)
                )
            if not batch:
                return counts
            profiles = self._profiles(batch, failed, counts)
            placed = [a for a in batch if a.id in profiles]
            for group in self._time_groups(placed):
                self._place_group(group, profiles, failed, counts)

    def _fail(self, stage: str, article_id: int, error: BaseException) -> None:
        self.on_failure(stage, article_id, error)

    def _profiles(
        self, batch: list[StoryArticle], failed: set[int], counts: StageCounts
    ) -> dict[int, Profile]:
        """Profiles of ``batch``: stored ones read back, the others made and stored."""
        name, version = self._embedder
        with self.engine.connect() as conn:
            stored = store.load_profiles(
                conn, [a.id for a in batch], embedder=name, version=version
            )
        out = {article_id: _as_profile(p) for article_id, p in stored.items()}
        missing = [a for a in batch if a.id not in stored]
        texts = [_story_text(a) for a in missing]
        made: list[Profile | None]
        try:
            made = list(self.linker.profiles(texts))
        except Exception:  # one text spoils the batch: make them one by one
            made = []
            for article, text in zip(missing, texts, strict=True):
                try:
                    made.append(self.linker.profiles([text])[0])
                except Exception as exc:
                    self._fail("stories", article.id, exc)
                    counts.errors += 1
                    failed.add(article.id)
                    made.append(None)
        fresh = [
            (article, profile)
            for article, profile in zip(missing, made, strict=True)
            if profile is not None
        ]

        def save(article: StoryArticle, profile: Profile) -> None:
            with self.engine.begin() as conn:
                store.save_profile(
                    conn, _as_stored(article, profile), embedder=name, version=version
                )

        try:
            with self.engine.begin() as conn:
                for article, profile in fresh:
                    store.save_profile(
                        conn, _as_stored(article, profile), embedder=name, version=version
                    )
            out.update((article.id, profile) for article, profile in fresh)
        except Exception:
            for article, profile in fresh:
                try:
                    save(article, profile)
                    out[article.id] = profile
                except Exception as exc:
                    self._fail("stories", article.id, exc)
                    counts.errors += 1
                    failed.add(article.id)
        return out

    def _time_groups(self, batch: list[StoryArticle]) -> list[list[StoryArticle]]:
        """Consecutive runs of ``batch`` (sorted by time) spanning at most one window each."""
        groups: list[list[StoryArticle]] = []
        for article in batch:
            if groups and article.time - groups[-1][0].time <= self.window:
                groups[-1].append(article)
            else:
                groups.append([article])
        return groups

    def _place_group(
        self,
        group: list[StoryArticle],
        profiles: dict[int, Profile],
        failed: set[int],
        counts: StageCounts,
    ) -> None:
        name, version = self._embedder
        with self.engine.connect() as conn:
            found = store.candidates(
                conn,
                group[0].time - self.window,
                group[-1].time + self.window,
                embedder=name,
                version=version,
                limit=self.max_candidates,
            )
        pool = _Pool(
            ids=[c.profile.article_id for c in found],
            stories=[c.story_id for c in found],
            profiles=[_as_profile(c.profile) for c in found],
            times=[c.profile.time.timestamp() if c.profile.time else 0.0 for c in found],
        )
        seconds = self.window.total_seconds()
        for article in group:
            profile = profiles[article.id]
            time = article.time.timestamp()
            near = pool.within(time, seconds)
            decisions = self.linker.link(profile, [pool.profiles[i] for i in near])
            best: dict[int, float] = {}
            for i, decision in zip(near, decisions, strict=True):
                if decision is not None and decision.same_story:
                    story = pool.stories[i]
                    best[story] = max(best.get(story, 0.0), decision.score)
            placed = self._place(article, best, counts)
            if placed is None:
                failed.add(article.id)
                continue
            story, merged = placed
            if merged:
                pool.redirect(merged, story)
            pool.add(article.id, story, profile, time)

    def _place(
        self, article: StoryArticle, best: dict[int, float], counts: StageCounts
    ) -> tuple[int, list[int]] | None:
        """Write the article's membership (merging stories) and claims; None if that failed."""
        found: list[ClaimRecord] | None = None
        try:
            with self.engine.connect() as conn:
                stored = claim_store.has_claims(conn, article.id)
            if not stored:  # else they were stored as it was published: left as they are
                found = article_claims(article.language, article.paragraphs)
        except Exception as exc:  # the claims fail alone: the article still joins
            self._fail("claims", article.id, exc)
        try:
            placed = self._write(article, best, found)
        except Exception as first:
            if not found:
                self._fail("stories", article.id, first)
                counts.errors += 1
                return None
            try:  # perhaps the claims are what the database refused
                placed = self._write(article, best, None)
            except Exception as exc:
                self._fail("stories", article.id, exc)
                counts.errors += 1
                return None
            self._fail("claims", article.id, first)
            found = None
        story, merged = placed
        if best:
            counts.joined += 1
        else:
            counts.founded += 1
        counts.merged += len(merged)
        counts.claims += len(found or ())
        for other in merged:
            log.info(
                "stories merged story_id=%s into=%s article_id=%s stage=stories",
                other,
                story,
                article.id,
            )
        return story, merged

    def _write(
        self, article: StoryArticle, best: dict[int, float], found: list[ClaimRecord] | None
    ) -> tuple[int, list[int]]:
        with self.engine.begin() as conn:
            order = store.oldest(conn, best)
            if order:
                story, merged = order[0], order[1:]
                for other in merged:
                    store.merge(conn, story, other)
                store.add_member(conn, story, article.id, max(best.values()))
            else:
                story, merged = store.create_story(conn, article.id), []
            if found is not None:
                claim_store.save_claims(conn, article.id, article.language or "und", found)
        return story, merged


class ClaimFailureRecorder(Protocol):
    """Records a failure of one article's claims in the caller's transaction (the
    pipeline's ``_record``); it may raise, the caller contains it."""

    def __call__(
        self,
        stage: str,
        error: BaseException,
        *,
        source_id: int | None,
        url: str | None,
        article_id: int | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Record ``error`` of ``stage`` against the article (and its source) on ``conn``."""


def publish_claims(
    conn: Connection, article_id: int, record: ClaimFailureRecorder | None = None
) -> int:
    """Extract and store an article's claims as it is published, in that transaction.

    Claims are a property of the article, so they are extracted whenever it is published,
    with stories on or off (the dedup stage calls this right after marking the article
    ready). A failure is the article's alone: the claims are rolled back to a savepoint,
    the failure is recorded through ``record`` (an event of stage ``claims``) or logged,
    and the article is published without claims. Returns how many claims were stored.

    Call it after the article's status update in the same transaction, as the dedup stage
    does: on SQLite the savepoint then nests inside the transaction that update opened.
    """
    text = claim_store.claim_source(conn, article_id)
    if text is None:
        return 0
    try:
        found = article_claims(text.language, text.paragraphs)
        with conn.begin_nested():
            return claim_store.save_claims(conn, article_id, text.language or "und", found)
    except Exception as exc:  # the claims fail alone: the article is still published
        _claims_failed(conn, text, exc, record)
        return 0


def _claims_failed(
    conn: Connection,
    text: claim_store.ClaimSource,
    error: Exception,
    record: ClaimFailureRecorder | None,
) -> None:
    if record is None:
        log.warning("claims failed article_id=%s error=%s stage=claims", text.article_id, error)
        return
    try:
        with conn.begin_nested():
            record(
                "claims",
                error,
                source_id=text.source_id,
                url=None,
                article_id=text.article_id,
                conn=conn,
            )
    except Exception:  # recording must not stop the publication
        log.exception(
            "could not record a claims failure article_id=%s stage=claims", text.article_id
        )


def article_claims(language: str | None, paragraphs: Sequence[str]) -> list[ClaimRecord]:
    """The attributed claims of an article's original paragraphs (none in other languages)."""
    if language is None or language not in claim_rules.LANGUAGES:
        return []
    extractor = claim_rules.extractor(language)
    out: list[ClaimRecord] = []
    for position, paragraph in enumerate(paragraphs):
        for claim in extractor.paragraph(paragraph, position):
            out.append(
                ClaimRecord(
                    position=position,
                    sentence=claim.sentence,
                    source=claim.source,
                    cue=claim.cue,
                    content=claim.content,
                    quantities=[q.as_dict() for q in claim.quantities],
                )
            )
    return out


def _story_text(article: StoryArticle) -> StoryText:
    return StoryText(
        language=article.language or "und",
        title=article.title,
        text="\n".join(article.paragraphs),
        published=article.time,
    )


def _as_profile(stored: StoredProfile) -> Profile:
    return Profile(
        language=stored.language,
        lead=stored.vector,
        body=None,
        terms=stored.terms,
        published=stored.time,
    )


def _as_stored(article: StoryArticle, profile: Profile) -> StoredProfile:
    return StoredProfile(
        article_id=article.id,
        language=profile.language,
        time=article.time,
        vector=profile.lead,
        terms=dict(profile.terms),
    )
