"""The Databricks Feature Store client's API on fstore.

``from fstore.databricks import FeatureStoreClient, FeatureLookup`` and
``from fstore.databricks.online_store_spec import AmazonRdsMySqlSpec`` replace the
``databricks.feature_store`` imports; the calls keep Databricks' signatures. Arguments that
only mean something to Spark say so: ``checkpoint_location``/``trigger`` warn and are ignored,
a Spark ``StructType`` schema is refused; ``publish_table(streaming=True)`` returns an
:class:`fstore.PublishStream` in place of Spark's ``StreamingQuery``.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..client import Client
from ..entities import FeatureLookup, FeatureTable, TrainingSet
from ..errors import InvalidInputError, TableExistsError
from ..frame import Frame
from ..specs import AmazonRdsMySqlSpec

MERGE = "merge"
OVERWRITE = "overwrite"
_DEFAULT_TRIGGER = {"processingTime": "5 seconds"}


def _spark_only(arg: str, value: Any, default: Any = None) -> None:
    if value is not None and value != default:
        warnings.warn(
            f"`{arg}` is a Spark Structured Streaming argument; fstore ignores it", UserWarning, stacklevel=3
        )


def _check_schema(schema: Any) -> None:
    if schema is not None and type(schema).__module__.startswith("pyspark"):
        raise InvalidInputError(
            "schema: a Spark StructType is Spark-only; pass a DDL string ('id BIGINT, name STRING'), an Arrow schema "
            "(pyarrow.schema([...])) or df="
        )


def _check_mode(mode: str) -> None:
    if mode not in (MERGE, OVERWRITE):
        raise InvalidInputError(f"Unsupported mode '{mode}'. Use '{MERGE}' or '{OVERWRITE}'.")


class FeatureStoreClient:
    """Databricks' workspace ``FeatureStoreClient`` (positional arguments allowed)."""

    def __init__(
        self,
        feature_store_uri: str | None = None,
        model_registry_uri: str | None = None,
        *,
        config: str | None = None,
        client: Client | None = None,
    ) -> None:
        if feature_store_uri is not None or model_registry_uri is not None:
            warnings.warn(
                "feature_store_uri / model_registry_uri are Databricks workspace URIs; fstore reads fstore.toml instead",
                UserWarning,
                stacklevel=2,
            )
        self._client = client if client is not None else Client(config)

    @property
    def client(self) -> Client:
        """The native :class:`fstore.Client` underneath."""
        return self._client

    def create_table(
        self,
        name: str,
        primary_keys: str | list[str],
        df: Any = None,
        *,
        timestamp_keys: str | list[str] | None = None,
        partition_columns: str | list[str] | None = None,
        schema: Any = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> FeatureTable:
        _check_schema(schema)
        path = kwargs.pop("path", None)
        if kwargs:
            raise InvalidInputError(f"create_table: unexpected arguments: {', '.join(sorted(kwargs))}")
        if path is not None:
            raise InvalidInputError("create_table(path=...) is not supported; set [offline] root in fstore.toml")
        ts = [timestamp_keys] if isinstance(timestamp_keys, str) else list(timestamp_keys or [])
        if len(ts) > 1:
            raise InvalidInputError("fstore supports one timestamp key per feature table")
        pks = [primary_keys] if isinstance(primary_keys, str) else list(primary_keys)
        try:
            return self._client.create_table(
                name,
                pks,
                df,
                timestamp_key=ts[0] if ts else None,
                partition_columns=partition_columns,
                schema=schema,
                description=description,
                tags=tags,
            )
        except TableExistsError:
            # Databricks: an existing table is returned (with a warning); df is not written.
            existing = self._client.get_table(name)
            if [k for k in existing.primary_keys if k not in existing.timestamp_keys] != [k for k in pks if k not in ts]:
                raise
            warnings.warn(f"feature table {name} already exists; df was not written", UserWarning, stacklevel=2)
            return existing

    def create_feature_table(
        self,
        name: str,
        keys: str | list[str],
        features_df: Any = None,
        schema: Any = None,
        partition_columns: str | list[str] | None = None,
        description: str | None = None,
        timestamp_keys: str | list[str] | None = None,
        **kwargs: Any,
    ) -> FeatureTable:
        warnings.warn("create_feature_table is deprecated; use create_table", DeprecationWarning, stacklevel=2)
        return self.create_table(
            name,
            keys,
            features_df,
            timestamp_keys=timestamp_keys,
            partition_columns=partition_columns,
            schema=schema,
            description=description,
            **kwargs,
        )

    def register_table(
        self,
        *,
        delta_table: str,
        primary_keys: str | list[str],
        timestamp_keys: str | list[str] | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> FeatureTable:
        ts = [timestamp_keys] if isinstance(timestamp_keys, str) else list(timestamp_keys or [])
        return self._client.register_table(
            delta_table, primary_keys, timestamp_key=ts[0] if ts else None, description=description, tags=tags
        )

    def get_table(self, name: str) -> FeatureTable:
        return self._client.get_table(name)

    get_feature_table = get_table

    def read_table(self, name: str, **kwargs: Any) -> Frame:
        ts = kwargs.pop("as_of_delta_timestamp", None)
        version = kwargs.pop("as_of_delta_version", None)  # fstore extra
        if kwargs:
            raise InvalidInputError(f"Unexpected arguments: {', '.join(sorted(kwargs))}")
        return self._client.read_table(name, version=version, as_of=ts)

    def write_table(
        self,
        name: str,
        df: Any,
        mode: str = MERGE,
        checkpoint_location: str | None = None,
        trigger: dict[str, Any] = _DEFAULT_TRIGGER,
    ) -> None:
        _check_mode(mode)
        _spark_only("checkpoint_location", checkpoint_location)
        _spark_only("trigger", trigger, _DEFAULT_TRIGGER)
        self._client.write_table(name, df, mode)  # type: ignore[arg-type]
        return None

    def drop_table(self, name: str) -> None:
        self._client.drop_table(name)

    def publish_table(
        self,
        name: str,
        online_store: AmazonRdsMySqlSpec | str,
        *,
        filter_condition: str | None = None,
        mode: str = MERGE,
        streaming: bool = False,
        checkpoint_location: str | None = None,
        trigger: dict[str, Any] = {"processingTime": "5 minutes"},
        features: str | list[str] | None = None,
    ) -> Any:
        """Publishes into the online store; returns the :class:`fstore.PublishReport`
        (Databricks returns None for a batch publish), or with ``streaming=True`` a
        :class:`fstore.PublishStream` (Databricks' ``StreamingQuery``: ``stop()``, ``isActive``,
        ``lastProgress``, ``awaitTermination()``) that publishes every new Delta version,
        ``trigger['processingTime']`` apart. ``checkpoint_location`` warns and is ignored: the
        online table records the version it holds, which is the checkpoint."""
        _check_mode(mode)
        if streaming and mode == OVERWRITE:
            raise InvalidInputError('Streaming publish_table does not support mode="overwrite"')
        if features is not None and mode == OVERWRITE:
            raise InvalidInputError("publishing selected features (features=) does not support mode='overwrite'; use mode='merge'")
        if filter_condition is not None:
            # Spark SQL quotes identifiers with backticks; DataFusion with double quotes.
            filter_condition = filter_condition.replace("`", '"')
        if streaming:
            if checkpoint_location is not None:
                warnings.warn(
                    "checkpoint_location is ignored: fstore resumes from the version recorded in the online table",
                    UserWarning,
                    stacklevel=2,
                )
            return self._client.publish_table(
                name,
                online_store,
                filter_condition=filter_condition,
                mode=mode,  # type: ignore[arg-type]
                features=features,
                streaming=True,
                trigger=trigger,
            )
        _spark_only("checkpoint_location", checkpoint_location)
        _spark_only("trigger", trigger, {"processingTime": "5 minutes"})
        return self._client.publish_table(
            name, online_store, filter_condition=filter_condition, mode=mode, features=features  # type: ignore[arg-type]
        )

    def drop_online_table(self, name: str, online_store: AmazonRdsMySqlSpec | str) -> None:
        self._client.drop_online_table(name, online_store)

    def create_training_set(
        self,
        df: Any,
        feature_lookups: list[FeatureLookup],
        label: str | list[str] | None,
        exclude_columns: list[str] | None = None,
        **kwargs: Any,
    ) -> TrainingSet:
        if kwargs:
            raise InvalidInputError(f"create_training_set: unexpected arguments: {', '.join(sorted(kwargs))}")
        return self._client.create_training_set(df, feature_lookups, label, exclude_columns)

    def log_model(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("log_model needs MLflow on Databricks; log the model with mlflow directly")

    def score_batch(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "score_batch needs MLflow on Databricks; build features with create_training_set(...).load_df() and score locally"
        )


def _two_level(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 3:
        if parts[0] not in ("main", "hive_metastore", "spark_catalog"):
            raise InvalidInputError(
                f"table `{name}`: fstore has no catalogs; use `<schema>.<table>` or the catalog main/hive_metastore/spark_catalog"
            )
        return ".".join(parts[1:])
    return name


class FeatureEngineeringClient:
    """Databricks' Unity Catalog client: keyword-only arguments, 3-level names accepted (the
    catalog ``main``/``hive_metastore``/``spark_catalog`` is dropped)."""

    def __init__(self, *, model_registry_uri: str | None = None, config: str | None = None, client: Client | None = None) -> None:
        self._fs = FeatureStoreClient(None, model_registry_uri, config=config, client=client)

    def create_table(
        self,
        *,
        name: str,
        primary_keys: str | list[str],
        df: Any = None,
        timeseries_column: str | None = None,
        partition_columns: str | list[str] | None = None,
        schema: Any = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> FeatureTable:
        ts = timeseries_column or kwargs.pop("timestamp_keys", None)
        return self._fs.create_table(
            _two_level(name),
            primary_keys,
            df,
            timestamp_keys=ts,
            partition_columns=partition_columns,
            schema=schema,
            description=description,
            tags=tags,
            **kwargs,
        )

    def write_table(
        self,
        *,
        name: str,
        df: Any,
        mode: str = MERGE,
        checkpoint_location: str | None = None,
        trigger: dict[str, Any] = _DEFAULT_TRIGGER,
    ) -> None:
        self._fs.write_table(_two_level(name), df, mode, checkpoint_location, trigger)

    def read_table(self, *, name: str, **kwargs: Any) -> Frame:
        return self._fs.read_table(_two_level(name), **kwargs)

    def get_table(self, *, name: str) -> FeatureTable:
        return self._fs.get_table(_two_level(name))

    def drop_table(self, *, name: str) -> None:
        self._fs.drop_table(_two_level(name))

    def publish_table(
        self,
        *,
        online_store: AmazonRdsMySqlSpec | str,
        source_table_name: str | None = None,
        online_table_name: str | None = None,
        publish_mode: str = "TRIGGERED",
        filter_condition: str | None = None,
        mode: str = MERGE,
        streaming: bool = False,
        checkpoint_location: str | None = None,
        trigger: dict[str, Any] = {"processingTime": "5 minutes"},
        features: str | list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        name = source_table_name or kwargs.pop("name", None)
        if kwargs:
            raise InvalidInputError(f"publish_table: unexpected arguments: {', '.join(sorted(kwargs))}")
        if name is None:
            raise InvalidInputError("publish_table: give source_table_name=")
        if publish_mode != "TRIGGERED":
            raise NotImplementedError("publish_mode other than 'TRIGGERED' is Databricks-only (Lakebase online tables)")
        if online_table_name is not None and isinstance(online_store, AmazonRdsMySqlSpec):
            db, _, table = online_table_name.rpartition(".")
            online_store = online_store.clone(database_name=db or online_store.database_name or "feature_store", table_name=table)
        return self._fs.publish_table(
            _two_level(name),
            online_store,
            filter_condition=filter_condition,
            mode=mode,
            streaming=streaming,
            checkpoint_location=checkpoint_location,
            trigger=trigger,
            features=features,
        )

    def drop_online_table(self, name: str, online_store: AmazonRdsMySqlSpec | str) -> None:
        self._fs.drop_online_table(_two_level(name), online_store)

    def create_training_set(
        self,
        *,
        df: Any,
        feature_lookups: list[FeatureLookup] | None = None,
        label: str | list[str] | None,
        exclude_columns: list[str] | None = None,
        **kwargs: Any,
    ) -> TrainingSet:
        for k in ("feature_spec", "features", "use_spark_native_join", "use_timeseries_filtering"):
            if kwargs.pop(k, None):
                raise NotImplementedError(f"create_training_set({k}=...) is Databricks-only")
        lookups = [
            FeatureLookup(
                _two_level(fl.table_name),
                fl.lookup_key,
                feature_names=fl.feature_names,
                rename_outputs=fl.rename_outputs,
                timestamp_lookup_key=fl.timestamp_lookup_key,
                lookback_window=fl.lookback_window,
            )
            for fl in (feature_lookups or [])
        ]
        return self._fs.create_training_set(df, lookups, label, exclude_columns, **kwargs)


__all__ = [
    "FeatureStoreClient",
    "FeatureEngineeringClient",
    "FeatureLookup",
    "AmazonRdsMySqlSpec",
]
