"""Online store specs. ``AmazonRdsMySqlSpec`` has Databricks' fields and validation; it maps
onto a MySQL store (host, port, database, read/write secret prefixes) without an
``fstore.toml`` entry. ``PostgresSpec`` (Databricks has no PostgreSQL spec) does the same for a
``kind = "postgres"`` store, with the same field names plus ``schema_name``. Credentials always
come from secret scopes, never from arguments."""

from __future__ import annotations

import re
from typing import Any

from .errors import InvalidInputError

_PREFIX = re.compile(r"^[^/\s]+/[^/\s]+$")


def _check_prefix(arg: str, value: str | None) -> None:
    if value is not None and not (isinstance(value, str) and _PREFIX.match(value)):
        raise InvalidInputError(
            f"invalid {arg} `{value}`: the format of this parameter should be `<scope>/<prefix>`, e.g. `aurora_writer/aurora`"
        )


class AmazonRdsMySqlSpec:
    """Amazon RDS / Aurora MySQL (or any MySQL/MariaDB) online store.

    ``write_secret_prefix`` names the writer's credentials (``<scope>/<prefix>`` → keys
    ``<prefix>-user`` and ``<prefix>-password``), ``read_secret_prefix`` the reader's.
    """

    cloud = "aws"
    store_type = "mysql"

    def __init__(
        self,
        hostname: str,
        port: int,
        user: str | None = None,
        password: str | None = None,
        database_name: str | None = None,
        table_name: str | None = None,
        driver_name: str | None = None,
        read_secret_prefix: str | None = None,
        write_secret_prefix: str | None = None,
        *,
        tls: str | None = None,
    ) -> None:
        if user is not None or password is not None:
            raise InvalidInputError(
                "AmazonRdsMySqlSpec does not take user= or password=: keep the credentials in secret scopes and pass "
                "write_secret_prefix='<scope>/<prefix>' (e.g. 'aurora_writer/aurora', keys aurora-user and aurora-password) "
                "and read_secret_prefix='aurora_reader/aurora'"
            )
        if not isinstance(hostname, str) or not hostname:
            raise InvalidInputError("AmazonRdsMySqlSpec: hostname must be a non-empty string")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInputError(f"AmazonRdsMySqlSpec: port must be an integer in 1..65535, not {port!r}")
        if (database_name is None) != (table_name is None):
            raise InvalidInputError(
                "AmazonRdsMySqlSpec: give both database_name and table_name, or neither (then the feature table's schema and name are used)"
            )
        if write_secret_prefix is None:
            raise InvalidInputError(
                "AmazonRdsMySqlSpec: write_secret_prefix is required: the writer's credentials live in a secret scope, e.g. write_secret_prefix='aurora_writer/aurora'"
            )
        _check_prefix("write_secret_prefix", write_secret_prefix)
        _check_prefix("read_secret_prefix", read_secret_prefix)
        self._hostname = hostname
        self._port = port
        self._database_name = database_name
        self._table_name = table_name
        self._driver = driver_name
        self._read_secret_prefix = read_secret_prefix
        self._write_secret_prefix = write_secret_prefix
        self._tls = tls

    hostname = property(lambda self: self._hostname)
    port = property(lambda self: self._port)
    database_name = property(lambda self: self._database_name)
    table_name = property(lambda self: self._table_name)
    driver = property(lambda self: self._driver)
    read_secret_prefix = property(lambda self: self._read_secret_prefix)
    write_secret_prefix = property(lambda self: self._write_secret_prefix)
    user = property(lambda self: None)
    password = property(lambda self: None)
    auth_type = property(lambda self: "SECRETS")

    def clone(self, **kwargs: Any) -> "AmazonRdsMySqlSpec":
        args = self.non_secret_properties()
        args.update(kwargs)
        return AmazonRdsMySqlSpec(**args)

    def non_secret_properties(self) -> dict[str, Any]:
        return {
            "hostname": self._hostname,
            "port": self._port,
            "database_name": self._database_name,
            "table_name": self._table_name,
            "driver_name": self._driver,
            "read_secret_prefix": self._read_secret_prefix,
            "write_secret_prefix": self._write_secret_prefix,
        }

    def _native(self, feature_table: str) -> tuple[tuple[Any, ...], str]:
        """``(mysql spec tuple, online table)`` for publishing ``feature_table``: without a
        database/table name, Databricks' defaults (the table's schema and name)."""
        if self._database_name is None:
            schema, _, table = feature_table.partition(".")
            database, online = schema, table
        else:
            database, online = self._database_name, str(self._table_name)
        return (
            (self._hostname, self._port, database, self._read_secret_prefix, self._write_secret_prefix, self._tls),
            online,
        )

    def __repr__(self) -> str:
        props = ", ".join(f"{k}={v!r}" for k, v in self.non_secret_properties().items() if v is not None)
        return f"AmazonRdsMySqlSpec({props})"


AzureMySqlSpec = AmazonRdsMySqlSpec


class PostgresSpec:
    """A PostgreSQL online store: self-hosted, Amazon RDS / Aurora PostgreSQL, Lakebase (see
    docs/postgres.md). The same fields and rules as :class:`AmazonRdsMySqlSpec` where they
    apply; ``database_name`` defaults to ``feature_store`` (as ``kind = "postgres"`` stores and
    ``fstore online init`` do), ``schema_name`` to ``public``, ``table_name`` to the feature
    table's name. ``tls``: ``verify-identity`` (default off loopback), ``required``,
    ``preferred`` (default on loopback) or ``disabled``.
    """

    cloud = "aws"
    store_type = "postgres"

    def __init__(
        self,
        hostname: str,
        port: int = 5432,
        database_name: str | None = None,
        table_name: str | None = None,
        read_secret_prefix: str | None = None,
        write_secret_prefix: str | None = None,
        *,
        schema_name: str = "public",
        tls: str | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        if user is not None or password is not None:
            raise InvalidInputError(
                "PostgresSpec does not take user= or password=: keep the credentials in secret scopes and pass "
                "write_secret_prefix='<scope>/<prefix>' (e.g. 'pg_writer/pg', keys pg-user and pg-password) "
                "and read_secret_prefix='pg_reader/pg'"
            )
        if not isinstance(hostname, str) or not hostname:
            raise InvalidInputError("PostgresSpec: hostname must be a non-empty string")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInputError(f"PostgresSpec: port must be an integer in 1..65535, not {port!r}")
        for arg, value in (("database_name", database_name), ("table_name", table_name), ("schema_name", schema_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidInputError(f"PostgresSpec: {arg} must be a non-empty string, not {value!r}")
        if write_secret_prefix is None:
            raise InvalidInputError(
                "PostgresSpec: write_secret_prefix is required: the writer's credentials live in a secret scope, e.g. write_secret_prefix='pg_writer/pg'"
            )
        _check_prefix("write_secret_prefix", write_secret_prefix)
        _check_prefix("read_secret_prefix", read_secret_prefix)
        self._hostname = hostname
        self._port = port
        self._database_name = database_name
        self._table_name = table_name
        self._schema_name = schema_name
        self._read_secret_prefix = read_secret_prefix
        self._write_secret_prefix = write_secret_prefix
        self._tls = tls

    hostname = property(lambda self: self._hostname)
    port = property(lambda self: self._port)
    database_name = property(lambda self: self._database_name)
    table_name = property(lambda self: self._table_name)
    schema_name = property(lambda self: self._schema_name)
    read_secret_prefix = property(lambda self: self._read_secret_prefix)
    write_secret_prefix = property(lambda self: self._write_secret_prefix)
    user = property(lambda self: None)
    password = property(lambda self: None)
    auth_type = property(lambda self: "SECRETS")

    def clone(self, **kwargs: Any) -> "PostgresSpec":
        args = self.non_secret_properties()
        args.update(kwargs)
        return PostgresSpec(**args)

    def non_secret_properties(self) -> dict[str, Any]:
        return {
            "hostname": self._hostname,
            "port": self._port,
            "database_name": self._database_name,
            "table_name": self._table_name,
            "schema_name": self._schema_name,
            "read_secret_prefix": self._read_secret_prefix,
            "write_secret_prefix": self._write_secret_prefix,
            "tls": self._tls,
        }

    def _native(self, feature_table: str) -> tuple[tuple[Any, ...], str]:
        """``(postgres spec tuple, online table)`` for publishing ``feature_table``."""
        online = self._table_name or feature_table.partition(".")[2] or feature_table
        return (
            (
                self._hostname,
                self._port,
                self._database_name or "feature_store",
                self._schema_name,
                self._read_secret_prefix,
                self._write_secret_prefix,
                self._tls,
            ),
            online,
        )

    def __repr__(self) -> str:
        props = ", ".join(f"{k}={v!r}" for k, v in self.non_secret_properties().items() if v is not None)
        return f"PostgresSpec({props})"
