//! Byte buffers and error messages across the C boundary.

use std::os::raw::c_char;

/// The `len` bytes at `ptr` as a slice; `None` for a null pointer with a
/// non-zero length. A zero length is the empty slice whatever the pointer.
///
/// # Safety
/// When non-null, `ptr` must point to `len` readable bytes that outlive the slice.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    Some(std::slice::from_raw_parts(ptr, len))
}

/// Writes `message` into the caller's buffer as a NUL-terminated string,
/// truncated to fit (at a UTF-8 boundary). Does nothing without a buffer.
///
/// # Safety
/// When non-null, `out` must point to `out_len` writable bytes.
pub unsafe fn write_error(out: *mut c_char, out_len: usize, message: &str) {
    if out.is_null() || out_len == 0 {
        return;
    }
    let mut n = message.len().min(out_len - 1);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    std::ptr::copy_nonoverlapping(message.as_ptr(), out.cast::<u8>(), n);
    *out.add(n) = 0;
}

/// BoringSSL's reason for the most recent failure, for error messages.
pub fn ssl_reason(err: &boring::error::ErrorStack) -> String {
    match err.errors().first() {
        Some(e) => e.reason().unwrap_or("unknown reason").to_ascii_lowercase().replace('_', " "),
        None => "unknown reason".to_string(),
    }
}
