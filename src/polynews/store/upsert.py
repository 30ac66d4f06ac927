"""The one upsert: ``INSERT ... ON CONFLICT (keys) DO UPDATE / DO NOTHING`` on both databases.

Every store module that writes "this row, whether or not it is there yet" calls
:func:`upsert`, so concurrent writers are handled in one place: the database settles a
race on a unique key inside the one statement (PostgreSQL waits for the other writer's
transaction, then updates or skips; SQLite serialises writers), so no ``IntegrityError``
reaches the caller and no read-then-write window exists.

Rows are written in the order of their keys. Two transactions that upsert overlapping
keys then lock them in the same order and cannot deadlock each other, whatever order
their callers listed them in. A batch that names one key twice keeps the last row: one
statement may not touch a row twice on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Row, Table
from sqlalchemy.dialects import postgresql, sqlite

from polynews.errors import StoreError

MAX_PARAMETERS = 900
"""Bound parameters per statement: under SQLite's historic limit of 999, with room to spare."""


def upsert(
    conn: Connection,
    table: Table,
    rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str] | None,
    update: Sequence[str] | None = None,
    returning: Sequence[Column[Any]] = (),
) -> list[Row[Any]]:
    """Insert ``rows`` into ``table``; a row whose ``keys`` already exist is updated or skipped.

    ``keys`` names the columns of a unique constraint (the conflict target). ``update``
    names the columns a conflicting row gets from the new one: None means every column
    given except the keys, an empty sequence means ``DO NOTHING``. With ``keys=None``
    (allowed only with ``DO NOTHING``) a conflict on any unique constraint skips the row.
    Large batches are split to stay under the bound-parameter limit. Returns the
    ``returning`` columns of the rows inserted or updated (skipped rows return nothing).
    """
    batch = [dict(rows)] if isinstance(rows, Mapping) else [dict(r) for r in rows]
    if not batch:
        return []
    columns = list(batch[0])
    if any(list(r) != columns for r in batch):
        raise StoreError(f"upsert into {table.name}: every row must name the same columns")
    if keys is not None:
        missing = [k for k in keys if k not in columns]
        if missing:
            raise StoreError(f"upsert into {table.name}: rows lack the key columns {missing}")
        # The last row of a key wins. A NULL in a key never conflicts (NULLs are distinct
        # in a unique constraint), so such rows are all kept.
        by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
        for n, row in enumerate(batch):
            key = tuple(row[k] for k in keys)
            by_key[(*key, n) if None in key else key] = row
        batch = [by_key[k] for k in sorted(by_key, key=_sortable)]
    changed = [c for c in columns if c not in (keys or ())] if update is None else list(update)
    unknown = [c for c in changed if c not in columns]
    if unknown:
        raise StoreError(f"upsert into {table.name}: rows lack the updated columns {unknown}")
    if changed and keys is None:
        raise StoreError(f"upsert into {table.name}: DO UPDATE needs the key columns")
    out: list[Row[Any]] = []
    for chunk in _chunks(batch, max(1, MAX_PARAMETERS // max(1, len(columns)))):
        stmt = _statement(conn, table, chunk, keys, changed)
        if returning:
            out.extend(conn.execute(stmt.returning(*returning)).all())
        else:
            conn.execute(stmt)
    return out


def _statement(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    keys: Sequence[str] | None,
    changed: list[str],
) -> Any:
    """The dialect's ``INSERT ... ON CONFLICT`` for one chunk of rows."""
    name = conn.dialect.name
    if name == "postgresql":
        pg = postgresql.insert(table).values(rows)
        if not changed:
            return pg.on_conflict_do_nothing(index_elements=keys)
        return pg.on_conflict_do_update(
            index_elements=keys, set_={c: pg.excluded[c] for c in changed}
        )
    if name == "sqlite":
        lite = sqlite.insert(table).values(rows)
        if not changed:
            return lite.on_conflict_do_nothing(index_elements=keys)
        return lite.on_conflict_do_update(
            index_elements=keys, set_={c: lite.excluded[c] for c in changed}
        )
    raise StoreError(f"polynews stores its data in SQLite or PostgreSQL, not {name}")


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[bool, str, Any], ...]:
    """A key made comparable whatever its values (None first, then by type, then value)."""
    return tuple((v is not None, type(v).__name__, v if v is not None else 0) for v in key)
