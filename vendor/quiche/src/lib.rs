//! quichex's libquiche: a cdylib that links the `quiche` crate so that rustc
//! keeps and exports quiche's `#[no_mangle]` C API (without a reference to
//! the crate, rustc would not load it and the library would export nothing),
//! plus a few `quichex_*` functions for facts quiche's Rust API offers but its
//! C API does not.

use quiche::Connection;

/// Why 0-RTT early data was or was not used on this connection: BoringSSL's
/// `ssl_early_data_reason_t` (0 unknown, 1 disabled, 2 accepted, 3 protocol
/// version, 4 peer declined, 5 no session offered, 6 session not resumed,
/// 7 unsupported for session, 8 HelloRetryRequest, 9 ALPN mismatch,
/// 10 channel ID, 12 ticket age skew, 13 QUIC parameter mismatch,
/// 14 ALPS mismatch).
///
/// # Safety
/// `conn` must be a live connection pointer obtained from quiche's C API.
#[no_mangle]
pub unsafe extern "C" fn quichex_conn_early_data_reason(conn: *const Connection) -> u32 {
    match conn.as_ref() {
        Some(c) => c.early_data_reason(),
        None => 0,
    }
}
