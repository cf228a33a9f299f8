//! quichex's libquiche: a cdylib that links the `quiche` crate so that rustc
//! keeps and exports quiche's `#[no_mangle]` C API (without a reference to
//! the crate, rustc would not load it and the library would export nothing),
//! plus a few `quichex_*` functions for what quiche's C API lacks:
//!
//! - `tls`: a quiche config built on a BoringSSL context we keep a handle
//!   to, so that certificates and keys load from memory, several identities
//!   can be chosen by SNI, and client certificates can be required;
//! - `trust`: trust anchors from memory and verification of a peer's chain
//!   against them, with BoringSSL's verification codes;
//! - `peer`: the peer's whole certificate chain;
//! - `keylog`: a connection's TLS key log lines handed to a C callback.
//!
//! Every function checks its pointers and lengths, and none can unwind:
//! fallible steps return errors instead of panicking (the release profile
//! aborts on panic, so a panic would end the process, never cross the FFI).

mod keylog;
mod peer;
mod text;
mod tls;
mod trust;

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
