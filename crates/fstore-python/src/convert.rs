//! Arrow across the boundary: any Arrow PyCapsule producer in (`__arrow_c_stream__` or
//! `__arrow_c_array__`: pyarrow, polars, pandas via pyarrow, duckdb, arro3, fstore's own
//! frames), an arro3-compatible table out (`__arrow_c_stream__`, read by `pyarrow.table`,
//! `polars.from_arrow`, ...). Zero-copy both ways.

use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::{Error, Result};

/// Reads the whole input stream (call with the GIL released: a stream may be lazy).
pub fn read_all(input: AnyRecordBatch) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
    let reader = input.into_reader()?;
    let schema = reader.schema();
    let mut batches = Vec::new();
    for b in reader {
        batches.push(b.map_err(|e| Error::invalid(format!("reading the input data: {e}")))?);
    }
    Ok(normalize(schema, batches)?)
}

/// The plain Arrow type for the string/binary flavours producers like to hand out (polars'
/// `Utf8View`, pyarrow's `large_string`): Delta and the online stores take the plain ones.
fn plain(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Utf8View | DataType::LargeUtf8 => Some(DataType::Utf8),
        DataType::BinaryView | DataType::LargeBinary => Some(DataType::Binary),
        _ => None,
    }
}

fn normalize(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    if !schema
        .fields()
        .iter()
        .any(|f| plain(f.data_type()).is_some())
    {
        return Ok((schema, batches));
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match plain(f.data_type()) {
            Some(dt) => f.as_ref().clone().with_data_type(dt),
            None => f.as_ref().clone(),
        })
        .collect();
    let target = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let cols = b
            .columns()
            .iter()
            .zip(target.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c.clone())
                } else {
                    cast(c, f.data_type())
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        out.push(RecordBatch::try_new(target.clone(), cols)?);
    }
    Ok((target, out))
}

/// A result table for Python.
pub fn to_table(schema: SchemaRef, batches: Vec<RecordBatch>) -> PyResult<PyTable> {
    PyTable::try_new(batches, schema)
}
