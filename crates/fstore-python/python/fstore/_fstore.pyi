"""Stubs for the compiled module `fstore._fstore` (checked by `python -m mypy.stubtest fstore._fstore`)."""

from typing import Any, final

__version__: str
__all__ = ["Client", "PublishStream", "Secrets", "ServeClient", "__version__"]

_SpecTuple = tuple[str, int, str, str | None, str | None, str | None]
_PgSpecTuple = tuple[str, int, str, str, str | None, str | None, str | None]
_Lookup = tuple[str, list[str], str | None, list[str] | None, dict[str, str], float | None]

@final
class Client:
    def __new__(cls, config: str | None = None, offline_root: str | None = None) -> Client: ...
    @property
    def offline_root(self) -> str: ...
    def store_names(self) -> list[str]: ...
    def close(self) -> None: ...
    def create_table(
        self,
        name: str,
        primary_keys: list[str],
        data: Any = None,
        schema: Any = None,
        timestamp_key: str | None = None,
        partition_columns: list[str] = ...,
        description: str | None = None,
        tags: dict[str, str] = ...,
        change_data_feed: bool = True,
    ) -> dict[str, Any]: ...
    def write_table(self, name: str, data: Any, mode: str = "merge") -> dict[str, Any]: ...
    def read_table(
        self,
        name: str,
        version: int | None = None,
        timestamp: str | None = None,
        columns: list[str] | None = None,
        filter: str | None = None,
        limit: int | None = None,
    ) -> Any: ...
    def describe_table(self, name: str) -> dict[str, Any]: ...
    def list_tables(self) -> list[str]: ...
    def history(self, name: str, limit: int | None = None) -> list[dict[str, Any]]: ...
    def drop_table(self, name: str) -> None: ...
    def register_table(
        self,
        name: str,
        primary_keys: list[str],
        path: str | None = None,
        timestamp_key: str | None = None,
        description: str | None = None,
        tags: dict[str, str] = ...,
    ) -> dict[str, Any]: ...
    def delete_rows(self, name: str, predicate: str) -> dict[str, Any]: ...
    def publish_table(
        self,
        name: str,
        store: str | None = None,
        mysql: _SpecTuple | None = None,
        postgres: _PgSpecTuple | None = None,
        mode: str = "merge",
        online_table: str | None = None,
        filter: str | None = None,
        features: list[str] | None = None,
        full: bool = False,
    ) -> dict[str, Any]: ...
    def publish_stream(
        self,
        name: str,
        store: str | None = None,
        mysql: _SpecTuple | None = None,
        postgres: _PgSpecTuple | None = None,
        mode: str = "merge",
        online_table: str | None = None,
        filter: str | None = None,
        features: list[str] | None = None,
        full: bool = False,
        interval_secs: float = 5.0,
    ) -> PublishStream: ...
    def secrets(self) -> Secrets: ...
    def drop_online_table(self, online_table: str, store: str | None = None, mysql: _SpecTuple | None = None, postgres: _PgSpecTuple | None = None) -> None: ...
    def lookup(
        self,
        name: str,
        keys: list[list[str]],
        features: list[str] | None = None,
        store: str | None = None,
        mysql: _SpecTuple | None = None,
        postgres: _PgSpecTuple | None = None,
        online_table: str | None = None,
    ) -> Any: ...
    def online_primary_keys(
        self,
        name: str,
        store: str | None = None,
        mysql: _SpecTuple | None = None,
        postgres: _PgSpecTuple | None = None,
        online_table: str | None = None,
    ) -> list[str]: ...
    def training_set(
        self,
        lookups: list[_Lookup],
        spine: Any = None,
        spine_table: str | None = None,
        label: list[str] = ...,
        exclude: list[str] = ...,
        as_of_version: int | None = None,
        table_versions: dict[str, int] = ...,
        memory_limit: int | str | None = None,
        spill_dir: str | None = None,
    ) -> tuple[Any, list[tuple[str, int]]]: ...

@final
class Secrets:
    def describe(self) -> str: ...
    def is_read_only(self) -> bool: ...
    def create_scope(self, scope: str) -> bool: ...
    def check_put(self, scope: str, key: str) -> None: ...
    def put(self, scope: str, key: str, value: str) -> None: ...
    def list_scopes(self) -> list[str]: ...
    def list(self, scope: str) -> list[str]: ...
    def delete(self, scope: str, key: str) -> None: ...
    def delete_scope(self, scope: str) -> None: ...

@final
class ServeClient:
    def __new__(cls, url: str, token: str | None = None, timeout_secs: float = 30.0) -> ServeClient: ...
    @property
    def url(self) -> str: ...
    def ready(self) -> None: ...
    def lookup(self, table: str, keys_json: str, features: list[str] | None = None) -> tuple[Any, dict[str, Any]]: ...
    def lookup_vectors(
        self,
        rows_json: str,
        row_columns: list[str],
        lookups: list[tuple[str, list[str], list[str] | None, dict[str, str]]],
    ) -> tuple[Any, dict[str, Any]]: ...

@final
class PublishStream:
    @property
    def name(self) -> str: ...
    @property
    def store(self) -> str: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def cycles(self) -> int: ...
    @property
    def last_progress(self) -> dict[str, Any] | None: ...
    def stop(self) -> None: ...
    def await_termination(self, timeout: float | None = None) -> bool: ...
    def exception(self) -> BaseException | None: ...
