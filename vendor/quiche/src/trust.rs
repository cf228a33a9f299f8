//! Trust anchors given in memory, and verification of a peer's chain
//! against them once the handshake is complete, with BoringSSL's X.509
//! verification codes (whose names node:tls uses as error codes).

use std::ffi::CStr;
use std::net::IpAddr;
use std::os::raw::{c_char, c_long};
use std::ptr;

use boring::stack::Stack;
use boring::x509::store::{X509Store, X509StoreBuilder};
use boring::x509::{X509StoreContext, X509};
use boring_sys as ffi;
use foreign_types::ForeignTypeRef;
use quiche::Connection;

use crate::text::{bytes, ssl_reason, write_error};

/// A set of trusted certificates.
pub struct Trust {
    store: X509Store,
}

fn new_trust(pem: &[u8]) -> Result<Trust, String> {
    let certs = X509::stack_from_pem(pem).map_err(|e| format!("ca is not valid PEM ({})", ssl_reason(&e)))?;
    if certs.is_empty() {
        return Err("ca holds no certificate".into());
    }
    let mut builder = X509StoreBuilder::new().map_err(|e| format!("no store ({})", ssl_reason(&e)))?;
    for cert in certs {
        // A certificate given twice is not an error (bundles often repeat one).
        let _ = builder.add_cert(cert);
    }
    Ok(Trust { store: builder.build() })
}

/// Makes a trust store from PEM text holding one or more certificates.
/// Returns null (and a message in `err`) when there is none or the PEM is bad.
///
/// # Safety
/// `pem` must point to `pem_len` bytes; `err` to `err_len` writable bytes (or be null).
#[no_mangle]
pub unsafe extern "C" fn quichex_trust_new(
    pem: *const u8,
    pem_len: usize,
    err: *mut c_char,
    err_len: usize,
) -> *mut Trust {
    let Some(pem) = bytes(pem, pem_len) else {
        write_error(err, err_len, "ca is null");
        return ptr::null_mut();
    };
    match new_trust(pem) {
        Ok(trust) => Box::into_raw(Box::new(trust)),
        Err(message) => {
            write_error(err, err_len, &message);
            ptr::null_mut()
        }
    }
}

/// Frees a trust store (null is ignored).
///
/// # Safety
/// `trust` must come from [`quichex_trust_new`] and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn quichex_trust_free(trust: *mut Trust) {
    if !trust.is_null() {
        drop(Box::from_raw(trust));
    }
}

/// The result of verifying a chain (and the leaf's `name`, when given): an
/// X.509 code (0 for success) and the depth in the chain it concerns.
fn verify(conn: &Connection, trust: &Trust, peer_is_server: bool, name: Option<&str>) -> (i32, i32) {
    let Some(chain) = conn.peer_cert_chain() else {
        return (-1, 0);
    };
    let Some(Ok(leaf)) = chain.first().map(|der| X509::from_der(der)) else {
        return (ffi::X509_V_ERR_UNSPECIFIED, 0);
    };
    let Ok(mut intermediates) = Stack::<X509>::new() else {
        return (ffi::X509_V_ERR_OUT_OF_MEM, 0);
    };
    for der in chain.iter().skip(1) {
        let pushed = X509::from_der(der).map(|cert| intermediates.push(cert));
        if !matches!(pushed, Ok(Ok(()))) {
            return (ffi::X509_V_ERR_UNSPECIFIED, 0);
        }
    }
    let Ok(mut ctx) = X509StoreContext::new() else {
        return (ffi::X509_V_ERR_OUT_OF_MEM, 0);
    };
    let purpose: &CStr = if peer_is_server { c"ssl_server" } else { c"ssl_client" };
    let outcome = ctx.init(&trust.store, &leaf, &intermediates, |c| unsafe {
        // The purpose checks the extended key usage, as a TLS library does.
        ffi::X509_STORE_CTX_set_default(c.as_ptr(), purpose.as_ptr());
        match name.map(|n| (n, n.parse::<IpAddr>())) {
            Some((_, Ok(ip))) => c.verify_param_mut().set_ip(ip)?,
            Some((host, Err(_))) => c.verify_param_mut().set_host(host)?,
            None => {}
        }
        let ok = c.verify_cert()?;
        let depth = c.error_depth() as i32;
        let code = match ffi::X509_STORE_CTX_get_error(c.as_ptr()) {
            _ if ok => ffi::X509_V_OK,
            // OpenSSL, and so node:tls, names a leaf whose issuer is nowhere
            // (not sent, not trusted) "unable to verify the first certificate";
            // BoringSSL keeps the general code. Report what Node users know.
            ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY if depth == 0 => {
                ffi::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
            }
            code => code,
        };
        Ok((code, depth))
    });
    outcome.unwrap_or((ffi::X509_V_ERR_UNSPECIFIED, 0))
}

/// Verifies the peer's certificate chain (as it sent it) against `trust`,
/// for a TLS server's certificate when `peer_is_server`, else a client's;
/// with a `name` (a host name or an IP address; null for none), also that
/// the leaf is for that name (after the chain). Returns 0 when it
/// verifies, an X.509 verification code (`X509_V_ERR_*`, among them
/// `HOSTNAME_MISMATCH` and `IP_ADDRESS_MISMATCH`) when not, or -1 when the
/// peer sent no certificate. The depth of the certificate the code concerns
/// goes to `*depth_out` (when not null).
///
/// # Safety
/// `conn` must be a live quiche connection, `trust` a live trust store,
/// `name` readable for `name_len` bytes (or null).
#[no_mangle]
pub unsafe extern "C" fn quichex_conn_verify_peer(
    conn: *const Connection,
    trust: *const Trust,
    peer_is_server: bool,
    name: *const u8,
    name_len: usize,
    depth_out: *mut i32,
) -> i32 {
    let (Some(conn), Some(trust)) = (conn.as_ref(), trust.as_ref()) else {
        return ffi::X509_V_ERR_UNSPECIFIED;
    };
    let name = if name.is_null() {
        None
    } else {
        match bytes(name, name_len).map(std::str::from_utf8) {
            Some(Ok(n)) => Some(n),
            _ => return ffi::X509_V_ERR_UNSPECIFIED,
        }
    };
    let (code, depth) = verify(conn, trust, peer_is_server, name);
    if !depth_out.is_null() {
        *depth_out = depth;
    }
    code
}

/// The name of an X.509 verification code without its `X509_V_ERR_`
/// prefix (`CERT_HAS_EXPIRED`), as node:tls reports it; null for a code
/// without a name here.
#[no_mangle]
pub extern "C" fn quichex_verify_error_name(code: i32) -> *const c_char {
    let name: &CStr = match code {
        ffi::X509_V_OK => c"OK",
        ffi::X509_V_ERR_UNSPECIFIED => c"UNSPECIFIED",
        ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT => c"UNABLE_TO_GET_ISSUER_CERT",
        ffi::X509_V_ERR_UNABLE_TO_GET_CRL => c"UNABLE_TO_GET_CRL",
        ffi::X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE => c"UNABLE_TO_DECRYPT_CERT_SIGNATURE",
        ffi::X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE => c"UNABLE_TO_DECRYPT_CRL_SIGNATURE",
        ffi::X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY => c"UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
        ffi::X509_V_ERR_CERT_SIGNATURE_FAILURE => c"CERT_SIGNATURE_FAILURE",
        ffi::X509_V_ERR_CRL_SIGNATURE_FAILURE => c"CRL_SIGNATURE_FAILURE",
        ffi::X509_V_ERR_CERT_NOT_YET_VALID => c"CERT_NOT_YET_VALID",
        ffi::X509_V_ERR_CERT_HAS_EXPIRED => c"CERT_HAS_EXPIRED",
        ffi::X509_V_ERR_CRL_NOT_YET_VALID => c"CRL_NOT_YET_VALID",
        ffi::X509_V_ERR_CRL_HAS_EXPIRED => c"CRL_HAS_EXPIRED",
        ffi::X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD => c"ERROR_IN_CERT_NOT_BEFORE_FIELD",
        ffi::X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD => c"ERROR_IN_CERT_NOT_AFTER_FIELD",
        ffi::X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD => c"ERROR_IN_CRL_LAST_UPDATE_FIELD",
        ffi::X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD => c"ERROR_IN_CRL_NEXT_UPDATE_FIELD",
        ffi::X509_V_ERR_OUT_OF_MEM => c"OUT_OF_MEM",
        ffi::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT => c"DEPTH_ZERO_SELF_SIGNED_CERT",
        ffi::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN => c"SELF_SIGNED_CERT_IN_CHAIN",
        ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY => c"UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        ffi::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE => c"UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        ffi::X509_V_ERR_CERT_CHAIN_TOO_LONG => c"CERT_CHAIN_TOO_LONG",
        ffi::X509_V_ERR_CERT_REVOKED => c"CERT_REVOKED",
        ffi::X509_V_ERR_INVALID_CA => c"INVALID_CA",
        ffi::X509_V_ERR_PATH_LENGTH_EXCEEDED => c"PATH_LENGTH_EXCEEDED",
        ffi::X509_V_ERR_INVALID_PURPOSE => c"INVALID_PURPOSE",
        ffi::X509_V_ERR_CERT_UNTRUSTED => c"CERT_UNTRUSTED",
        ffi::X509_V_ERR_CERT_REJECTED => c"CERT_REJECTED",
        ffi::X509_V_ERR_SUBJECT_ISSUER_MISMATCH => c"SUBJECT_ISSUER_MISMATCH",
        ffi::X509_V_ERR_AKID_SKID_MISMATCH => c"AKID_SKID_MISMATCH",
        ffi::X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH => c"AKID_ISSUER_SERIAL_MISMATCH",
        ffi::X509_V_ERR_KEYUSAGE_NO_CERTSIGN => c"KEYUSAGE_NO_CERTSIGN",
        ffi::X509_V_ERR_INVALID_EXTENSION => c"INVALID_EXTENSION",
        ffi::X509_V_ERR_INVALID_POLICY_EXTENSION => c"INVALID_POLICY_EXTENSION",
        ffi::X509_V_ERR_NO_EXPLICIT_POLICY => c"NO_EXPLICIT_POLICY",
        ffi::X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION => c"UNHANDLED_CRITICAL_EXTENSION",
        ffi::X509_V_ERR_PERMITTED_VIOLATION => c"PERMITTED_VIOLATION",
        ffi::X509_V_ERR_EXCLUDED_VIOLATION => c"EXCLUDED_VIOLATION",
        ffi::X509_V_ERR_UNSUPPORTED_NAME_SYNTAX => c"UNSUPPORTED_NAME_SYNTAX",
        ffi::X509_V_ERR_HOSTNAME_MISMATCH => c"HOSTNAME_MISMATCH",
        ffi::X509_V_ERR_EMAIL_MISMATCH => c"EMAIL_MISMATCH",
        ffi::X509_V_ERR_IP_ADDRESS_MISMATCH => c"IP_ADDRESS_MISMATCH",
        _ => return ptr::null(),
    };
    name.as_ptr()
}

/// BoringSSL's sentence for an X.509 verification code ("certificate has expired").
#[no_mangle]
pub extern "C" fn quichex_verify_error_string(code: i32) -> *const c_char {
    unsafe { ffi::X509_verify_cert_error_string(code as c_long) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::tests::self_signed;

    #[test]
    fn trust_stores_need_a_certificate() {
        assert_eq!(new_trust(b"").err().unwrap(), "ca holds no certificate");
        let (a, _) = self_signed("a");
        let (b, _) = self_signed("b");
        let twice = [a.clone(), a, b].concat();
        assert!(new_trust(&twice).is_ok());
    }

    #[test]
    fn codes_have_node_names_and_sentences() {
        let name = |code| unsafe { CStr::from_ptr(quichex_verify_error_name(code)) }.to_str().unwrap();
        assert_eq!(name(ffi::X509_V_ERR_CERT_HAS_EXPIRED), "CERT_HAS_EXPIRED");
        assert_eq!(name(ffi::X509_V_ERR_HOSTNAME_MISMATCH), "HOSTNAME_MISMATCH");
        assert!(quichex_verify_error_name(-1).is_null());
        let sentence = unsafe { CStr::from_ptr(quichex_verify_error_string(ffi::X509_V_ERR_CERT_HAS_EXPIRED)) };
        assert_eq!(sentence.to_str().unwrap(), "certificate has expired");
    }

    #[test]
    fn null_arguments_are_refused() {
        let mut depth = 0;
        let code = unsafe { quichex_conn_verify_peer(ptr::null(), ptr::null(), true, ptr::null(), 0, &mut depth) };
        assert_eq!(code, ffi::X509_V_ERR_UNSPECIFIED);
        assert!(unsafe { quichex_trust_new(ptr::null(), 4, ptr::null_mut(), 0) }.is_null());
    }
}
