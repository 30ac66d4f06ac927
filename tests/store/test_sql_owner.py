"""SQL has one owner: ``polynews.store``. Nothing else builds or runs a statement.

The check reads the source (no import): outside ``src/polynews/store/`` a module may open
connections and transactions and pass them to store functions, but may not import
SQLAlchemy's statement builders or dialects, import the table definitions, or call
``.execute`` and its relatives. The exceptions are listed in ``ALLOWED`` with the reason;
an entry that no longer finds anything fails too, so the list only ever shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "polynews"

ALLOWED: dict[str, str] = {
    "web/ratelimit.py": (
        "its own token-bucket SQLite file beside the data, not the polynews database "
        "(plain sqlite3, no engine, no migration; see the module docstring)"
    ),
}

BUILDERS = frozenset(
    {
        "select", "insert", "update", "delete", "text", "func", "and_", "or_", "not_",
        "exists", "case", "literal", "literal_column", "column", "table", "union",
        "union_all", "tuple_", "bindparam", "cast", "null", "true", "false", "join",
        "outerjoin", "lateral", "values",
    }
)  # fmt: skip
"""Names of ``sqlalchemy`` that build a statement or part of one."""

STATEMENT_MODULES = ("sqlalchemy.dialects", "sqlalchemy.sql", "sqlalchemy.orm")
TABLE_MODULES = (
    "polynews.store.schema",
    "polynews.store.schema_translate",
    "polynews.store.schema_stories",
)
RUNNERS = frozenset({"execute", "executemany", "exec_driver_sql", "scalar", "scalars"})
"""Methods that run a statement, on a SQLAlchemy connection or a DB-API one alike."""


def violations(source: str) -> list[str]:
    """What in one module's source builds or runs SQL, one line each (``line: what``)."""
    found: list[str] = []
    tree = ast.parse(source)
    aliases = {  # names bound to the sqlalchemy package itself
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "sqlalchemy"
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith((*STATEMENT_MODULES, *TABLE_MODULES)):
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "sqlalchemy":
                names = [a.name for a in node.names if a.name in BUILDERS]
                if names:
                    found.append(f"{node.lineno}: from sqlalchemy import {', '.join(names)}")
            elif node.module.startswith(STATEMENT_MODULES) or node.module in TABLE_MODULES:
                found.append(f"{node.lineno}: from {node.module} import ...")
            elif node.module == "polynews.store" and any(
                a.name in {m.rsplit(".", 1)[1] for m in TABLE_MODULES} for a in node.names
            ):
                found.append(f"{node.lineno}: from polynews.store import <tables>")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and (node.attr in BUILDERS or node.attr in {"dialects", "sql"})
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNNERS
        ):
            found.append(f"{node.lineno}: .{node.func.attr}(...)")
    return sorted(set(found), key=lambda line: int(line.split(":")[0]))


def scan(root: Path) -> dict[str, list[str]]:
    """Every module under ``root`` outside ``store/`` with what it does with SQL."""
    out: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name.startswith("store/"):
            continue
        found = violations(path.read_text("utf-8"))
        if found:
            out[name] = found
    return out


def test_no_sql_outside_the_store() -> None:
    offenders = {name: found for name, found in scan(SRC).items() if name not in ALLOWED}
    assert offenders == {}, (
        "SQL belongs in polynews.store: move these statements into a store module and call "
        f"it (or, for a database that is not polynews's, add the file to ALLOWED): {offenders}"
    )


def test_every_exception_is_still_needed() -> None:
    found = scan(SRC)
    stale = sorted(name for name in ALLOWED if name not in found)
    assert stale == [], f"remove these from ALLOWED, they no longer write SQL: {stale}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sqlalchemy import Engine, select\n", "1: from sqlalchemy import select"),
        ("import sqlalchemy as sa\nq = sa.text('x')\n", "2: sa.text"),
        ("from sqlalchemy.dialects import sqlite\n", "1: from sqlalchemy.dialects import ..."),
        ("from polynews.store.schema import articles\n", "1: from polynews.store.schema import"),
        ("from polynews.store import schema_stories\n", "1: from polynews.store import <tables>"),
        ("def f(conn):\n    conn.execute(q)\n", "2: .execute(...)"),
        ("def f(conn):\n    return conn.scalars(q)\n", "2: .scalars(...)"),
        ("def f(conn):\n    conn.exec_driver_sql('SELECT 1')\n", "2: .exec_driver_sql(...)"),
    ],
)
def test_the_scanner_sees_each_kind_of_sql(source: str, expected: str) -> None:
    assert any(line.startswith(expected) for line in violations(source)), violations(source)


def test_the_scanner_leaves_plain_code_alone() -> None:
    source = (
        "from sqlalchemy import Connection, Engine\n"
        "from sqlalchemy.exc import SQLAlchemyError\n"
        "from polynews.store import site_queries as queries\n"
        "def f(engine: Engine) -> None:\n"
        "    with engine.begin() as conn:\n"
        "        queries.latest(conn, 'en', limit=3)\n"
        "    values = {}\n"
        "    values.update(a=1)\n"
        "    [].insert(0, 1)\n"
    )
    assert violations(source) == []
