"""Results and request objects: feature tables, write/publish reports, lookups, training sets."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import InvalidInputError
from .frame import Frame


@dataclass(frozen=True)
class FeatureTable:
    """A feature table as ``get_table`` / ``fstore tables describe`` show it."""

    name: str
    primary_keys: list[str]
    timestamp_keys: list[str]
    description: str | None
    tags: dict[str, str]
    partition_columns: list[str]
    features: list[str]
    path_data_sources: list[str]
    version: int
    table_id: str | None = None
    creation_timestamp: str | None = None
    change_data_feed: bool = True
    columns: list[tuple[str, str]] = field(default_factory=list)

    @staticmethod
    def _from(d: dict[str, Any]) -> "FeatureTable":
        ts = [d["timestamp_key"]] if d.get("timestamp_key") else []
        cols = list(d.get("columns") or [])
        return FeatureTable(
            name=d["name"],
            # Databricks' get_table re-appends the timestamp keys to the primary keys.
            primary_keys=list(d["primary_keys"]) + ts,
            timestamp_keys=ts,
            description=d.get("description"),
            tags=dict(d.get("tags") or {}),
            partition_columns=list(d.get("partition_columns") or []),
            features=[c for c, _ in cols],
            path_data_sources=[d["location"]],
            version=d["version"],
            table_id=d.get("table_id"),
            creation_timestamp=d.get("created_at"),
            change_data_feed=d.get("change_data_feed", True),
            columns=cols,
        )


@dataclass(frozen=True)
class WriteReport:
    table: str
    mode: str
    version: int
    rows: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int | None
    files_added: int

    def __str__(self) -> str:
        return f"wrote {self.rows} rows to {self.table} ({self.mode}), now at version {self.version}"


@dataclass(frozen=True)
class PublishReport:
    """What a publish did; ``str()`` is the summary ``fstore publish`` prints."""

    feature_table: str
    store: str
    online_table: str
    delta_version: int
    mode: str
    method: str
    method_detail: str
    rows_read: int
    inserted: int
    updated: int
    skipped_older: int
    deleted: int
    bytes: int
    commits: int
    elapsed_secs: float
    summary: str

    def __str__(self) -> str:
        return self.summary


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    timestamp: str | None
    operation: str
    parameters: str
    engine: str | None
    line: str

    def __str__(self) -> str:
        return self.line


class FeatureLookup:
    """Databricks' ``FeatureLookup``: ``lookup_key`` maps by position to the table's primary keys."""

    def __init__(
        self,
        table_name: str,
        lookup_key: str | list[str],
        *,
        feature_names: str | list[str] | None = None,
        rename_outputs: dict[str, str] | None = None,
        timestamp_lookup_key: str | None = None,
        lookback_window: _dt.timedelta | None = None,
        default_values: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if "feature_name" in kwargs:
            feature_names = kwargs.pop("feature_name")
        if "output_name" in kwargs:
            out = kwargs.pop("output_name")
            if isinstance(feature_names, str) and out:
                rename_outputs = {feature_names: out}
        if kwargs:
            raise InvalidInputError(f"FeatureLookup: unexpected arguments: {', '.join(sorted(kwargs))}")
        if default_values:
            raise NotImplementedError("FeatureLookup(default_values=...) is not supported by fstore yet")
        if not isinstance(table_name, str):
            raise InvalidInputError("FeatureLookup: table_name must be a string such as 'default.users'")
        self.table_name = table_name
        self.lookup_key = [lookup_key] if isinstance(lookup_key, str) else list(lookup_key)
        self.feature_names = [feature_names] if isinstance(feature_names, str) else (
            list(feature_names) if feature_names is not None else None
        )
        self.rename_outputs = dict(rename_outputs or {})
        self.timestamp_lookup_key = timestamp_lookup_key
        if lookback_window is not None and not isinstance(lookback_window, _dt.timedelta):
            raise InvalidInputError("FeatureLookup: lookback_window must be a datetime.timedelta")
        self.lookback_window = lookback_window

    def _native(self) -> tuple[Any, ...]:
        lb = self.lookback_window.total_seconds() if self.lookback_window is not None else None
        return (self.table_name, self.lookup_key, self.timestamp_lookup_key, self.feature_names, self.rename_outputs, lb)

    def __repr__(self) -> str:
        return f"FeatureLookup(table_name={self.table_name!r}, lookup_key={self.lookup_key!r})"


class TrainingSet:
    """A training set; :meth:`load_df` runs the point-in-time join once and caches it."""

    def __init__(self, run: Callable[[], tuple[Any, list[tuple[str, int]]]]) -> None:
        self._run = run
        self._frame: Frame | None = None
        self.tables_read: list[tuple[str, int]] = []

    def load_df(self) -> Frame:
        if self._frame is None:
            table, tables = self._run()
            self._frame = Frame(table)
            self.tables_read = list(tables)
        return self._frame

    def get_output_columns(self) -> list[str]:
        return self.load_df().columns
