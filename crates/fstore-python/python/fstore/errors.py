"""fstore's exceptions. Bad input raises a ``ValueError`` subclass (as Databricks' client does),
so ``except ValueError`` keeps working; messages are the same the ``fstore`` CLI prints."""

from __future__ import annotations


class FstoreError(Exception):
    """Any fstore failure."""


class InvalidInputError(FstoreError, ValueError):
    """The request or its data is wrong (bad name, type, mode, spec, duplicate or NULL key...)."""


class TableNotFoundError(InvalidInputError):
    """The feature table (or online table) does not exist."""


class TableExistsError(InvalidInputError):
    """The feature table already exists."""


class OnlineStoreError(FstoreError):
    """The online store failed: ``kind`` says how (``connection``, ``auth_failed``,
    ``permission_denied``, ``unknown_database``, ``missing_table``, ``database``)."""

    def __init__(self, message: str, kind: str = "database", retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable


class SecretsError(FstoreError):
    """A secret scope or key is missing or unreadable (the value is never shown)."""


class ServeError(FstoreError):
    """``fstore serve`` refused the request or could not be reached. ``status``: the HTTP status
    (401 wrong or missing token, 503 store unavailable, ...), None when there was no answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConflictError(FstoreError):
    """Other writers kept changing the same table; try again."""


__all__ = [
    "FstoreError",
    "InvalidInputError",
    "TableNotFoundError",
    "TableExistsError",
    "OnlineStoreError",
    "SecretsError",
    "ConflictError",
    "ServeError",
]
