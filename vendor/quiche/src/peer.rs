//! The peer's whole certificate chain (quiche.h offers only the leaf).

use quiche::Connection;

/// Points `*out`/`*out_len` at the DER of the peer's certificate number
/// `index` (0 is the leaf, then the chain as the peer sent it). Returns
/// false when there is no such certificate. The bytes belong to the
/// connection: copy them before the next call into quiche.
///
/// # Safety
/// `conn` must be a live quiche connection; `out` and `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn quichex_conn_peer_cert_at(
    conn: *const Connection,
    index: usize,
    out: *mut *const u8,
    out_len: *mut usize,
) -> bool {
    let Some(conn) = conn.as_ref() else { return false };
    if out.is_null() || out_len.is_null() {
        return false;
    }
    match conn.peer_cert_chain().and_then(|chain| chain.get(index).copied()) {
        Some(der) => {
            *out = der.as_ptr();
            *out_len = der.len();
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_arguments_find_nothing() {
        let mut out = std::ptr::null();
        let mut len = 0;
        assert!(!unsafe { quichex_conn_peer_cert_at(std::ptr::null(), 0, &mut out, &mut len) });
    }
}
