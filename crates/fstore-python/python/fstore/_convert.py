"""Any dataframe → an object the native module reads through the Arrow PyCapsule interface."""

from __future__ import annotations

from typing import Any

from .errors import InvalidInputError


def to_arrow_stream(df: Any, what: str = "df") -> Any:
    """pandas, polars, pyarrow (Table, RecordBatch, RecordBatchReader), fstore Frames and any
    object with ``__arrow_c_stream__`` / ``__arrow_c_array__``; pyspark through ``toArrow()``."""
    mod = type(df).__module__
    if mod.startswith("pandas"):
        import pyarrow as pa

        # preserve_index=False: a non-range index is not a column of the feature table.
        return pa.Table.from_pandas(df, preserve_index=False)
    if mod.startswith("pyspark"):
        to_arrow = getattr(df, "toArrow", None)
        if to_arrow is None:
            raise InvalidInputError(
                f"{what}: this pyspark DataFrame has no toArrow() (pyspark >= 4 needed); convert it with df.toPandas()"
            )
        return to_arrow()
    if hasattr(df, "__arrow_c_stream__") or hasattr(df, "__arrow_c_array__"):
        return df
    raise InvalidInputError(
        f"{what} must be a pandas, polars or pyarrow DataFrame/Table (or any object with __arrow_c_stream__), not {type(df).__name__}"
    )
