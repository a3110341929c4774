//! `Engine.ingest` of an Arrow table whose rows name their nodes by id: an
//! `id` string column instead of `handle`, and the other fields of the
//! binary heartbeat record (`fleetgov.records.RECORD_DTYPE`) as columns of
//! their own, named alike. The ids reach the core's by-id batch as the
//! column's own buffers (offsets and bytes); the records are built from the
//! field columns in Rust, blocks of rows over the thread pool.

use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, FixedSizeBinaryArray, LargeBinaryArray, LargeStringArray,
    StringArray, StringViewArray, StructArray,
};
use arrow_buffer::{Buffer, ScalarBuffer};
use arrow_schema::DataType;
use fleetgov::record::{HeartbeatRecord, RECORD_SIZE, RECORD_VERSION};
use fleetgov::{Error, IdColumn, cut_detail};
use rayon::prelude::*;
use zerocopy::FromBytes;

/// The column that names each row's node.
pub(crate) const ID_COLUMN: &str = "id";

/// Rows built into records per parallel task (256 KiB of records).
const BLOCK_ROWS: usize = 2048;

/// How a record field is stored.
#[derive(Clone, Copy)]
enum Kind {
    /// An unsigned little-endian integer of this many bytes.
    Unsigned(usize),
    /// A little-endian `f32`.
    Float,
    /// 32 bytes as they are.
    Hash,
    /// The sync-error detail: its length byte, then its first 47 UTF-8
    /// bytes (cut at a character boundary, as everywhere).
    Detail,
}

/// The record fields a column may fill: name, byte offset, kind (the layout
/// of `fleetgov::record`, version 1). `handle` is the by-handle batch's; the
/// detail is text here, written with its length.
const FIELDS: [(&str, usize, Kind); 14] = [
    ("version", 0, Kind::Unsigned(1)),
    ("status", 1, Kind::Unsigned(1)),
    ("error_code", 2, Kind::Unsigned(1)),
    ("flags", 3, Kind::Unsigned(1)),
    ("revision", 4, Kind::Unsigned(4)),
    ("at_ms", 16, Kind::Unsigned(8)),
    ("hash", 24, Kind::Hash),
    ("runtime_version", 56, Kind::Unsigned(4)),
    ("cpu", 60, Kind::Float),
    ("memory", 64, Kind::Float),
    ("tps", 68, Kind::Float),
    ("heap", 72, Kind::Float),
    ("hot_swap_errors", 76, Kind::Unsigned(4)),
    ("detail", 80, Kind::Detail),
];

/// Whether `chunk` is a record batch whose rows name their nodes by id.
pub(crate) fn names_nodes_by_id(chunk: &ArrayRef) -> bool {
    chunk.as_struct_opt().is_some_and(|s| s.column_by_name(ID_COLUMN).is_some())
}

/// The error for ids past what an Arrow string column holds.
fn too_long() -> Error {
    Error::invalid(format!("the `{ID_COLUMN}` column holds more than 2 GiB of ids"))
}

/// The node ids of one record batch as an Arrow string column's buffers:
/// the column's own for `string`, its bytes with narrowed offsets for
/// `large_string`, a copy for `string_view`.
pub(crate) struct Ids {
    offsets: ScalarBuffer<i32>,
    bytes: Buffer,
}

impl Ids {
    /// The ids of `rows` (within the batch).
    pub(crate) fn column(&self, rows: Range<usize>) -> fleetgov::Result<IdColumn<'_>> {
        IdColumn::new(&self.offsets[rows.start..rows.end + 1], &self.bytes)
    }

    /// The first id that is not a node id, over the thread pool (for a
    /// batch applied in more than one core call, checked whole first); the
    /// error names its record, as the core's batch does.
    pub(crate) fn first_malformed(&self) -> Option<Error> {
        let rows = self.offsets.len() - 1;
        (0..rows).into_par_iter().find_map_first(|i| {
            let raw = &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize];
            std::str::from_utf8(raw)
                .map_err(|_| Error::invalid("node id is not UTF-8"))
                .and_then(|id| fleetgov::validate_id("node", id))
                .err()
                .map(|e| e.context(format_args!("record {i}")))
        })
    }

    /// The ids of `column`, checked to be a null-free string column.
    fn of(column: &ArrayRef) -> fleetgov::Result<Self> {
        if column.null_count() > 0 {
            return Err(Error::invalid(format!("the `{ID_COLUMN}` column has nulls")));
        }
        match column.data_type() {
            DataType::Utf8 => {
                let strings = column.as_string::<i32>();
                Ok(Ids { offsets: strings.offsets().inner().clone(), bytes: strings.values().clone() })
            }
            DataType::LargeUtf8 => {
                let strings = column.as_string::<i64>();
                let offsets = strings
                    .offsets()
                    .iter()
                    .map(|&o| i32::try_from(o))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| too_long())?;
                Ok(Ids { offsets: offsets.into(), bytes: strings.values().clone() })
            }
            DataType::Utf8View => {
                let (mut offsets, mut bytes) = (vec![0], Vec::new());
                for id in column.as_string_view().iter().flatten() {
                    bytes.extend_from_slice(id.as_bytes());
                    offsets.push(i32::try_from(bytes.len()).map_err(|_| too_long())?);
                }
                Ok(Ids { offsets: offsets.into(), bytes: bytes.into() })
            }
            other => Err(Error::invalid(format!(
                "the `{ID_COLUMN}` column holds node ids as strings (string, large_string or string_view), got {other}"
            ))),
        }
    }
}

/// One record batch of heartbeats by id: the ids, and the records built
/// from the other columns (handle zero), not yet checked.
pub(crate) struct IdBatch {
    pub(crate) ids: Ids,
    records: Vec<u8>,
}

impl IdBatch {
    /// The records.
    pub(crate) fn records(&self) -> &[HeartbeatRecord] {
        // Whole records by construction, and the layout is unaligned.
        <[HeartbeatRecord]>::ref_from_bytes(&self.records).unwrap_or_default()
    }

    /// Reads a record batch: its `id` column and field columns, every
    /// record built (an error names the first row with a value that does not
    /// fit its field; the records and ids are checked by the core).
    pub(crate) fn of(chunk: &ArrayRef) -> fleetgov::Result<Self> {
        let batch = chunk.as_struct_opt().ok_or_else(|| {
            Error::invalid(format!("a table of heartbeats by id has an `{ID_COLUMN}` column in every record batch"))
        })?;
        let (id, fields) = columns(batch)?;
        let ids = Ids::of(id)?;
        IdColumn::new(&ids.offsets, &ids.bytes)?;
        let rows = batch.len();
        let mut records = vec![0u8; rows * RECORD_SIZE];
        let block = BLOCK_ROWS * RECORD_SIZE;
        let first_bad = records.par_chunks_mut(block).enumerate().find_map_first(|(k, bytes)| {
            let start = k * BLOCK_ROWS;
            fill(bytes, start, &fields).err()
        });
        match first_bad {
            Some(e) => Err(e),
            None => Ok(IdBatch { ids, records }),
        }
    }
}

/// A column's values, typed once.
enum Values<'a> {
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Bytes32(&'a FixedSizeBinaryArray),
    Bytes(&'a BinaryArray),
    LargeBytes(&'a LargeBinaryArray),
    BytesView(&'a BinaryViewArray),
    Text(&'a StringArray),
    LargeText(&'a LargeStringArray),
    TextView(&'a StringViewArray),
}

/// A field column: where its values go in a record.
struct Field<'a> {
    name: &'a str,
    offset: usize,
    kind: Kind,
    values: Values<'a>,
}

/// The `id` column and the field columns of `batch`, each checked for its
/// name, type and nulls.
fn columns(batch: &StructArray) -> fleetgov::Result<(&ArrayRef, Vec<Field<'_>>)> {
    let mut id = None;
    let mut fields = Vec::new();
    for (f, column) in batch.fields().iter().zip(batch.columns()) {
        let name = f.name().as_str();
        if name == ID_COLUMN {
            id = Some(column);
            continue;
        }

        let Some(&(_, offset, kind)) = FIELDS.iter().find(|(n, ..)| *n == name) else {
            let hint = if name == "handle" { "; a batch names its nodes by id or by handle, not both" } else { "" };
            return Err(Error::invalid(format!(
                "column `{name}` is not a heartbeat record field a table by id can hold{hint}"
            )));
        };
        if column.null_count() > 0 {
            return Err(Error::invalid(format!("column `{name}` has nulls")));
        }
        let values = values(column, kind)
            .ok_or_else(|| Error::invalid(format!("column `{name}` cannot hold {}", column.data_type())))?;
        fields.push(Field { name, offset, kind, values });
    }
    let id = id.ok_or_else(|| Error::invalid(format!("the table has no `{ID_COLUMN}` column")))?;
    Ok((id, fields))
}

/// The values of `column` if its type suits a field of `kind`: any integer
/// type for an integer, `float32` or `float64` for a float,
/// any binary type for the hash (of 32 bytes a row), any string type for
/// the detail.
fn values(column: &ArrayRef, kind: Kind) -> Option<Values<'_>> {
    fn of<T: arrow_array::ArrowPrimitiveType>(column: &ArrayRef) -> &[T::Native] {
        column.as_primitive::<T>().values()
    }
    let values = match (kind, column.data_type()) {
        (Kind::Unsigned(_), DataType::Int8) => Values::I8(of::<Int8Type>(column)),
        (Kind::Unsigned(_), DataType::Int16) => Values::I16(of::<Int16Type>(column)),
        (Kind::Unsigned(_), DataType::Int32) => Values::I32(of::<Int32Type>(column)),
        (Kind::Unsigned(_), DataType::Int64) => Values::I64(of::<Int64Type>(column)),
        (Kind::Unsigned(_), DataType::UInt8) => Values::U8(of::<UInt8Type>(column)),
        (Kind::Unsigned(_), DataType::UInt16) => Values::U16(of::<UInt16Type>(column)),
        (Kind::Unsigned(_), DataType::UInt32) => Values::U32(of::<UInt32Type>(column)),
        (Kind::Unsigned(_), DataType::UInt64) => Values::U64(of::<UInt64Type>(column)),
        (Kind::Float, DataType::Float32) => Values::F32(of::<Float32Type>(column)),
        (Kind::Float, DataType::Float64) => Values::F64(of::<Float64Type>(column)),
        (Kind::Hash, DataType::FixedSizeBinary(32)) => Values::Bytes32(column.as_fixed_size_binary()),
        (Kind::Hash, DataType::Binary) => Values::Bytes(column.as_binary()),
        (Kind::Hash, DataType::LargeBinary) => Values::LargeBytes(column.as_binary()),
        (Kind::Hash, DataType::BinaryView) => Values::BytesView(column.as_binary_view()),
        (Kind::Detail, DataType::Utf8) => Values::Text(column.as_string()),
        (Kind::Detail, DataType::LargeUtf8) => Values::LargeText(column.as_string()),
        (Kind::Detail, DataType::Utf8View) => Values::TextView(column.as_string_view()),
        _ => return None,
    };
    Some(values)
}

impl Values<'_> {
    /// Row `i` as an integer (for an integer column).
    fn int(&self, i: usize) -> i128 {
        match self {
            Values::I8(v) => v[i].into(),
            Values::I16(v) => v[i].into(),
            Values::I32(v) => v[i].into(),
            Values::I64(v) => v[i].into(),
            Values::U8(v) => v[i].into(),
            Values::U16(v) => v[i].into(),
            Values::U32(v) => v[i].into(),
            Values::U64(v) => v[i].into(),
            _ => 0,
        }
    }

    /// Row `i` as bytes (for a binary column).
    fn bytes(&self, i: usize) -> &[u8] {
        match self {
            Values::Bytes32(v) => v.value(i),
            Values::Bytes(v) => v.value(i),
            Values::LargeBytes(v) => v.value(i),
            Values::BytesView(v) => v.value(i),
            _ => &[],
        }
    }

    /// Row `i` as text (for a text column).
    fn text(&self, i: usize) -> &str {
        match self {
            Values::Text(v) => v.value(i),
            Values::LargeText(v) => v.value(i),
            Values::TextView(v) => v.value(i),
            _ => "",
        }
    }

    /// Row `i` as an `f32` (for a float column).
    fn float(&self, i: usize) -> f32 {
        match self {
            Values::F32(v) => v[i],
            // Narrowed as NumPy's astype does; the record's own checks
            // refuse what is out of a metric's range.
            Values::F64(v) => v[i] as f32,
            _ => 0.0,
        }
    }
}

/// Writes the fields of rows `start..` into `bytes` (their records, zeroed),
/// with the format version unless a column sets it.
fn fill(bytes: &mut [u8], start: usize, fields: &[Field<'_>]) -> fleetgov::Result<()> {
    for record in bytes.chunks_exact_mut(RECORD_SIZE) {
        record[0] = RECORD_VERSION;
    }
    for field in fields {
        for (k, record) in bytes.chunks_exact_mut(RECORD_SIZE).enumerate() {
            let (i, at) = (start + k, field.offset);
            match field.kind {
                Kind::Unsigned(width) => {
                    let value = field.values.int(i);
                    let max = (1u128 << (8 * width)) - 1;
                    let fits = u128::try_from(value).ok().filter(|v| *v <= max);
                    let Some(value) = fits else {
                        return Err(Error::invalid(format!(
                            "record {i}: column `{}` holds {value}, which does not fit {width} unsigned bytes",
                            field.name
                        )));
                    };
                    record[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
                }
                Kind::Float => record[at..at + 4].copy_from_slice(&field.values.float(i).to_le_bytes()),
                Kind::Hash => {
                    let hash = field.values.bytes(i);
                    if hash.len() != 32 {
                        return Err(Error::invalid(format!(
                            "record {i}: column `{}` holds {} bytes, not the 32 of a hash",
                            field.name,
                            hash.len()
                        )));
                    }
                    record[at..at + 32].copy_from_slice(hash);
                }
                Kind::Detail => {
                    let detail = cut_detail(field.values.text(i)).as_bytes();
                    // At most 47 bytes: fits the length byte.
                    record[at] = detail.len() as u8;
                    record[at + 1..at + 1 + detail.len()].copy_from_slice(detail);
                }
            }
        }
    }
    Ok(())
}
