"""Writes the Delta fixtures that fstore's tests read as "a table written by another writer".

Run from this folder with Python's `deltalake` package (pip install deltalake pyarrow):

    python3 make_fixtures.py

It (re)creates `delta/rides_python`: partitioned by `city`, five versions (create, append, update,
delete, append) and a checkpoint at version 3, so fstore's `tables register` is tested against
multi-version, checkpointed, partitioned logs that fstore did not write.
"""

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

HERE = Path(__file__).resolve().parent
TABLE = HERE / "delta" / "rides_python"

SCHEMA = pa.schema(
    [
        pa.field("ride_id", pa.int64(), nullable=False),
        pa.field("city", pa.string()),
        pa.field("fare", pa.float64()),
        pa.field("distance_km", pa.float64()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
    ]
)


def batch(ids, city, hour):
    ts = datetime(2024, 1, 1, hour, 0, 0, tzinfo=timezone.utc)
    return pa.table(
        {
            "ride_id": pa.array(ids, pa.int64()),
            "city": pa.array([city] * len(ids), pa.string()),
            "fare": pa.array([10.0 + i * 0.5 for i in ids], pa.float64()),
            "distance_km": pa.array([1.0 + i * 0.25 for i in ids], pa.float64()),
            "ts": pa.array([ts] * len(ids), pa.timestamp("us", tz="UTC")),
        },
        schema=SCHEMA,
    )


def main():
    shutil.rmtree(TABLE, ignore_errors=True)
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    # v0: create, partitioned by city.
    write_deltalake(str(TABLE), batch([1, 2, 3], "paris", 8), partition_by=["city"])
    # v1: append another city.
    write_deltalake(str(TABLE), batch([4, 5, 6], "lyon", 9), mode="append")
    dt = DeltaTable(str(TABLE))
    # v2: update a fare.
    dt.update(predicate="ride_id = 2", updates={"fare": "99.5"})
    # v3: delete a ride.
    dt.delete("ride_id = 6")
    dt.create_checkpoint()
    # v4: append after the checkpoint.
    write_deltalake(str(TABLE), batch([7, 8], "nice", 10), mode="append")
    dt = DeltaTable(str(TABLE))
    print(f"wrote {TABLE} at version {dt.version()} with {dt.to_pyarrow_table().num_rows} rows")


if __name__ == "__main__":
    main()
