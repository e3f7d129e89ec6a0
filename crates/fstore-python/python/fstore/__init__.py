"""fstore: a feature store (Delta Lake offline, MySQL/Aurora/SQLite online) from Python.

``fstore.Client`` is the native API; ``fstore.databricks`` has the Databricks Feature Store
client's signatures (``FeatureStoreClient``, ``FeatureLookup``, ``AmazonRdsMySqlSpec``), so a
walk-through notebook runs with only its import line changed.
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
    TableExistsError,
    TableNotFoundError,
)
from .frame import Frame
from .specs import AmazonRdsMySqlSpec

__all__ = [
    "__version__",
    "Client",
    "Frame",
    "FeatureLookup",
    "FeatureTable",
    "HistoryEntry",
    "PublishReport",
    "TrainingSet",
    "WriteReport",
    "AmazonRdsMySqlSpec",
    "FstoreError",
    "InvalidInputError",
    "TableNotFoundError",
    "TableExistsError",
    "OnlineStoreError",
    "SecretsError",
    "ConflictError",
]
