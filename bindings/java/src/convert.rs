//! Conversions between Java arguments and Rust values, shared by every shim.

use std::mem::MaybeUninit;

use jni::JNIEnv;
use jni::objects::{JByteArray, JByteBuffer, JObjectArray, JString};
use jni::sys::jlong;

use crate::error::{Error, Result, require_non_null};

/// The longest string an [`Ascii`] holds; ids, snapshot ids, hashes and
/// versions are far shorter.
pub(crate) const ASCII_MAX: usize = 256;

/// Room on the stack for one short ASCII Java `String` (an id, a snapshot
/// id, a hex hash, a version): the hot-path form of [`string`], which neither
/// allocates nor zeroes memory. A longer or non-ASCII string is `INVALID_INPUT`.
pub(crate) struct Ascii {
    /// The string's UTF-16 units, as the JVM copies them out.
    units: [MaybeUninit<u16>; ASCII_MAX],
    /// The same narrowed to bytes.
    bytes: [MaybeUninit<u8>; ASCII_MAX],
}

impl Ascii {
    /// Uninitialised room.
    pub(crate) fn new() -> Self {
        Ascii {
            units: [const { MaybeUninit::uninit() }; ASCII_MAX],
            bytes: [const { MaybeUninit::uninit() }; ASCII_MAX],
        }
    }

    /// Reads `value`, which must not be null.
    pub(crate) fn read<'b>(&'b mut self, env: &mut JNIEnv<'_>, what: &str, value: &JString<'_>) -> Result<&'b str> {
        require_non_null(what, value)?;
        let units = self.units.as_mut_ptr().cast::<u16>();
        let room = |n: usize| {
            if n > ASCII_MAX {
                return Err(fleetgov::Error::invalid(format!("{what} is longer than {ASCII_MAX} characters")).into());
            }
            Ok(units)
        };
        // SAFETY: `room` hands out `units` only for `n <= ASCII_MAX` units,
        // which it holds.
        let n = unsafe { copy_units(env, value, room)? };
        let mut any = 0u16;
        for (byte, unit) in self.bytes.iter_mut().zip(&self.units[..n]) {
            // SAFETY: GetStringRegion initialised the first `n` units.
            let unit = unsafe { unit.assume_init() };
            any |= unit;
            // Truncation is harmless: a unit above 0x7F fails the check below.
            byte.write(unit as u8);
        }
        if any > 0x7F {
            return Err(fleetgov::Error::invalid(format!("{what} must be ASCII")).into());
        }
        // SAFETY: the loop initialised the first `n` bytes, each below 0x80:
        // ASCII, hence valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.bytes.as_ptr().cast::<u8>(), n)) })
    }

    /// Like [`read`](Self::read), `None` for a null reference.
    pub(crate) fn read_optional<'b>(
        &'b mut self,
        env: &mut JNIEnv<'_>,
        what: &str,
        value: &JString<'_>,
    ) -> Result<Option<&'b str>> {
        if value.is_null() { Ok(None) } else { self.read(env, what, value).map(Some) }
    }
}

/// A Java `long` that must not be negative (a time, a count).
pub(crate) fn unsigned(what: &str, value: jlong) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::IllegalArgument(format!("{what} must not be negative, got {value}")))
}

/// A Java `String` argument that must not be null, exactly as the caller
/// wrote it: a string that is not valid UTF-16 (it holds a lone surrogate)
/// is `INVALID_INPUT`, never replaced (`JNIEnv::get_string` would silently
/// turn it, and every other character of the string that modified UTF-8
/// encodes specially, such as NUL, into U+FFFD).
pub(crate) fn string(env: &mut JNIEnv<'_>, what: &str, value: &JString<'_>) -> Result<String> {
    require_non_null(what, value)?;
    let units = utf16_units(env, value)?;
    String::from_utf16(&units).map_err(|_| {
        let at = char::decode_utf16(units.iter().copied()).position(|c| c.is_err()).unwrap_or(0);
        fleetgov::Error::invalid(format!(
            "{what} is not valid UTF-16: it holds a lone surrogate at character {at}; it is refused, not replaced"
        ))
        .into()
    })
}

/// Like [`string`], `None` for a null reference.
pub(crate) fn optional_string(env: &mut JNIEnv<'_>, what: &str, value: &JString<'_>) -> Result<Option<String>> {
    if value.is_null() { Ok(None) } else { string(env, what, value).map(Some) }
}

/// A Java `String[]` that must not be null, nor hold a null, element by
/// element as [`string`] reads it. Each element is read in a local frame of
/// its own, so an array of a million strings holds a bounded number of local
/// references.
pub(crate) fn strings(env: &mut JNIEnv<'_>, what: &str, value: &JObjectArray<'_>) -> Result<Vec<String>> {
    require_non_null(what, value)?;
    let len = env.get_array_length(value)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    for i in 0..len {
        out.push(env.with_local_frame(ELEMENT_FRAME, |env| -> Result<String> {
            let element = JString::from(env.get_object_array_element(value, i)?);
            string(env, what, &element)
        })?);
    }
    Ok(out)
}

/// Local references reading one array element makes at most.
const ELEMENT_FRAME: i32 = 8;

/// The UTF-16 units of `value`, a non-null `java.lang.String`, as the JVM
/// holds them.
fn utf16_units(env: &mut JNIEnv<'_>, value: &JString<'_>) -> Result<Vec<u16>> {
    let mut units = Vec::<u16>::new();
    let room = |n: usize| {
        units.reserve_exact(n);
        Ok(units.as_mut_ptr())
    };
    // SAFETY: `room` reserves the `n` units it hands out.
    let n = unsafe { copy_units(env, value, room)? };
    // SAFETY: `copy_units` initialised the first `n` units.
    unsafe { units.set_len(n) };
    Ok(units)
}

/// Copies the UTF-16 units of `value`, a non-null `java.lang.String`, to
/// the memory `room(length)` returns, and returns the length; an error of
/// `room` is returned as is, with nothing copied.
///
/// # Safety
/// The pointer `room(n)` returns is valid for writes of `n` `u16`s.
unsafe fn copy_units(
    env: &mut JNIEnv<'_>,
    value: &JString<'_>,
    room: impl FnOnce(usize) -> Result<*mut u16>,
) -> Result<usize> {
    let raw = env.get_raw();
    // SAFETY: `raw` is this thread's JNIEnv (we are inside a native call
    // on it); its function table is filled in by the JVM for the process's life.
    let table = unsafe { &**raw };
    let (Some(length), Some(region)) = (table.GetStringLength, table.GetStringRegion) else {
        return Err(Error::Internal("JNI function table lacks GetStringLength/GetStringRegion".into()));
    };
    // SAFETY: `value` is a non-null local reference to a java.lang.String.
    let len = unsafe { length(raw, value.as_raw()) };
    let n = usize::try_from(len).map_err(|_| Error::Internal("negative string length".into()))?;
    let into = room(n)?;
    // SAFETY: the region `[0, len)` is the whole string, so the call throws
    // nothing, and it writes `len` units to `into`, valid for as many by the
    // caller's contract.
    unsafe { region(raw, value.as_raw(), 0, len, into) };
    Ok(n)
}

/// A sync error from its `CODE: detail` text (`SyncError.toString()`), read
/// by the core's one parser; none for null.
pub(crate) fn sync_error(env: &mut JNIEnv<'_>, text: &JString<'_>) -> Result<Option<fleetgov::SyncError>> {
    Ok(optional_string(env, "sync error", text)?.map(|text| text.parse()).transpose()?)
}

/// A Java `byte[]` argument that must not be null, copied.
pub(crate) fn bytes(env: &mut JNIEnv<'_>, what: &str, value: &JByteArray<'_>) -> Result<Vec<u8>> {
    require_non_null(what, value)?;
    Ok(env.convert_byte_array(value)?)
}

/// The bytes `[offset, offset + len)` of a direct `ByteBuffer`, in place.
///
/// # Safety
/// The Java caller keeps the buffer reachable for `'a` (the native call; the
/// local reference does that) and no thread writes to that range meanwhile.
pub(crate) unsafe fn direct_slice<'a>(
    env: &mut JNIEnv<'_>,
    what: &str,
    buffer: &JByteBuffer<'_>,
    offset: i32,
    len: i32,
) -> Result<&'a [u8]> {
    let (ptr, len) = direct_range(env, what, buffer, offset, len)?;
    // SAFETY: `direct_range` checked that `[ptr, ptr + len)` lies inside the
    // buffer's memory, which stays allocated and unwritten for `'a` by the
    // contract above.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The bytes `[offset, offset + len)` of a direct `ByteBuffer`, writable in place.
///
/// # Safety
/// As [`direct_slice`], and no other thread reads or writes that range
/// meanwhile, and the range overlaps no other slice handed out for the call.
pub(crate) unsafe fn direct_slice_mut<'a>(
    env: &mut JNIEnv<'_>,
    what: &str,
    buffer: &JByteBuffer<'_>,
    offset: i32,
    len: i32,
) -> Result<&'a mut [u8]> {
    let (ptr, len) = direct_range(env, what, buffer, offset, len)?;
    // SAFETY: as in `direct_slice`; exclusivity is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Fails unless the two slices share no byte (an input read while an output
/// is written must not be the same memory).
pub(crate) fn disjoint(a_name: &str, a: &[u8], b_name: &str, b: &[u8]) -> Result<()> {
    let (a_start, b_start) = (a.as_ptr() as usize, b.as_ptr() as usize);
    if a.is_empty() || b.is_empty() || a_start + a.len() <= b_start || b_start + b.len() <= a_start {
        Ok(())
    } else {
        Err(Error::IllegalArgument(format!("{a_name} and {b_name} overlap")))
    }
}

/// Checks `[offset, offset + len)` against a direct buffer's capacity and
/// returns the start address and length.
fn direct_range(
    env: &mut JNIEnv<'_>,
    what: &str,
    buffer: &JByteBuffer<'_>,
    offset: i32,
    len: i32,
) -> Result<(*mut u8, usize)> {
    require_non_null(what, buffer)?;
    let address = env
        .get_direct_buffer_address(buffer)
        .map_err(|_| Error::IllegalArgument(format!("{what} must be a direct ByteBuffer")))?;
    let capacity = env.get_direct_buffer_capacity(buffer)?;
    let (Ok(offset), Ok(len)) = (usize::try_from(offset), usize::try_from(len)) else {
        return Err(Error::IllegalArgument(format!("{what}: negative offset or length")));
    };
    if offset.checked_add(len).is_none_or(|end| end > capacity) {
        return Err(Error::IllegalArgument(format!("{what}: range {offset}+{len} is outside its capacity {capacity}")));
    }
    if len == 0 {
        return Ok((std::ptr::NonNull::dangling().as_ptr(), 0));
    }
    // SAFETY: `offset + len <= capacity`, so `address + offset` stays inside
    // (or one past the end of) the buffer's allocation.
    Ok((unsafe { address.add(offset) }, len))
}

/// A one-entry memo of the last text parsed and its value, kept per thread in
/// a `Cell` (see [`Memo::parse`]); texts longer than `N` bytes are parsed
/// every time.
#[derive(Clone, Copy)]
pub(crate) struct Memo<const N: usize, T: Copy> {
    key: [u8; N],
    len: usize,
    value: Option<T>,
}

impl<const N: usize, T: Copy + 'static> Memo<N, T> {
    /// Nothing remembered.
    pub(crate) const EMPTY: Self = Memo { key: [0; N], len: 0, value: None };

    /// `parse(text)`, or the remembered value if `text` is the text parsed last on this thread.
    pub(crate) fn parse(
        memo: &'static std::thread::LocalKey<std::cell::Cell<Self>>,
        text: &str,
        parse: impl FnOnce(&str) -> fleetgov::Result<T>,
    ) -> Result<T> {
        let last = memo.get();
        if let Some(v) = last.value.filter(|_| last.key.get(..last.len) == Some(text.as_bytes())) {
            return Ok(v);
        }
        let v = parse(text)?;
        if text.len() <= N {
            let mut key = [0; N];
            key[..text.len()].copy_from_slice(text.as_bytes());
            memo.set(Memo { key, len: text.len(), value: Some(v) });
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::{Memo, disjoint};

    #[test]
    fn disjoint_rejects_any_shared_byte() {
        let buf = [0u8; 16];
        assert!(disjoint("a", &buf[..8], "b", &buf[8..]).is_ok());
        assert!(disjoint("a", &buf[8..], "b", &buf[..8]).is_ok());
        assert!(disjoint("a", &buf[..9], "b", &buf[8..]).is_err());
        assert!(disjoint("a", &buf[4..6], "b", &buf[..]).is_err());
        assert!(disjoint("a", &buf[..0], "b", &buf[..]).is_ok(), "an empty range shares nothing");
    }

    thread_local! {
        static MEMO: Cell<Memo<4, u32>> = const { Cell::new(Memo::EMPTY) };
    }

    #[test]
    fn memo_remembers_the_last_short_text_only() {
        let calls = Cell::new(0);
        let parse = |s: &str| {
            calls.set(calls.get() + 1);
            s.parse::<u32>().map_err(|_| fleetgov::Error::invalid("not a number"))
        };
        assert_eq!(Memo::parse(&MEMO, "12", parse).ok(), Some(12));
        assert_eq!(Memo::parse(&MEMO, "12", parse).ok(), Some(12));
        assert_eq!(calls.get(), 1, "the second parse of the same text is remembered");
        assert_eq!(Memo::parse(&MEMO, "1", parse).ok(), Some(1), "a prefix is another text");
        assert!(Memo::parse(&MEMO, "x", parse).is_err());
        assert_eq!(Memo::parse(&MEMO, "1", parse).ok(), Some(1));
        assert_eq!(calls.get(), 3, "an error is not remembered and does not evict");
        assert_eq!(Memo::parse(&MEMO, "123456", parse).ok(), Some(123_456));
        assert_eq!(Memo::parse(&MEMO, "123456", parse).ok(), Some(123_456));
        assert_eq!(calls.get(), 5, "texts longer than the memo are parsed every time");
    }
}
