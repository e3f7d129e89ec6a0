"""fstore: a feature store (Delta Lake offline, MySQL/Aurora/SQLite online) from Python.

``fstore.Client`` is the native API; ``fstore.databricks`` has the Databricks Feature Store
client's signatures (``FeatureStoreClient``, ``FeatureLookup``, ``AmazonRdsMySqlSpec``), so a
walk-through notebook runs with only its import line changed. ``fstore.ServeClient`` looks
features up through a running ``fstore serve``. fstore's log lines go to the ``fstore`` logger
of Python's ``logging``.
"""

from ._fstore import __version__
from .client import Client
from .entities import FeatureLookup, FeatureTable, HistoryEntry, PublishReport, TrainingSet, WriteReport
from .errors import (
    ConflictError,
    FstoreError,
    InvalidInputError,
    OnlineStoreError,
    SecretsError,
    ServeError,
    TableExistsError,
    TableNotFoundError,
)
from .frame import Frame
from .secrets import Secrets
from .serve import ServeClient
from .stream import PublishStream
from .specs import AmazonRdsMySqlSpec, PostgresSpec

__all__ = [
    "__version__",
    "Client",
    "Frame",
    "PublishStream",
    "Secrets",
    "ServeClient",
    "FeatureLookup",
    "FeatureTable",
    "HistoryEntry",
    "PublishReport",
    "TrainingSet",
    "WriteReport",
    "AmazonRdsMySqlSpec",
    "PostgresSpec",
    "FstoreError",
    "InvalidInputError",
    "TableNotFoundError",
    "TableExistsError",
    "OnlineStoreError",
    "SecretsError",
    "ConflictError",
    "ServeError",
]
