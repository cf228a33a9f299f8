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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_truncated_at_a_character_boundary_and_terminated() {
        let mut buf = [0x55u8; 6];
        unsafe { write_error(buf.as_mut_ptr().cast(), buf.len(), "abcdé-long") };
        // 5 bytes fit: "abcd" and the first byte of "é" would split it, so 4.
        assert_eq!(&buf[..5], b"abcd\0");
        unsafe { write_error(std::ptr::null_mut(), 10, "ignored") };
        unsafe { write_error(buf.as_mut_ptr().cast(), 0, "ignored") };
    }

    #[test]
    fn null_pointers_are_only_empty_slices() {
        assert_eq!(unsafe { bytes(std::ptr::null(), 0) }, Some(&[][..]));
        assert_eq!(unsafe { bytes(std::ptr::null(), 3) }, None);
        let data = [1u8, 2, 3];
        assert_eq!(unsafe { bytes(data.as_ptr(), 2) }, Some(&data[..2]));
    }
}
