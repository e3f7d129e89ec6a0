//! Input validation before anything is written: every column has a supported type and a name
//! fstore accepts, key columns are present and never NULL, (primary key, timestamp key) is unique
//! within the write, and each input column is converted to the table's type when that conversion
//! loses nothing — otherwise the write is refused naming the column, the row and both types.
//!
//! Type policy (input → table): identical types pass; string↔string and binary↔binary variants
//! convert; integers convert to wider or narrower integers, floats and decimals when every value
//! survives the round trip; floats to floats and decimals to decimals likewise; dates to dates;
//! timestamps to timestamps of any unit and zone when no sub-microsecond digits are lost (Delta
//! stores microseconds); an all-NULL column of type `Null` takes the table's type. Anything else
//! (e.g. STRING → DOUBLE) is a type conflict.
//!
//! New tables and new columns are stored with Delta's canonical types: unsigned integers widen to
//! the next signed type (as in `FeatureType`), strings become `Utf8`, binaries `Binary`, dates
//! `Date32`, and every timestamp becomes `Timestamp(µs, "UTC")` — a naive timestamp is taken to be
//! UTC. All columns are nullable in Delta; fstore itself rejects NULL keys.

use std::collections::HashSet;
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use deltalake::arrow::compute::kernels::cmp::distinct;
use deltalake::arrow::compute::{CastOptions, cast, cast_with_options};
use deltalake::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::{TryIntoArrow, TryIntoKernel};
use fstore_core::ident::validate_column_name;
use fstore_core::{FeatureType, TableName, TableSpec};

use crate::error::{Error, Result};
use crate::keycheck::KeyCheck;

/// How a write's input maps to the table: the target columns and what each batch must satisfy.
/// Built once from the input's schema ([`plan`]); [`Plan::conform`] then converts and checks
/// one batch at a time, so an input of any size streams through it.
#[derive(Debug)]
pub(crate) struct Plan {
    tname: String,
    input: SchemaRef,
    /// Columns in input order, with the table's types.
    pub schema: SchemaRef,
    /// Input columns the table does not have yet (with their canonical Delta types).
    pub new_columns: Vec<FieldRef>,
    /// NOT NULL columns of the table (tables written by others may have them) that the input
    /// lacks: fine for updates, impossible for inserts.
    pub required_missing: Vec<String>,
    keys: Vec<String>,
    key_idx: Vec<usize>,
    /// NOT NULL table columns the input has: (position in `schema`, name).
    not_null: Vec<(usize, String)>,
}

/// Input ready to be written: columns in input order, converted to the table's types.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Prepared {
    pub schema: SchemaRef,
    pub rows: u64,
}

/// Validates and converts in-memory `batches` (whose schema is `input`), keys included.
#[cfg(test)]
pub(crate) fn prepare(
    table: &TableName,
    spec: &TableSpec,
    table_schema: Option<&Schema>,
    input: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Prepared> {
    let plan = plan(table, spec, table_schema, input)?;
    let mut check = plan.key_check()?;
    let mut out = Vec::new();
    let mut offset = 0u64;
    for b in &batches {
        let c = plan.conform(b, offset)?;
        offset += c.num_rows() as u64;
        check.add(&c)?;
        out.push(c);
    }
    let (check, suspects) = check.suspects()?;
    if !suspects.is_empty() {
        check.confirm(&suspects, out.iter().cloned().map(Ok))?;
    }
    Ok(Prepared {
        schema: plan.schema.clone(),
        rows: offset,
    })
}

/// Checks the input's columns for a write to `table` and plans their conversion.
/// `table_schema` is `None` when the table is being created.
pub(crate) fn plan(
    table: &TableName,
    spec: &TableSpec,
    table_schema: Option<&Schema>,
    input: &SchemaRef,
) -> Result<Plan> {
    let tname = table.to_string();

    // Column names and types.
    let mut seen = HashSet::new();
    for f in input.fields() {
        if !seen.insert(f.name().as_str()) {
            return Err(Error::DuplicateColumn {
                table: tname,
                column: f.name().clone(),
            });
        }
        validate_column_name(f.name())?;
        let existing = table_schema.and_then(|s| s.field_with_name(f.name()).ok());
        // An all-NULL column without a type can still take the type of an existing column.
        if !(existing.is_some() && *f.data_type() == DataType::Null) {
            FeatureType::from_arrow(f.name(), f.data_type())?;
        }
    }
    let keys = spec.row_keys();
    for k in &keys {
        if input.field_with_name(k).is_err() {
            return Err(Error::MissingKeyColumn {
                table: tname,
                column: k.clone(),
                keys: keys.join(", "),
            });
        }
    }

    // Target type of every input column.
    let mut targets: Vec<FieldRef> = Vec::with_capacity(input.fields().len());
    let mut new_columns = Vec::new();
    for f in input.fields() {
        match table_schema.and_then(|s| s.field_with_name(f.name()).ok()) {
            Some(existing) => targets.push(Arc::new(Field::new(
                f.name(),
                existing.data_type().clone(),
                true,
            ))),
            None => {
                if let Some(ts) = table_schema
                    && let Some(same) = ts
                        .fields()
                        .iter()
                        .find(|t| t.name().eq_ignore_ascii_case(f.name()))
                {
                    return Err(Error::ColumnCaseConflict {
                        table: tname,
                        column: f.name().clone(),
                        existing: same.name().clone(),
                    });
                }
                let field = canonical_field(&tname, f)?;
                if table_schema.is_some() {
                    new_columns.push(field.clone());
                }
                targets.push(field);
            }
        }
    }
    let schema = Arc::new(Schema::new(targets));
    let key_idx: Vec<usize> = keys
        .iter()
        .map(|k| schema.index_of(k).expect("key presence checked"))
        .collect();

    let mut required_missing = Vec::new();
    let mut not_null = Vec::new();
    for f in table_schema
        .map(|s| s.fields().iter().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if f.is_nullable() {
            continue;
        }
        match schema.index_of(f.name()) {
            Ok(i) => not_null.push((i, f.name().clone())),
            Err(_) => required_missing.push(f.name().clone()),
        }
    }
    Ok(Plan {
        tname,
        input: input.clone(),
        schema,
        new_columns,
        required_missing,
        keys,
        key_idx,
        not_null,
    })
}

impl Plan {
    /// A duplicate-key check for this write's conformed batches.
    pub fn key_check(&self) -> Result<KeyCheck> {
        KeyCheck::new(
            &self.tname,
            self.keys.clone(),
            self.key_idx.clone(),
            self.key_idx
                .iter()
                .map(|&i| self.schema.field(i).data_type().clone())
                .collect(),
        )
    }

    /// Converts one input batch (whose first row is row `offset + 1` of the input) to the
    /// table's types, refusing NULL keys and NULLs in NOT NULL columns.
    pub fn conform(&self, batch: &RecordBatch, offset: u64) -> Result<RecordBatch> {
        check_batch_matches(&self.input, batch, offset)?;
        let tname = &self.tname;
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (i, target) in self.schema.fields().iter().enumerate() {
            columns.push(conform_column(
                tname,
                target.name(),
                batch.column(i),
                target.data_type(),
                offset,
            )?);
        }
        for (k, &i) in self.keys.iter().zip(&self.key_idx) {
            let col = &columns[i];
            if col.null_count() > 0 {
                let row = (0..col.len()).find(|&r| col.is_null(r)).unwrap_or(0);
                return Err(Error::NullKey {
                    table: tname.clone(),
                    column: k.clone(),
                    row: offset + row as u64 + 1,
                });
            }
        }
        for (i, name) in &self.not_null {
            let col = &columns[*i];
            if col.null_count() > 0
                && let Some(row) = (0..col.len()).find(|&r| col.is_null(r))
            {
                return Err(Error::NotNullViolation {
                    table: tname.clone(),
                    column: name.clone(),
                    problem: format!("the input has NULL at row {}", offset + row as u64 + 1),
                });
            }
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &opts)
            .map_err(Error::arrow("assembling converted input"))
    }
}

fn canonical_field(table: &str, field: &Field) -> Result<FieldRef> {
    FeatureType::from_arrow(field.name(), field.data_type())?;
    let normalized = Field::new(field.name(), normalize_type(field.data_type()), true);
    // Round-trip through Delta's own type system so nested field names etc. match what a
    // reader of the table gets back.
    let kernel: StructType = (&Schema::new(vec![normalized.clone()]))
        .try_into_kernel()
        .map_err(|e| Error::TypeConflict {
            table: table.to_string(),
            column: field.name().clone(),
            input: field.data_type().to_string(),
            table_type: "any Delta type".into(),
            hint: format!(" ({e})"),
        })?;
    let back: Schema = (&kernel).try_into_arrow().map_err(Error::arrow(format!(
        "mapping column `{}` back from Delta",
        field.name()
    )))?;
    Ok(Arc::new(Field::new(
        field.name(),
        back.field(0).data_type().clone(),
        true,
    )))
}

/// Maps an Arrow type to the one fstore stores in Delta (see the module documentation).
fn normalize_type(dt: &DataType) -> DataType {
    use DataType as D;
    match dt {
        D::UInt8 => D::Int16,
        D::UInt16 => D::Int32,
        D::UInt32 => D::Int64,
        D::LargeUtf8 | D::Utf8View => D::Utf8,
        D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => D::Binary,
        D::Date64 => D::Date32,
        D::Timestamp(..) => D::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        D::Dictionary(_, v) => normalize_type(v),
        D::List(f)
        | D::LargeList(f)
        | D::FixedSizeList(f, _)
        | D::ListView(f)
        | D::LargeListView(f) => D::List(Arc::new(normalize_field(f))),
        D::Struct(fields) => D::Struct(
            fields
                .iter()
                .map(|f| Arc::new(normalize_field(f)))
                .collect::<Fields>(),
        ),
        D::Map(entries, sorted) => D::Map(Arc::new(normalize_field(entries)), *sorted),
        other => other.clone(),
    }
}

fn normalize_field(f: &Field) -> Field {
    Field::new(f.name(), normalize_type(f.data_type()), f.is_nullable())
}

fn check_batch_matches(input: &Schema, b: &RecordBatch, offset: u64) -> Result<()> {
    let bs = b.schema();
    let same = bs.fields().len() == input.fields().len()
        && bs
            .fields()
            .iter()
            .zip(input.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
    if !same {
        return Err(Error::InconsistentInput(format!(
            "the batch starting at row {} has columns ({}) but the input schema is ({})",
            offset + 1,
            describe_fields(&bs),
            describe_fields(input)
        )));
    }
    Ok(())
}

fn describe_fields(s: &Schema) -> String {
    s.fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A type for messages: fstore's name (`DOUBLE`), or the Arrow type when fstore has none.
pub(crate) fn type_name(column: &str, dt: &DataType) -> String {
    match FeatureType::from_arrow(column, dt) {
        Ok(t) => t.name().to_uppercase(),
        Err(_) => dt.to_string(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Binary,
    Integer,
    Float,
    Decimal,
    Date,
    Timestamp,
    Boolean,
    Nested,
    Other,
}

fn family(dt: &DataType) -> Family {
    use DataType as D;
    match dt {
        D::Utf8 | D::LargeUtf8 | D::Utf8View => Family::String,
        D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => Family::Binary,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => {
            Family::Integer
        }
        D::Float16 | D::Float32 | D::Float64 => Family::Float,
        D::Decimal32(..) | D::Decimal64(..) | D::Decimal128(..) | D::Decimal256(..) => {
            Family::Decimal
        }
        D::Date32 | D::Date64 => Family::Date,
        D::Timestamp(..) => Family::Timestamp,
        D::Boolean => Family::Boolean,
        D::List(_)
        | D::LargeList(_)
        | D::FixedSizeList(..)
        | D::ListView(_)
        | D::LargeListView(_)
        | D::Struct(_)
        | D::Map(..) => Family::Nested,
        _ => Family::Other,
    }
}

/// May a value of `src` be stored in a `dst` column (subject to the value check)?
fn convertible(src: &DataType, dst: &DataType) -> bool {
    use Family as F;
    match (family(src), family(dst)) {
        (F::String, F::String)
        | (F::Binary, F::Binary)
        | (F::Integer, F::Integer | F::Float | F::Decimal)
        | (F::Float, F::Float)
        | (F::Decimal, F::Decimal)
        | (F::Date, F::Date)
        | (F::Timestamp, F::Timestamp)
        | (F::Boolean, F::Boolean) => true,
        (F::Nested, F::Nested) => deltalake::arrow::compute::can_cast_types(src, dst),
        _ => false,
    }
}

/// Converts one input column to the table's type, refusing conversions that change values.
fn conform_column(
    table: &str,
    column: &str,
    array: &ArrayRef,
    target: &DataType,
    row_offset: u64,
) -> Result<ArrayRef> {
    let src = array.data_type();
    if src == target {
        return Ok(array.clone());
    }
    if *src == DataType::Null {
        return Ok(new_null_array(target, array.len()));
    }
    if let DataType::Dictionary(_, value) = src {
        let plain = cast(array, value).map_err(Error::arrow(format!(
            "decoding dictionary column `{column}`"
        )))?;
        return conform_column(table, column, &plain, target, row_offset);
    }
    if !convertible(src, target) {
        let input = type_name(column, src);
        let table_type = type_name(column, target);
        return Err(Error::TypeConflict {
            table: table.to_string(),
            column: column.to_string(),
            hint: format!("; convert the column to {table_type} in the input"),
            input,
            table_type,
        });
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let lossy = |detail: String| Error::LossyValue {
        table: table.to_string(),
        column: column.to_string(),
        detail,
    };
    let converted = cast_with_options(array, target, &strict).map_err(|e| {
        lossy(format!(
            "cannot store the input's {} values as {}: {e}",
            type_name(column, src),
            type_name(column, target)
        ))
    })?;
    // String and binary variants hold the same bytes; every other conversion must round-trip.
    if !matches!(family(src), Family::String | Family::Binary) {
        let back = cast_with_options(&converted, src, &strict).ok();
        let changed_row = match &back {
            None => Some(None),
            Some(back) => first_difference(array, back),
        };
        if let Some(row) = changed_row {
            let at = row.map_or_else(String::new, |r| {
                format!(" (row {})", row_offset + r as u64 + 1)
            });
            let value = row
                .and_then(|r| format_value(array, r))
                .map_or_else(String::new, |v| format!(" value {v}"));
            return Err(lossy(format!(
                "the input{value}{at} would change when stored as {} (the input type is {}); convert or round it in the input",
                type_name(column, target),
                type_name(column, src),
            )));
        }
    }
    Ok(converted)
}

/// Index of the first row where `a` and `b` differ, `Some(None)` when they differ somewhere
/// unknown, `None` when equal.
fn first_difference(a: &ArrayRef, b: &ArrayRef) -> Option<Option<usize>> {
    match distinct(a, b) {
        Ok(mask) => (0..mask.len())
            .find(|&i| mask.is_valid(i) && mask.value(i))
            .map(Some),
        Err(_) => (a.to_data() != b.to_data()).then_some(None),
    }
}

pub(crate) fn format_value(array: &dyn Array, row: usize) -> Option<String> {
    if array.is_null(row) {
        return Some("NULL".into());
    }
    let f = ArrayFormatter::try_new(array, &FormatOptions::default()).ok()?;
    let v = f.value(row).to_string();
    Some(match family(array.data_type()) {
        Family::String | Family::Date | Family::Timestamp => format!("'{v}'"),
        _ => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::array::{
        Float64Array, Int32Array, Int64Array, StringArray, StringViewArray,
        TimestampNanosecondArray, UInt32Array, UInt64Array,
    };

    fn name() -> TableName {
        TableName::parse("s.t").unwrap()
    }

    fn spec(pks: &[&str], ts: Option<&str>) -> TableSpec {
        TableSpec::new(
            pks.iter().map(|s| s.to_string()).collect(),
            ts.map(str::to_string),
        )
        .unwrap()
    }

    fn batch(cols: Vec<(&str, ArrayRef)>) -> (SchemaRef, Vec<RecordBatch>) {
        let b = RecordBatch::try_from_iter(cols).unwrap();
        (b.schema(), vec![b])
    }

    #[test]
    fn canonical_types_widen_unsigned_and_normalize_strings_and_timestamps() {
        let (schema, batches) = batch(vec![
            ("id", Arc::new(UInt32Array::from(vec![1, 2])) as ArrayRef),
            ("s", Arc::new(StringViewArray::from(vec!["a", "b"]))),
            (
                "ts",
                Arc::new(TimestampNanosecondArray::from(vec![1_000, 2_000])),
            ),
        ]);
        let p = prepare(&name(), &spec(&["id"], Some("ts")), None, &schema, batches).unwrap();
        assert_eq!(p.schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(p.schema.field(1).data_type(), &DataType::Utf8);
        assert_eq!(
            p.schema.field(2).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(p.rows, 2);
    }

    #[test]
    fn sub_microsecond_timestamps_are_refused() {
        let (schema, batches) = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "ts",
                Arc::new(TimestampNanosecondArray::from(vec![1_000, 2_001])),
            ),
        ]);
        let e = prepare(&name(), &spec(&["id"], Some("ts")), None, &schema, batches).unwrap_err();
        assert!(e.to_string().contains("row 2"), "{e}");
    }

    #[test]
    fn narrowing_integers_is_checked_per_value() {
        let table = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("x", DataType::Int32, true),
        ]);
        let ok = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("x", Arc::new(Int64Array::from(vec![7]))),
        ]);
        let p = prepare(&name(), &spec(&["id"], None), Some(&table), &ok.0, ok.1).unwrap();
        assert_eq!(p.schema.field(1).data_type(), &DataType::Int32);

        let bad = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("x", Arc::new(Int64Array::from(vec![7, i64::MAX]))),
        ]);
        let e = prepare(&name(), &spec(&["id"], None), Some(&table), &bad.0, bad.1).unwrap_err();
        assert!(e.to_string().contains("column `x`"), "{e}");
    }

    #[test]
    fn strings_never_become_numbers() {
        let table = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("age", DataType::Float64, true),
        ]);
        let (schema, batches) = batch(vec![
            ("id", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            ("age", Arc::new(StringArray::from(vec!["30"]))),
        ]);
        let e = prepare(
            &name(),
            &spec(&["id"], None),
            Some(&table),
            &schema,
            batches,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "column `age` is STRING in the input but DOUBLE in the table `s.t`; convert the column to DOUBLE in the input"
        );
    }

    #[test]
    fn int_to_double_is_fine_but_double_to_int_is_not() {
        let table = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("i", DataType::Int64, true),
        ]);
        let (schema, batches) = batch(vec![
            ("id", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            ("f", Arc::new(Int64Array::from(vec![3]))),
        ]);
        prepare(
            &name(),
            &spec(&["id"], None),
            Some(&table),
            &schema,
            batches,
        )
        .unwrap();
        let (schema, batches) = batch(vec![
            ("id", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            ("i", Arc::new(Float64Array::from(vec![3.0]))),
        ]);
        let e = prepare(
            &name(),
            &spec(&["id"], None),
            Some(&table),
            &schema,
            batches,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("is DOUBLE in the input but BIGINT"),
            "{e}"
        );
    }

    #[test]
    fn duplicates_name_the_key_and_rows() {
        let (schema, batches) = batch(vec![
            (
                "PassengerId",
                Arc::new(Int64Array::from(vec![7, 1, 7, 2, 2])) as ArrayRef,
            ),
            ("x", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]))),
        ]);
        let e = prepare(
            &name(),
            &spec(&["PassengerId"], None),
            None,
            &schema,
            batches,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("duplicate key PassengerId=7 appears 2 times"),
            "{msg}"
        );
        assert!(
            msg.contains("rows 1, 3") && msg.contains("1 other key"),
            "{msg}"
        );
    }

    #[test]
    fn duplicates_across_batches_with_composite_keys() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Int64, true),
        ]));
        let b1 = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["x", "y"])),
                Arc::new(Int64Array::from(vec![1, 1])),
            ],
        )
        .unwrap();
        let b2 = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["x"])),
                Arc::new(Int64Array::from(vec![1])),
            ],
        )
        .unwrap();
        let e = prepare(
            &name(),
            &spec(&["a", "b"], None),
            None,
            &schema,
            vec![b1, b2],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("duplicate key (a='x', b=1) appears 2 times"),
            "{e}"
        );
    }

    #[test]
    fn null_keys_name_column_and_row() {
        let (schema, batches) = batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
        )]);
        let e = prepare(&name(), &spec(&["id"], None), None, &schema, batches).unwrap_err();
        assert!(
            e.to_string().contains("NULL in key column `id` at row 2"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_types_are_refused() {
        let (schema, batches) = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("big", Arc::new(UInt64Array::from(vec![1]))),
        ]);
        let e = prepare(&name(), &spec(&["id"], None), None, &schema, batches).unwrap_err();
        assert!(
            e.to_string().contains("`big`") && e.to_string().contains("UInt64"),
            "{e}"
        );
    }

    #[test]
    fn case_only_differences_are_refused() {
        let table = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("Age", DataType::Float64, true),
        ]);
        let (schema, batches) = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("age", Arc::new(Float64Array::from(vec![1.0]))),
        ]);
        let e = prepare(
            &name(),
            &spec(&["id"], None),
            Some(&table),
            &schema,
            batches,
        )
        .unwrap_err();
        assert!(e.to_string().contains("rename it to `Age`"), "{e}");
    }
}
