"""Full-text search: search_documents, FTS5 tables on SQLite, GIN indexes on PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polynews.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Written out here (not imported) so this migration keeps building what it built.
_PG_CONFIGS = {
    "en": "english",
    "es": "spanish",
    "de": "german",
    "fr": "french",
    "it": "italian",
    "uk": "simple",
}

# (FTS5 table, tokenizer, which documents it holds)
_FTS5 = (
    ("search_fts_en", "porter unicode61 remove_diacritics 2", "lang = 'en'"),
    ("search_fts", "unicode61 remove_diacritics 2", "lang <> 'en'"),
)


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", UTCDateTime()),
        sa.Column("indexed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_search_documents"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_search_documents_article_id_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_search_documents_article_id", "search_documents", ["article_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table, tokenizer, where in _FTS5:
            op.execute(
                f"CREATE VIRTUAL TABLE {table} USING fts5(title, body, "
                f"content='search_documents', content_rowid='id', tokenize='{tokenizer}')"
            )
            new_where = where.replace("lang", "new.lang")
            old_where = where.replace("lang", "old.lang")
            op.execute(
                f"CREATE TRIGGER {table}_ai AFTER INSERT ON search_documents "  # noqa: S608
                f"WHEN {new_where} BEGIN "
                f"INSERT INTO {table}(rowid, title, body) VALUES (new.id, new.title, new.body); END"
            )
            op.execute(
                f"CREATE TRIGGER {table}_ad AFTER DELETE ON search_documents "  # noqa: S608
                f"WHEN {old_where} BEGIN "
                f"INSERT INTO {table}({table}, rowid, title, body) "
                f"VALUES ('delete', old.id, old.title, old.body); END"
            )
            op.execute(
                f"CREATE TRIGGER {table}_au AFTER UPDATE ON search_documents BEGIN "
                f"INSERT INTO {table}({table}, rowid, title, body) "
                f"SELECT 'delete', old.id, old.title, old.body WHERE {old_where}; "
                f"INSERT INTO {table}(rowid, title, body) "
                f"SELECT new.id, new.title, new.body WHERE {new_where}; END"
            )
    elif dialect == "postgresql":
        for lang, cfg in _PG_CONFIGS.items():
            op.execute(
                f"CREATE INDEX search_fts_pg_{lang} ON search_documents USING gin "
                f"(to_tsvector('{cfg}'::regconfig, title || ' ' || body)) WHERE lang = '{lang}'"
            )
        op.execute("CREATE INDEX search_fts_pg_lang ON search_documents (lang, published_at)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table, _tokenizer, _where in _FTS5:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}")
    op.drop_index("ix_search_documents_article_id", table_name="search_documents")
    op.drop_table("search_documents")
