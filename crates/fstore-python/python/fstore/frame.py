"""``Frame``: the Arrow-backed result of reads, lookups and training sets."""

from __future__ import annotations

from typing import Any


class Frame:
    """Rows held as Arrow record batches. Exports ``__arrow_c_stream__`` (zero-copy into
    pyarrow, polars, duckdb...), and converts with :meth:`to_arrow`, :meth:`to_pandas`,
    :meth:`to_polars` (Databricks spellings ``toPandas``/``toArrow`` too)."""

    def __init__(self, table: Any, metadata: dict[str, Any] | None = None) -> None:
        self._table = table
        #: What produced the rows, when known (``ServeClient`` lookups: the server's metadata).
        self.metadata = metadata

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)

    def to_arrow(self) -> Any:
        import pyarrow as pa

        return pa.table(self._table)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    toPandas = to_pandas
    toArrow = to_arrow

    @property
    def columns(self) -> list[str]:
        return list(self.to_arrow().column_names)

    def count(self) -> int:
        return int(self._table.num_rows)

    def __len__(self) -> int:
        return self.count()

    def __repr__(self) -> str:
        return f"Frame({self.count()} rows, columns={self.columns})"
