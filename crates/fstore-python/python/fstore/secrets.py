"""``Client.secrets``: the secret scopes of the configured backend, as ``fstore secrets`` manages
them. Values go in only: ``put`` stores one, ``list`` shows key names, nothing returns a value,
and no repr, error or log line contains one."""

from __future__ import annotations

import getpass
from typing import Any

from .errors import InvalidInputError


class Secrets:
    """Secret scopes (``[secrets]`` in fstore.toml: the ``local`` encrypted file or the read-only
    ``env`` backend). Each scope holds keys such as ``aurora-user`` and ``aurora-password``;
    a store's ``write_secret_prefix = "aurora_writer/aurora"`` reads those two."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def create_scope(self, scope: str) -> bool:
        """Creates ``scope``; False if it already existed (so setup code can rerun)."""
        return bool(self._native.create_scope(scope))

    def put(self, scope: str, key: str, value: str | None = None) -> None:
        """Stores ``value`` under ``key`` in ``scope`` (create the scope first). With no value, it
        is asked for at a hidden prompt (``getpass``), as ``fstore secrets put`` does."""
        if value is None:
            # Refuse a bad name, a read-only backend or a missing scope before prompting.
            self._native.check_put(scope, key)
            value = getpass.getpass(f"Value for `{key}` in scope `{scope}` (hidden): ")
        if not isinstance(value, str):
            # The type only: the value itself never goes into a message.
            raise InvalidInputError(f"the value of `{key}` must be a str, not {type(value).__name__}")
        self._native.put(scope, key, value)

    def list(self, scope: str | None = None) -> list[str]:
        """The key names in ``scope`` (never values), or with no scope the scope names."""
        if scope is None:
            return list(self._native.list_scopes())
        return list(self._native.list(scope))

    def list_scopes(self) -> list[str]:
        return list(self._native.list_scopes())

    def delete(self, scope: str, key: str) -> None:
        self._native.delete(scope, key)

    def delete_scope(self, scope: str) -> None:
        """Deletes ``scope`` and every secret in it."""
        self._native.delete_scope(scope)

    @property
    def read_only(self) -> bool:
        """True for the ``env`` backend (set ``FSTORE_SECRET_<SCOPE>_<KEY>`` instead)."""
        return bool(self._native.is_read_only())

    def describe(self) -> str:
        return str(self._native.describe())

    def __repr__(self) -> str:
        return f"fstore.Secrets({self.describe()})"
