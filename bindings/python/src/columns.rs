//! Arrow columns over the core's node table, built without a per-row copy
//! where the core's layout already is Arrow's: a `Vec` becomes an Arrow
//! buffer as it is (the buffer takes the allocation over), and low-cardinality
//! text becomes a dictionary column (a categorical in pandas and polars)
//! whose keys are the core's own `u8` / `u32` codes.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use arrow_array::types::ArrowDictionaryKeyType;
use arrow_array::{ArrayRef, ArrowPrimitiveType, DictionaryArray, LargeStringArray, PrimitiveArray, StringArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::ArrowError;

/// A primitive column over `values`, which it takes over without copying.
pub(crate) fn primitive<T: ArrowPrimitiveType>(
    values: impl Into<ScalarBuffer<T::Native>>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef, ArrowError> {
    Ok(Arc::new(PrimitiveArray::<T>::try_new(values.into(), nulls)?))
}

/// A dictionary column: row `i` is `labels[keys[i]]`, or null where `nulls`
/// says so. `labels` must be distinct (pandas' categories are).
pub(crate) fn dictionary<K: ArrowDictionaryKeyType, S: AsRef<str>>(
    keys: impl Into<ScalarBuffer<K::Native>>,
    nulls: Option<NullBuffer>,
    labels: impl IntoIterator<Item = S>,
) -> Result<ArrayRef, ArrowError> {
    let keys = PrimitiveArray::<K>::try_new(keys.into(), nulls)?;
    let labels: ArrayRef = Arc::new(StringArray::from_iter_values(labels));
    Ok(Arc::new(DictionaryArray::try_new(keys, labels)?))
}

/// The validity of `len` rows, `None` when every row is valid (Arrow's
/// cheapest form, and what consumers test first).
pub(crate) fn validity(len: usize, valid: impl FnMut(usize) -> bool) -> Option<NullBuffer> {
    Some(NullBuffer::new(BooleanBuffer::collect_bool(len, valid))).filter(|n| n.null_count() > 0)
}

/// Dictionary keys computed row by row: `key(i)` is row `i`'s key, `None` a
/// null (stored as the default key, which no reader looks at).
pub(crate) fn keys<K: Copy + Default>(
    len: usize,
    mut key: impl FnMut(usize) -> Option<K>,
) -> (Vec<K>, Option<NullBuffer>) {
    let mut keys = Vec::with_capacity(len);
    // `collect_bool` packs 64 rows per word and calls its closure once per
    // row, in row order, so the keys are pushed in order alongside.
    let valid = BooleanBuffer::collect_bool(len, |i| {
        let k = key(i);
        keys.push(k.unwrap_or_default());
        k.is_some()
    });
    let nulls = Some(NullBuffer::new(valid)).filter(|n| n.null_count() > 0);
    (keys, nulls)
}

/// Dictionary keys looked up by code: row `i`'s key is `table[code(i)]`, a
/// null where that is `None` or past the table. Two tight passes (keys, then
/// validity), which run faster than one that does both.
pub(crate) fn looked_up<K: Copy + Default>(
    len: usize,
    code: impl Fn(usize) -> usize,
    table: &[Option<K>],
) -> (Vec<K>, Option<NullBuffer>) {
    let entry = |i| table.get(code(i)).copied().flatten();
    let keys = (0..len).map(|i| entry(i).unwrap_or_default()).collect();
    (keys, validity(len, |i| entry(i).is_some()))
}

/// Distinct labels of a dictionary column, keyed by what they are made from
/// (a version's bits, a hash's bytes, ...), so each label is formatted once
/// and appears once.
pub(crate) struct Labels<T> {
    keys: HashMap<T, i32, foldhash::fast::RandomState>,
    labels: Vec<String>,
    /// The last value asked for and its key: neighbouring rows often share
    /// a value (a fleet runs few versions), and this skips the hash map.
    last: Option<(T, i32)>,
}

impl<T: Hash + Eq + Copy> Labels<T> {
    pub(crate) fn new() -> Self {
        Labels { keys: HashMap::default(), labels: Vec::new(), last: None }
    }

    /// The key of `value`, labelled `label(&value)` if it is new.
    pub(crate) fn key(&mut self, value: T, label: impl FnOnce(&T) -> String) -> i32 {
        if let Some((last, key)) = self.last
            && last == value
        {
            return key;
        }
        let next = self.labels.len();
        let key = *self.keys.entry(value).or_insert_with_key(|value| {
            self.labels.push(label(value));
            // One label per distinct row value, and `table::assemble` refuses
            // tables of more than i32::MAX rows, so the count fits.
            i32::try_from(next).unwrap_or(i32::MAX)
        });
        self.last = Some((value, key));
        key
    }

    /// The labels, by key.
    pub(crate) fn into_labels(self) -> Vec<String> {
        self.labels
    }
}

/// A UTF-8 column (Arrow large strings) over `values`, row `i` being
/// `values[offsets[i]..offsets[i + 1]]` (both taken over without copying;
/// the text is checked to be UTF-8).
pub(crate) fn strings(offsets: Vec<i64>, values: Vec<u8>) -> Result<ArrayRef, ArrowError> {
    let offsets = ScalarBuffer::from(offsets);
    if offsets.first() != Some(&0) || offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err(ArrowError::InvalidArgumentError("string offsets must start at 0 and never decrease".into()));
    }
    let offsets = OffsetBuffer::new(offsets);
    Ok(Arc::new(LargeStringArray::try_new(offsets, Buffer::from_vec(values), None)?))
}
