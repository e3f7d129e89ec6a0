"""Fixtures: a fresh offline root + fstore.toml per test (SQLite `local` store, secrets from
the environment), and a MariaDB database with walk-through-style `writer`/`reader` users whose
credentials sit in the `aurora_writer`/`aurora_reader` scopes (env backend); the same on
PostgreSQL (`pg_writer`/`pg_reader` scopes).

MariaDB comes from FSTORE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306), PostgreSQL from
FSTORE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432); tests FAIL when one is
unreachable, never skip. Database and user names start with `fstore_py_`/`fpy_` and
carry the test's name, so they collide neither with the Rust tests nor with each other.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
import pymysql
import pytest


def server() -> dict[str, object]:
    url = urllib.parse.urlparse(os.environ.get("FSTORE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"))
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 3306,
        "user": urllib.parse.unquote(url.username or "root"),
        "password": urllib.parse.unquote(url.password or ""),
    }


def admin() -> pymysql.connections.Connection:
    s = server()
    try:
        return pymysql.connect(host=s["host"], port=s["port"], user=s["user"], password=s["password"], autocommit=True)
    except pymysql.err.OperationalError as e:
        pytest.fail(
            f"MariaDB is unreachable at {s['host']}:{s['port']} ({e}); start it with "
            "`start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`"
        )


@dataclass
class Mysql:
    host: str
    port: int
    database: str
    writer: str
    reader: str
    reader_password: str

    def reader_rows(self, table: str) -> tuple[list[str], list[tuple[object, ...]]]:
        """`SELECT *` as the walk-through's reader, through a plain MySQL client."""
        conn = pymysql.connect(
            host=self.host, port=self.port, user=self.reader, password=self.reader_password, database=self.database
        )
        try:
            with conn.cursor() as c:
                c.execute(f"SELECT * FROM `{table}`")
                cols = [d[0] for d in c.description]
                return cols, list(c.fetchall())
        finally:
            conn.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fstore.toml").write_text(
        '[offline]\nroot = "offline"\n\n[secrets]\nbackend = "env"\n\n'
        '[stores.local]\nkind = "sqlite"\npath = "online.db"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FSTORE_CONFIG", str(tmp_path / "fstore.toml"))
    return tmp_path


@pytest.fixture
def mysql(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mysql]:
    tag = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]
    database = f"fstore_py_{tag}"
    writer, reader = f"fpy_w_{tag}", f"fpy_r_{tag}"
    wpw, rpw = secrets.token_hex(12), secrets.token_hex(12)
    conn = admin()
    with conn.cursor() as c:
        for stmt in (
            f"DROP DATABASE IF EXISTS `{database}`",
            f"DROP USER IF EXISTS '{writer}'@'%'",
            f"DROP USER IF EXISTS '{reader}'@'%'",
            f"CREATE DATABASE `{database}`",
            f"CREATE USER '{writer}'@'%' IDENTIFIED BY '{wpw}'",
            f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{rpw}'",
            f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{writer}'@'%'",
            f"GRANT SELECT ON `{database}`.* TO '{reader}'@'%'",
        ):
            c.execute(stmt)
    monkeypatch.setenv("FSTORE_SECRET_AURORA_WRITER_AURORA_USER", writer)
    monkeypatch.setenv("FSTORE_SECRET_AURORA_WRITER_AURORA_PASSWORD", wpw)
    monkeypatch.setenv("FSTORE_SECRET_AURORA_READER_AURORA_USER", reader)
    monkeypatch.setenv("FSTORE_SECRET_AURORA_READER_AURORA_PASSWORD", rpw)
    s = server()
    yield Mysql(str(s["host"]), int(s["port"]), database, writer, reader, rpw)  # type: ignore[call-overload]
    with conn.cursor() as c:
        c.execute(f"DROP DATABASE IF EXISTS `{database}`")
        c.execute(f"DROP USER IF EXISTS '{writer}'@'%'")
        c.execute(f"DROP USER IF EXISTS '{reader}'@'%'")
    conn.close()


def pg_server() -> dict[str, object]:
    url = urllib.parse.urlparse(os.environ.get("FSTORE_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": urllib.parse.unquote(url.username or "postgres"),
        "password": urllib.parse.unquote(url.password or ""),
    }


def pg_connect(database: str, user: str | None = None, password: str | None = None) -> psycopg.Connection:
    """A connection to `database`, as the URL's administrator unless `user` is given."""
    s = pg_server()
    try:
        return psycopg.connect(
            host=str(s["host"]),
            port=int(s["port"]),  # type: ignore[call-overload]
            user=user or str(s["user"]),
            password=password if user else (str(s["password"]) or None),
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )
    except psycopg.OperationalError as e:
        pytest.fail(
            f"PostgreSQL is unreachable at {s['host']}:{s['port']} ({e}); start it with "
            "`pg_ctlcluster 15 main start` or point FSTORE_TEST_PG_URL at a server"
        )


@dataclass
class Postgres:
    host: str
    port: int
    database: str
    writer: str
    reader: str
    reader_password: str

    def reader_rows(self, table: str) -> tuple[list[str], list[tuple[object, ...]]]:
        """`SELECT *` as the reader role, through a plain PostgreSQL client."""
        with pg_connect(self.database, self.reader, self.reader_password) as conn:
            cur = conn.execute(f'SELECT * FROM public."{table}"')
            return [d.name for d in cur.description or []], list(cur.fetchall())


@pytest.fixture
def postgres(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Postgres]:
    """A database owned by a writer role (so it may create in `public`) and a reader role that
    may connect and SELECT what the writer creates (default privileges), as `online init` sets
    them up; credentials in the `pg_writer/pg` and `pg_reader/pg` scopes."""
    tag = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]
    database = f"fstore_py_{tag}"
    writer, reader = f"fpy_w_{tag}", f"fpy_r_{tag}"
    wpw, rpw = secrets.token_hex(12), secrets.token_hex(12)

    def drop(c: psycopg.Connection) -> None:
        c.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        c.execute(f'DROP ROLE IF EXISTS "{writer}"')
        c.execute(f'DROP ROLE IF EXISTS "{reader}"')

    with pg_connect("postgres") as c:
        drop(c)
        c.execute(f"CREATE ROLE \"{writer}\" LOGIN PASSWORD '{wpw}'")
        c.execute(f"CREATE ROLE \"{reader}\" LOGIN PASSWORD '{rpw}'")
        c.execute(f'CREATE DATABASE "{database}" OWNER "{writer}"')
    with pg_connect(database) as c:
        c.execute(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{writer}" IN SCHEMA public GRANT SELECT ON TABLES TO "{reader}"')
    monkeypatch.setenv("FSTORE_SECRET_PG_WRITER_PG_USER", writer)
    monkeypatch.setenv("FSTORE_SECRET_PG_WRITER_PG_PASSWORD", wpw)
    monkeypatch.setenv("FSTORE_SECRET_PG_READER_PG_USER", reader)
    monkeypatch.setenv("FSTORE_SECRET_PG_READER_PG_PASSWORD", rpw)
    s = pg_server()
    yield Postgres(str(s["host"]), int(s["port"]), database, writer, reader, rpw)  # type: ignore[call-overload]
    with pg_connect("postgres") as c:
        drop(c)
