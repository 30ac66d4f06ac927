"""Search index per language: one FTS5 table per site language, stored weighted tsvectors.

Migration 0003 put every non-English language in one FTS5 table, so a query in French
matched (and ranked) the Spanish, German, Italian and Ukrainian documents too before the
language filter threw them away. Here SQLite gets one FTS5 table per site language
(``search_fts_<lang>``; Porter stemming for English) plus ``search_fts_other`` for any
other language, each ranked by ``bm25`` with the title weighted 4 to 1.

PostgreSQL gets a stored ``tsv`` column (title weight A, body weight D, in the
language's configuration) with one partial GIN index per language, so ranking reads a
stored vector instead of parsing every matching text again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
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
_LANGS = tuple(_PG_CONFIGS)
_OLD_FTS5 = ("search_fts_en", "search_fts")
_RANK = "bm25(4.0, 1.0)"


def _fts5_tables() -> list[tuple[str, str, str]]:
    """(table, tokenizer, which documents it holds) of the SQLite index."""
    listed = ", ".join(f"'{lang}'" for lang in _LANGS)
    tables = [
        (
            f"search_fts_{lang}",
            "porter unicode61 remove_diacritics 2"
            if lang == "en"
            else "unicode61 remove_diacritics 2",
            f"lang = '{lang}'",
        )
        for lang in _LANGS
    ]
    tables.append(("search_fts_other", "unicode61 remove_diacritics 2", f"lang NOT IN ({listed})"))
    return tables


def _drop_fts5(tables: tuple[str, ...]) -> None:
    for table in tables:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {table}")


def _create_fts5(table: str, tokenizer: str, where: str) -> None:
    op.execute(
        f"CREATE VIRTUAL TABLE {table} USING fts5(title, body, "
        f"content='search_documents', content_rowid='id', tokenize='{tokenizer}')"
    )
    op.execute(f"INSERT INTO {table}({table}, rank) VALUES ('rank', '{_RANK}')")  # noqa: S608
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
    op.execute(
        f"INSERT INTO {table}(rowid, title, body) "  # noqa: S608
        f"SELECT id, title, body FROM search_documents WHERE {where}"
    )


def _pg_config_case() -> str:
    whens = " ".join(f"WHEN '{lang}' THEN '{cfg}'::regconfig" for lang, cfg in _PG_CONFIGS.items())
    return f"CASE lang {whens} ELSE 'simple'::regconfig END"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _drop_fts5(_OLD_FTS5)
        for table, tokenizer, where in _fts5_tables():
            _create_fts5(table, tokenizer, where)
        op.execute("CREATE INDEX search_documents_lang ON search_documents (lang, published_at)")
    elif dialect == "postgresql":
        cfg = _pg_config_case()
        op.execute(
            "ALTER TABLE search_documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
            f"setweight(to_tsvector({cfg}, title), 'A') || "
            f"setweight(to_tsvector({cfg}, body), 'D')) STORED"
        )
        for lang in _PG_CONFIGS:
            op.execute(f"DROP INDEX IF EXISTS search_fts_pg_{lang}")
            op.execute(
                f"CREATE INDEX search_tsv_{lang} ON search_documents USING gin (tsv) "
                f"WHERE lang = '{lang}'"
            )
        listed = ", ".join(f"'{lang}'" for lang in _LANGS)
        op.execute(
            "CREATE INDEX search_tsv_other ON search_documents USING gin (tsv) "
            f"WHERE lang NOT IN ({listed})"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP INDEX IF EXISTS search_documents_lang")
        _drop_fts5(tuple(t for t, _tok, _w in _fts5_tables()))
        # Back to the two tables of 0003, filled from the documents.
        for table, tokenizer, where in (
            ("search_fts_en", "porter unicode61 remove_diacritics 2", "lang = 'en'"),
            ("search_fts", "unicode61 remove_diacritics 2", "lang <> 'en'"),
        ):
            _create_fts5(table, tokenizer, where)
    elif dialect == "postgresql":
        for lang in _PG_CONFIGS:
            op.execute(f"DROP INDEX IF EXISTS search_tsv_{lang}")
        op.execute("DROP INDEX IF EXISTS search_tsv_other")
        op.execute("ALTER TABLE search_documents DROP COLUMN tsv")
        for lang, cfg in _PG_CONFIGS.items():
            op.execute(
                f"CREATE INDEX search_fts_pg_{lang} ON search_documents USING gin "
                f"(to_tsvector('{cfg}'::regconfig, title || ' ' || body)) WHERE lang = '{lang}'"
            )
