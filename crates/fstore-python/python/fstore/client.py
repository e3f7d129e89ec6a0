"""``fstore.Client``: the native Python API, over the same ``fstore.toml``, secret scopes and
stores as the ``fstore`` CLI."""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from typing import Any, Literal

from . import _fstore
from ._convert import to_arrow_stream
from .entities import FeatureLookup, FeatureTable, HistoryEntry, PublishReport, TrainingSet, WriteReport
from .errors import InvalidInputError
from .frame import Frame
from .secrets import Secrets
from .specs import AmazonRdsMySqlSpec, PostgresSpec
from .stream import PublishStream, trigger_interval

OnlineStoreArg = "AmazonRdsMySqlSpec | PostgresSpec | str | None"


def _list(v: str | list[str] | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def _as_of_text(t: _dt.datetime | _dt.date | str) -> str:
    if isinstance(t, str):
        return t.replace(" ", "T", 1) if "T" not in t and len(t) > 10 else (t + "T00:00:00Z" if len(t) == 10 else t)
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)  # naive = UTC
        return t.isoformat()
    if isinstance(t, _dt.date):
        return f"{t.isoformat()}T00:00:00Z"
    raise InvalidInputError(f"as-of time must be a datetime, date or RFC 3339 string, not {type(t).__name__}")


def _store_args(online_store: Any, feature_table: str) -> tuple[dict[str, Any], str | None]:
    """Native store arguments and the spec's online table name, if it names one."""
    if online_store is None:
        return {}, None
    if isinstance(online_store, str):
        return {"store": online_store}, None
    if isinstance(online_store, AmazonRdsMySqlSpec):
        spec, table = online_store._native(feature_table)
        return {"mysql": spec}, table
    if isinstance(online_store, PostgresSpec):
        spec, table = online_store._native(feature_table)
        return {"postgres": spec}, table
    raise InvalidInputError(
        "online_store must be an AmazonRdsMySqlSpec, a PostgresSpec or the name of a store in fstore.toml, "
        f"not {type(online_store).__name__}"
    )


class Client:
    """One handle on fstore: offline feature tables (Delta Lake), online stores, training sets.

    ``config``: the ``fstore.toml`` to load (default: ``$FSTORE_CONFIG``, else ``./fstore.toml``,
    else the embedded defaults under ``./fstore-data``).
    """

    def __init__(self, config: str | os.PathLike[str] | None = None, *, offline_root: str | None = None) -> None:
        self._native = _fstore.Client(os.fspath(config) if config is not None else None, offline_root)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the pooled online connections."""
        self._native.close()

    @property
    def secrets(self) -> Secrets:
        """The secret scopes of the configured backend (``fstore secrets``)."""
        return Secrets(self._native.secrets())

    def __repr__(self) -> str:
        return f"fstore.Client(offline_root={self._native.offline_root!r}, stores={self._native.store_names()})"

    # ------------------------------------------------------------------ offline
    def create_table(
        self,
        name: str,
        primary_keys: str | list[str],
        df: Any = None,
        *,
        timestamp_key: str | None = None,
        partition_columns: str | list[str] | None = None,
        schema: Any = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        change_data_feed: bool = True,
    ) -> FeatureTable:
        """Creates the Delta feature table ``name`` from ``df`` (its rows are written) or ``schema``.

        ``schema`` is an Arrow schema or a schema string: Spark DDL ``"id BIGINT, name STRING"`` or
        the CLI's ``"id:bigint,name:string"`` (the same parser as ``fstore tables create --schema``).
        Raises ``TableExistsError`` if the table exists, ``InvalidInputError`` for bad input."""
        if not isinstance(name, str):
            raise InvalidInputError(f"name must be a string such as 'default.users', not {type(name).__name__}")
        data = to_arrow_stream(df) if df is not None else None
        if schema is not None and not isinstance(schema, str) and not hasattr(schema, "__arrow_c_schema__"):
            raise InvalidInputError(
                "schema must be a schema string ('id BIGINT, name STRING' or 'id:bigint,name:string') or an Arrow "
                "schema (e.g. pyarrow.schema([...])); a Spark StructType is Spark-only"
            )
        self._native.create_table(
            name,
            _list(primary_keys),
            data,
            schema,
            timestamp_key,
            _list(partition_columns),
            description,
            dict(tags or {}),
            change_data_feed,
        )
        return self.get_table(name)

    def write_table(self, name: str, df: Any, mode: Literal["merge", "overwrite"] = "merge") -> WriteReport:
        return WriteReport(**self._native.write_table(name, to_arrow_stream(df), mode))

    def read_table(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: _dt.datetime | _dt.date | str | None = None,
        columns: list[str] | None = None,
        filter: str | None = None,
        limit: int | None = None,
    ) -> Frame:
        ts = _as_of_text(as_of) if as_of is not None else None
        return Frame(self._native.read_table(name, version, ts, columns, filter, limit))

    def get_table(self, name: str) -> FeatureTable:
        return FeatureTable._from(self._native.describe_table(name))

    describe_table = get_table

    def list_tables(self) -> list[str]:
        return list(self._native.list_tables())

    def history(self, name: str, limit: int | None = None) -> list[HistoryEntry]:
        return [HistoryEntry(**h) for h in self._native.history(name, limit)]

    def drop_table(self, name: str) -> None:
        self._native.drop_table(name)

    def register_table(
        self,
        name: str,
        primary_keys: str | list[str],
        *,
        path: str | None = None,
        timestamp_key: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> FeatureTable:
        self._native.register_table(name, _list(primary_keys), path, timestamp_key, description, dict(tags or {}))
        return self.get_table(name)

    def delete_rows(self, name: str, predicate: str) -> WriteReport:
        return WriteReport(**self._native.delete_rows(name, predicate))

    # ------------------------------------------------------------------ online
    def publish_table(
        self,
        name: str,
        online_store: AmazonRdsMySqlSpec | PostgresSpec | str | None = None,
        *,
        filter_condition: str | None = None,
        mode: Literal["merge", "overwrite"] = "merge",
        features: str | list[str] | None = None,
        full: bool = False,
        online_table: str | None = None,
        streaming: bool = False,
        trigger: dict[str, Any] | None = None,
        checkpoint_location: str | None = None,
    ) -> Any:
        """Publishes ``name`` into ``online_store`` (a spec, a store name from fstore.toml, or
        None for the only configured store). Returns the report ``fstore publish`` prints.

        ``streaming=True`` returns a :class:`PublishStream` instead: it publishes now and then
        every new Delta version, ``trigger={'processingTime': '5 seconds'}`` apart (the
        default), until ``stop()``. ``checkpoint_location`` is not needed (the online
        bookkeeping row is the checkpoint): it warns and is ignored."""
        store, spec_table = _store_args(online_store, name)
        feats = _list(features) if features is not None else None
        args: dict[str, Any] = dict(
            mode=mode, online_table=online_table or spec_table, filter=filter_condition, features=feats, full=full, **store
        )
        if not streaming:
            if trigger is not None or checkpoint_location is not None:
                raise InvalidInputError("trigger= and checkpoint_location= apply to streaming=True publishes only")
            return PublishReport(**self._native.publish_table(name, **args))
        if mode == "overwrite":
            raise InvalidInputError('Streaming publish_table does not support mode="overwrite"')
        if checkpoint_location is not None:
            warnings.warn(
                "checkpoint_location is ignored: fstore resumes from the version recorded in the online table",
                UserWarning,
                stacklevel=2,
            )
        interval = trigger_interval(trigger, 5.0)
        return PublishStream(self._native.publish_stream(name, interval_secs=interval, **args))

    def drop_online_table(self, name: str, online_store: AmazonRdsMySqlSpec | PostgresSpec | str | None = None) -> None:
        store, spec_table = _store_args(online_store, name)
        self._native.drop_online_table(spec_table or name.partition(".")[2] or name, **store)

    def lookup(
        self,
        name: str,
        keys: list[dict[str, Any]] | list[Any] | Any,
        *,
        features: list[str] | None = None,
        online_store: AmazonRdsMySqlSpec | PostgresSpec | str | None = None,
        online_table: str | None = None,
    ) -> Frame:
        """Online feature rows for ``keys`` with the read identity, in request order; a key that
        is not online gives NULL features. ``keys``: dicts ``{key column: value}``, plain values
        (single-column keys), or a dataframe of key columns."""
        store, spec_table = _store_args(online_store, name)
        table = online_table or spec_table
        rows: list[Any]
        if isinstance(keys, list):
            rows = keys
        else:
            import pyarrow as pa

            rows = pa.table(to_arrow_stream(keys, "keys")).to_pylist()
        texts: list[list[str]] = []
        pks: list[str] | None = None
        for k in rows:
            if isinstance(k, dict):
                if pks is None:
                    pks = list(self._native.online_primary_keys(name, online_table=table, **store))
                missing = [p for p in pks if p not in k]
                if missing:
                    raise InvalidInputError(
                        f"key {k!r} lacks a value for {', '.join(missing)}; the keys of `{name}` are: {', '.join(pks)}"
                    )
                extra = [c for c in k if c not in pks]
                if extra:
                    raise InvalidInputError(
                        f"`{extra[0]}` is not a primary key of `{name}`; its keys are: {', '.join(pks)}"
                    )
                texts.append([_key_text(k[p]) for p in pks])
            elif isinstance(k, (list, tuple)):
                texts.append([_key_text(v) for v in k])
            else:
                texts.append([_key_text(k)])
        return Frame(self._native.lookup(name, texts, features, online_table=table, **store))

    # ------------------------------------------------------------------ training
    def create_training_set(
        self,
        df: Any,
        feature_lookups: list[FeatureLookup],
        label: str | list[str] | None,
        exclude_columns: list[str] | None = None,
        *,
        as_of_version: int | dict[str, int] | None = None,
        memory_limit: int | str | None = None,
        spill_dir: str | os.PathLike[str] | None = None,
    ) -> TrainingSet:
        """A point-in-time correct training set: ``df`` (a dataframe, or a feature table name)
        joined with ``feature_lookups``; ``load_df()`` runs it.

        ``memory_limit``: bytes (or ``"256MiB"``, ``"2GB"``) the feature tables' in-memory
        indexes may take together (default 256 MiB, as ``fstore training-set --memory-limit``);
        a table past it is spilled to ``spill_dir`` (default: TMPDIR) and joined partition by
        partition, with the same result."""
        if memory_limit is not None and (isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, str))):
            raise InvalidInputError(f"memory_limit must be bytes (int) or a size such as '256MiB', not {type(memory_limit).__name__}")
        if isinstance(memory_limit, int) and memory_limit <= 0:
            raise InvalidInputError("memory_limit must be positive")
        spill = os.fspath(spill_dir) if spill_dir is not None else None
        for fl in feature_lookups:
            if not isinstance(fl, FeatureLookup):
                raise InvalidInputError(f"feature_lookups must hold FeatureLookup objects, not {type(fl).__name__}")
        lookups = [fl._native() for fl in feature_lookups]
        spine = None if isinstance(df, str) else to_arrow_stream(df)
        spine_table = df if isinstance(df, str) else None
        all_v = as_of_version if isinstance(as_of_version, int) else None
        per = dict(as_of_version) if isinstance(as_of_version, dict) else {}
        native = self._native

        def run() -> tuple[Any, list[tuple[str, int]]]:
            return native.training_set(
                lookups, spine, spine_table, _list(label), list(exclude_columns or []), all_v, per, memory_limit, spill
            )

        return TrainingSet(run)


def _key_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (_dt.datetime, _dt.date)):
        return _as_of_text(v)
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()  # numpy scalars
    return str(v)
