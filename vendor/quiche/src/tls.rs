//! A quiche config whose BoringSSL context stays reachable: certificate
//! chains and keys are loaded from memory, each server name can have its own
//! identity (chosen by SNI while the ClientHello is processed), and the
//! verification mode can ask for, or require, a client certificate.
//!
//! Certificate *verification* is not done here during the handshake: the
//! context accepts whatever chain the peer sends, and the caller checks it
//! once the handshake is complete (`trust.rs`), as node:tls does. So the
//! result can be reported with node:tls's codes, and a caller may still
//! admit a peer whose chain does not verify.

use std::collections::HashMap;
use std::os::raw::c_char;
use std::ptr;
use std::sync::{Arc, RwLock};

use boring::pkey::{PKey, Private};
use boring::ssl::{NameType, SniError, SslAlert, SslContext, SslContextBuilder, SslMethod};
use boring::x509::X509;
use boring_sys as ffi;
use foreign_types::{ForeignType, ForeignTypeRef};

use crate::text::{bytes, ssl_reason, write_error};

/// A certificate chain (leaf first) and its private key, ready to install.
struct Identity {
    /// DER of each certificate, as BoringSSL's refcounted buffers.
    chain: Vec<*mut ffi::CRYPTO_BUFFER>,
    key: PKey<Private>,
}

// CRYPTO_BUFFERs are immutable and refcounted; BoringSSL shares them across threads.
unsafe impl Send for Identity {}
unsafe impl Sync for Identity {}

impl Drop for Identity {
    fn drop(&mut self) {
        for buffer in &self.chain {
            unsafe { ffi::CRYPTO_BUFFER_free(*buffer) };
        }
    }
}

impl Identity {
    fn parse(cert_pem: &[u8], key_pem: &[u8], passphrase: Option<&[u8]>) -> Result<Identity, String> {
        let certs = X509::stack_from_pem(cert_pem)
            .map_err(|e| format!("cert is not valid PEM ({})", ssl_reason(&e)))?;
        let leaf = certs.first().ok_or("cert holds no certificate")?;
        let key = parse_key(key_pem, passphrase)?;
        let public = leaf
            .public_key()
            .map_err(|e| format!("cert has an unusable public key ({})", ssl_reason(&e)))?;
        if !public.public_eq(&key) {
            return Err("key does not match the certificate (the first one in cert)".into());
        }
        let mut chain = Vec::with_capacity(certs.len());
        for cert in &certs {
            let der = cert.to_der().map_err(|e| format!("cert could not be encoded ({})", ssl_reason(&e)))?;
            let buffer = unsafe { ffi::CRYPTO_BUFFER_new(der.as_ptr(), der.len(), ptr::null_mut()) };
            if buffer.is_null() {
                return Err("out of memory".into());
            }
            chain.push(buffer);
        }
        Ok(Identity { chain, key })
    }
}

/// Reads a PEM private key, decrypting it with `passphrase` when it is encrypted.
fn parse_key(pem: &[u8], passphrase: Option<&[u8]>) -> Result<PKey<Private>, String> {
    let mut asked = false;
    let parsed = PKey::private_key_from_pem_callback(pem, |buf| {
        asked = true;
        match passphrase {
            Some(p) if p.len() <= buf.len() => {
                buf[..p.len()].copy_from_slice(p);
                Ok(p.len())
            }
            _ => Ok(0),
        }
    });
    parsed.map_err(|e| match (asked, passphrase) {
        (true, None) => "key is encrypted: give its passphrase".to_string(),
        (true, Some(_)) => "key could not be decrypted with the passphrase given".to_string(),
        _ => format!("key is not a valid PEM private key ({})", ssl_reason(&e)),
    })
}

/// Identities by server name: exact names, and `*.suffix` wildcards that
/// match exactly one more label.
#[derive(Default)]
struct Names {
    exact: HashMap<String, Identity>,
    wildcard: HashMap<String, Identity>,
}

impl Names {
    fn find(&self, server_name: &str) -> Option<&Identity> {
        let name = server_name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(id) = self.exact.get(&name) {
            return Some(id);
        }
        let (label, suffix) = name.split_once('.')?;
        if label.is_empty() {
            return None;
        }
        self.wildcard.get(suffix)
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcard.is_empty()
    }
}

/// The handle JS holds: our reference to the context quiche's config uses,
/// and the identities the SNI callback chooses from.
pub struct Tls {
    ctx: SslContext,
    names: Arc<RwLock<Names>>,
}

/// Accepts every chain: the caller verifies it after the handshake.
unsafe extern "C" fn accept_chain(_ssl: *mut ffi::SSL, _alert: *mut u8) -> ffi::ssl_verify_result_t {
    ffi::ssl_verify_result_t::ssl_verify_ok
}

fn new_tls(version: u32) -> Result<(Box<Tls>, quiche::Config), String> {
    let mut builder =
        SslContextBuilder::new(SslMethod::tls()).map_err(|e| format!("no TLS context ({})", ssl_reason(&e)))?;
    let names: Arc<RwLock<Names>> = Arc::default();
    let sni = Arc::clone(&names);
    builder.set_servername_callback(move |ssl, alert| {
        let names = sni.read().unwrap_or_else(|e| e.into_inner());
        if names.is_empty() {
            return Ok(());
        }
        match ssl.servername(NameType::HOST_NAME).and_then(|n| names.find(n)) {
            Some(id) => {
                let rc = unsafe {
                    ffi::SSL_set_chain_and_key(ssl.as_ptr(), id.chain.as_ptr(), id.chain.len(), id.key.as_ptr(), ptr::null())
                };
                if rc == 1 {
                    Ok(())
                } else {
                    *alert = SslAlert::INTERNAL_ERROR;
                    Err(SniError::ALERT_FATAL)
                }
            }
            // No identity for this name: the default one, if there is one.
            None if ssl.certificate().is_some() => Ok(()),
            None => {
                *alert = SslAlert::UNRECOGNIZED_NAME;
                Err(SniError::ALERT_FATAL)
            }
        }
    });
    unsafe { ffi::SSL_CTX_set_custom_verify(builder.as_ptr(), ffi::SSL_VERIFY_NONE, Some(accept_chain)) };
    // Our own reference to the context, before quiche takes the builder's.
    let ctx = unsafe {
        ffi::SSL_CTX_up_ref(builder.as_ptr());
        SslContext::from_ptr(builder.as_ptr())
    };
    let config = quiche::Config::with_boring_ssl_ctx_builder(version, builder)
        .map_err(|e| format!("quiche could not create a config for version {version:#x} ({e})"))?;
    Ok((Box::new(Tls { ctx, names }), config))
}

/// Creates a quiche config for QUIC `version` on a TLS context that the
/// returned handle configures. The config goes to `*config_out`; free it
/// with `quiche_config_free` and the handle with [`quichex_tls_free`], in
/// either order. Returns null (and a message in `err`) on failure.
///
/// # Safety
/// `config_out` must be writable; `err` must point to `err_len` writable bytes (or be null).
#[no_mangle]
pub unsafe extern "C" fn quichex_tls_new(
    version: u32,
    config_out: *mut *mut quiche::Config,
    err: *mut c_char,
    err_len: usize,
) -> *mut Tls {
    if config_out.is_null() {
        write_error(err, err_len, "config_out is null");
        return ptr::null_mut();
    }
    match new_tls(version) {
        Ok((tls, config)) => {
            *config_out = Box::into_raw(Box::new(config));
            Box::into_raw(tls)
        }
        Err(message) => {
            write_error(err, err_len, &message);
            ptr::null_mut()
        }
    }
}

/// Frees a handle made by [`quichex_tls_new`]. The config and the
/// connections made from it keep working.
///
/// # Safety
/// `tls` must come from [`quichex_tls_new`] and not have been freed (null is ignored).
#[no_mangle]
pub unsafe extern "C" fn quichex_tls_free(tls: *mut Tls) {
    if !tls.is_null() {
        drop(Box::from_raw(tls));
    }
}

/// Reads an identity from the C arguments.
unsafe fn identity_from(
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
) -> Result<Identity, String> {
    let cert = bytes(cert, cert_len).ok_or("cert is null")?;
    let key = bytes(key, key_len).ok_or("key is null")?;
    let passphrase = if passphrase.is_null() { None } else { bytes(passphrase, passphrase_len) };
    Identity::parse(cert, key, passphrase)
}

/// Sets the certificate chain (PEM, leaf first) and private key (PEM,
/// decrypted with `passphrase` when it is encrypted; null for none) this
/// side presents: a server's default identity, or a client's certificate.
/// Returns 0, or -1 with a message in `err`.
///
/// # Safety
/// Pointers must be valid for their lengths; `tls` must be live.
#[no_mangle]
pub unsafe extern "C" fn quichex_tls_set_identity(
    tls: *mut Tls,
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    err: *mut c_char,
    err_len: usize,
) -> i32 {
    let Some(tls) = tls.as_mut() else {
        write_error(err, err_len, "tls is null");
        return -1;
    };
    let identity = match identity_from(cert, cert_len, key, key_len, passphrase, passphrase_len) {
        Ok(id) => id,
        Err(message) => {
            write_error(err, err_len, &message);
            return -1;
        }
    };
    let rc = ffi::SSL_CTX_set_chain_and_key(
        tls.ctx.as_ptr(),
        identity.chain.as_ptr(),
        identity.chain.len(),
        identity.key.as_ptr(),
        ptr::null(),
    );
    if rc != 1 {
        write_error(err, err_len, "BoringSSL refused the certificate and key");
        return -1;
    }
    0
}

/// Adds an identity for one server name: `name` is a host name
/// (`example.com`) or a wildcard for one label (`*.example.com`), matched
/// case-insensitively against the client's SNI; an exact name wins over a
/// wildcard. A client asking for a name with no identity gets the default
/// one (see [`quichex_tls_set_identity`]), or an `unrecognized_name` alert
/// when there is none. Returns 0, or -1 with a message in `err`.
///
/// # Safety
/// Pointers must be valid for their lengths; `tls` must be live.
#[no_mangle]
pub unsafe extern "C" fn quichex_tls_add_server_name(
    tls: *mut Tls,
    name: *const u8,
    name_len: usize,
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    err: *mut c_char,
    err_len: usize,
) -> i32 {
    let Some(tls) = tls.as_mut() else {
        write_error(err, err_len, "tls is null");
        return -1;
    };
    let name = match bytes(name, name_len).map(std::str::from_utf8) {
        Some(Ok(n)) => n.trim_end_matches('.').to_ascii_lowercase(),
        _ => {
            write_error(err, err_len, "name is not UTF-8 text");
            return -1;
        }
    };
    let (wildcard, host) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest.to_string()),
        None => (false, name.clone()),
    };
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    if !valid {
        write_error(err, err_len, &format!("{name:?} is not a host name or *.wildcard"));
        return -1;
    }
    let identity = match identity_from(cert, cert_len, key, key_len, passphrase, passphrase_len) {
        Ok(id) => id,
        Err(message) => {
            write_error(err, err_len, &message);
            return -1;
        }
    };
    let mut names = tls.names.write().unwrap_or_else(|e| e.into_inner());
    if wildcard {
        names.wildcard.insert(host, identity);
    } else {
        names.exact.insert(host, identity);
    }
    0
}

/// Whether to ask the peer for a certificate: 0 never (a server's default),
/// 1 ask (a client always receives the server's), 2 ask and fail the
/// handshake when the peer sends none. Whatever the mode, the chain is
/// accepted as sent: verify it after the handshake. Applies to connections
/// created afterwards. Returns 0, or -1 for a bad argument.
///
/// # Safety
/// `tls` must be live.
#[no_mangle]
pub unsafe extern "C" fn quichex_tls_set_verify(tls: *mut Tls, mode: u32) -> i32 {
    let Some(tls) = tls.as_mut() else { return -1 };
    let bits = match mode {
        0 => ffi::SSL_VERIFY_NONE,
        1 => ffi::SSL_VERIFY_PEER,
        2 => ffi::SSL_VERIFY_PEER | ffi::SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
        _ => return -1,
    };
    ffi::SSL_CTX_set_custom_verify(tls.ctx.as_ptr(), bits, Some(accept_chain));
    0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use boring::asn1::Asn1Time;
    use boring::ec::{EcGroup, EcKey};
    use boring::hash::MessageDigest;
    use boring::nid::Nid;
    use boring::symm::Cipher;
    use boring::x509::{X509Builder, X509NameBuilder};

    /// A fresh self-signed certificate and its key, as PEM text.
    pub(crate) fn self_signed(cn: &str) -> (Vec<u8>, PKey<Private>) {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (b.build().to_pem().unwrap(), key)
    }

    #[test]
    fn names_match_exactly_then_by_one_wildcard_label() {
        let (cert, key) = self_signed("x");
        let key_pem = key.private_key_to_pem_pkcs8().unwrap();
        let id = || Identity::parse(&cert, &key_pem, None).unwrap();
        let mut names = Names::default();
        assert!(names.is_empty());
        names.exact.insert("a.example".into(), id());
        names.wildcard.insert("example".into(), id());
        assert!(names.find("A.Example.").is_some());
        assert!(names.find("b.example").is_some());
        assert!(names.find("example").is_none());
        assert!(names.find(".example").is_none());
        assert!(names.find("c.b.example").is_none());
        // Exact wins: the exact identity is the one returned for its name.
        let exact = names.exact.get("a.example").unwrap() as *const Identity;
        assert_eq!(names.find("a.example").unwrap() as *const Identity, exact);
    }

    #[test]
    fn keys_report_why_they_cannot_be_read() {
        let (cert, key) = self_signed("k");
        let encrypted = key.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"pw").unwrap();
        assert!(parse_key(&encrypted, Some(b"pw")).is_ok());
        assert_eq!(parse_key(&encrypted, None).unwrap_err(), "key is encrypted: give its passphrase");
        assert_eq!(
            parse_key(&encrypted, Some(b"wrong")).unwrap_err(),
            "key could not be decrypted with the passphrase given"
        );
        assert!(parse_key(b"garbage", None).unwrap_err().starts_with("key is not a valid PEM private key"));
        let (_, other) = self_signed("other");
        let other_pem = other.private_key_to_pem_pkcs8().unwrap();
        assert_eq!(
            Identity::parse(&cert, &other_pem, None).err().unwrap(),
            "key does not match the certificate (the first one in cert)"
        );
        assert_eq!(Identity::parse(b"", &other_pem, None).err().unwrap(), "cert holds no certificate");
    }

    #[test]
    fn configs_come_with_a_handle_and_bad_arguments_are_refused() {
        let mut config: *mut quiche::Config = ptr::null_mut();
        let mut err = [0 as c_char; 128];
        unsafe {
            let tls = quichex_tls_new(quiche::PROTOCOL_VERSION, &mut config, err.as_mut_ptr(), err.len());
            assert!(!tls.is_null() && !config.is_null());
            assert_eq!(quichex_tls_set_verify(tls, 7), -1);
            assert_eq!(quichex_tls_set_verify(tls, 2), 0);
            assert_eq!(quichex_tls_set_verify(ptr::null_mut(), 0), -1);
            let (cert, key) = self_signed("c");
            let key = key.private_key_to_pem_pkcs8().unwrap();
            let rc = quichex_tls_set_identity(
                tls, cert.as_ptr(), cert.len(), key.as_ptr(), key.len(), ptr::null(), 0, err.as_mut_ptr(), err.len(),
            );
            assert_eq!(rc, 0);
            let rc = quichex_tls_set_identity(
                tls, ptr::null(), 5, key.as_ptr(), key.len(), ptr::null(), 0, err.as_mut_ptr(), err.len(),
            );
            assert_eq!(rc, -1);
            assert_eq!(CStr::from_ptr(err.as_ptr()).to_str().unwrap(), "cert is null");
            quichex_tls_free(tls);
            drop(Box::from_raw(config));
            assert!(quichex_tls_new(1, ptr::null_mut(), err.as_mut_ptr(), err.len()).is_null());
        }
    }

    use std::ffi::CStr;
}
