"""Tables of the story stage, on the shared ``metadata``: stories, members, profiles, claims.

A story is one event as reported by many outlets in many languages. Articles join a
story incrementally (``story_articles``, one row per published article); when two
stories turn out to be one event the younger is merged into the older and keeps its
row with ``merged_into`` set, so its old id still resolves (the site redirects).
``article_profiles`` keeps what the linker computed for an article (the embedding of
title and lead and the names-and-numbers terms), so nothing is computed twice.
``claims`` holds the attributed statements extracted from an article's original text.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from polynews.store.schema import UTCDateTime, metadata

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    # Set when this story was merged into another: the old id redirects there.
    Column("merged_into", Integer, ForeignKey("stories.id", ondelete="SET NULL")),
    # The member whose title is the story's headline (shown translated per language).
    Column("headline_article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("first_published_at", UTCDateTime()),  # earliest member's time: the first report
    Column("last_published_at", UTCDateTime()),  # latest member's time: recency, the window
    Column("article_count", Integer, nullable=False, default=0),
    Column("outlet_count", Integer, nullable=False, default=0),
    Column("language_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_stories_last_published_at", "last_published_at"),
    Index("ix_stories_merged_into", "merged_into"),
)

story_articles = Table(
    "story_articles",
    metadata,
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("score", Float),  # the linker's score against the story; NULL for its founder
    Column("joined_at", UTCDateTime(), nullable=False),
    Index("ix_story_articles_story_id", "story_id"),
)

article_profiles = Table(
    "article_profiles",
    metadata,
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("embedder", String(64), nullable=False),  # e.g. "multilingual-e5-small-q4"
    Column("embedder_version", String(64), nullable=False),
    Column("language", String(8)),
    Column("published_at", UTCDateTime()),  # the article's time, for the candidate window
    Column("vector", LargeBinary, nullable=False),  # float32, L2-normalised
    Column("terms", Text, nullable=False),  # JSON {term: weight}: names and numbers
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_article_profiles_published_at", "published_at"),
)

claims = Table(
    "claims",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),  # 0-based paragraph index in the original
    Column("language", String(8), nullable=False),  # the original text's language
    Column("sentence", Text, nullable=False),
    Column("source", Text),  # who says it; NULL when the statement names nobody resolvable
    Column("cue", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("quantities", Text, nullable=False),  # JSON list of {text, value, unit, qualifier}
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_claims_article_id", "article_id"),
)
