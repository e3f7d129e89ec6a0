"""``fstore.ServeClient``: lookups through a running ``fstore serve`` (HTTP/JSON), made by the
Rust ``fstore-client`` (no Python HTTP library). Results are :class:`Frame` objects typed like
the in-process ``Client.lookup``: features by the server's metadata (decimals exact, timestamps
UTC, binary decoded), keys and request fields by their values."""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import json
from typing import Any

from . import _fstore
from ._convert import to_arrow_stream
from .entities import FeatureLookup
from .errors import InvalidInputError
from .frame import Frame


def _json_default(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.timezone.utc)  # naive = UTC, as everywhere in fstore
        return v.isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode()
    if hasattr(v, "item"):
        return v.item()  # numpy scalars
    raise InvalidInputError(f"cannot send a {type(v).__name__} to the server; use numbers, strings, dates or times")


def _rows(keys: Any, what: str) -> list[dict[str, Any]]:
    if isinstance(keys, dict):
        keys = [keys]
    if not isinstance(keys, list):
        import pyarrow as pa

        keys = pa.table(to_arrow_stream(keys, what)).to_pylist()
    for k in keys:
        if not isinstance(k, dict):
            raise InvalidInputError(
                f"{what} must be dicts such as {{'user_id': 1}} (the server needs the key column names), not {type(k).__name__}"
            )
    return keys


class ServeClient:
    """A client for one ``fstore serve`` server: ``ServeClient("http://127.0.0.1:8080",
    token=os.environ["FSTORE_SERVE_TOKEN"])``. The token is sent as a bearer token and never
    shown (repr, errors). A refused request raises ``ServeError`` (``.status``: 401 for a wrong
    token), an unknown table ``TableNotFoundError``, a bad key ``InvalidInputError``."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        if token is not None and not isinstance(token, str):
            raise InvalidInputError(f"token must be a str, not {type(token).__name__}")
        self._native = _fstore.ServeClient(url, token, float(timeout))

    @property
    def url(self) -> str:
        return str(self._native.url)

    def ready(self) -> None:
        """Raises unless the server answers ``/readyz`` (it can reach its online store)."""
        self._native.ready()

    def lookup(self, table: str, keys: Any, *, features: list[str] | None = None) -> Frame:
        """Feature rows of ``table`` (``<schema>.<table>`` or an online table name) for ``keys``
        (dicts ``{key column: value}``, or a dataframe of key columns), in request order; a key
        that is not online gives NULL features."""
        rows = _rows(keys, "keys")
        table_, meta = self._native.lookup(table, json.dumps(rows, default=_json_default), features)
        return Frame(table_, meta)

    def lookup_vectors(self, rows: Any, feature_lookups: list[FeatureLookup]) -> Frame:
        """Each row of ``rows`` (dicts or a dataframe) merged with the features of
        ``feature_lookups`` (``FeatureLookup(table, lookup_key, feature_names=, rename_outputs=)``)."""
        rows_ = _rows(rows, "rows")
        columns: list[str] = []
        for r in rows_:
            columns.extend(c for c in r if c not in columns)
        lookups = []
        for fl in feature_lookups:
            if not isinstance(fl, FeatureLookup):
                raise InvalidInputError(f"feature_lookups must hold FeatureLookup objects, not {type(fl).__name__}")
            if fl.timestamp_lookup_key is not None or fl.lookback_window is not None:
                raise InvalidInputError(
                    "online lookups return the latest values; timestamp_lookup_key/lookback_window are for training sets"
                )
            lookups.append((fl.table_name, fl.lookup_key, fl.feature_names, fl.rename_outputs))
        table_, meta = self._native.lookup_vectors(json.dumps(rows_, default=_json_default), columns, lookups)
        return Frame(table_, meta)

    def __repr__(self) -> str:
        return repr(self._native)
