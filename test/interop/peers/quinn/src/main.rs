//! quinn peer driver for the quichex interop matrix.
//!
//! Speaks hq-interop (ALPN `hq-interop`) in either role and follows the
//! driver contract in `test/interop/README.md`:
//!
//! ```text
//! quinn-peer server --host H --port P --cert C --key K --root DIR [--retry] [--timeout S]
//! quinn-peer client --host H --port P --ca CA --server-name N --out DIR [--timeout S]
//!                   [--resume] [--zero-rtt] [--migrate] [--key-update] [--max-streams-wait] PATH...
//! ```
//!
//! and HTTP/3 (ALPN `h3`, subcommands `h3-server` / `h3-client`) in the `h3` module.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{Connection, Endpoint, ReadError, RecvStream, SendStream, VarInt, WriteError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12ClientSessionValue,
    Tls13ClientSessionValue, WebPkiServerVerifier,
};
use rustls::crypto::CryptoProvider;
use rustls::{ConfigBuilder, WantsVerifier};
use rustls::{DigitallySignedStruct, NamedGroup, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::task::JoinSet;

mod h3;

const ALPN: &[u8] = b"hq-interop";
/// Stream reset code for unknown paths (hq-interop convention used by the matrix).
const NOT_FOUND: u32 = 404;
/// Reset code for a request that is not `GET /path`: "not understood" must not read as
/// "no such file" (quichex's own server uses the same code for this).
const BAD_REQUEST: u32 = 400;
/// Upper bound on a request line; a real one is a few dozen bytes.
const MAX_REQUEST: usize = 8 * 1024;

// ---------------------------------------------------------------- arguments

/// The options of the driver contract that both protocols (hq-interop and HTTP/3) take.
#[derive(Default, Debug)]
pub(crate) struct CommonOpts {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) root: Option<PathBuf>,
    pub(crate) ca: Option<PathBuf>,
    pub(crate) server_name: Option<String>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) paths: Vec<String>,
}

/// The value after option `name`.
pub(crate) fn value(it: &mut std::slice::Iter<'_, String>, name: &str) -> Result<String, String> {
    it.next()
        .cloned()
        .ok_or_else(|| format!("{name} needs a value"))
}

/// Parses the common options; every other one goes to `extra`, which takes its value from the
/// iterator if it has one and returns false for an option it does not know.
pub(crate) fn parse_common(
    args: &[String],
    mut extra: impl FnMut(&str, &mut std::slice::Iter<'_, String>) -> Result<bool, String>,
) -> Result<CommonOpts, String> {
    let mut o = CommonOpts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--host" => o.host = Some(value(&mut it, a)?),
            "--port" => o.port = Some(value(&mut it, a)?.parse().map_err(|_| "bad --port")?),
            "--cert" => o.cert = Some(value(&mut it, a)?.into()),
            "--key" => o.key = Some(value(&mut it, a)?.into()),
            "--root" => o.root = Some(value(&mut it, a)?.into()),
            "--ca" => o.ca = Some(value(&mut it, a)?.into()),
            "--server-name" => o.server_name = Some(value(&mut it, a)?),
            "--out" => o.out = Some(value(&mut it, a)?.into()),
            s if s.starts_with("--") => {
                if !extra(s, &mut it)? {
                    return Err(format!("unknown option {s}"));
                }
            }
            s => o.paths.push(s.to_string()),
        }
    }
    Ok(o)
}

#[derive(Default, Debug)]
struct Opts {
    common: CommonOpts,
    timeout: Option<u64>,
    retry: bool,
    resume: bool,
    zero_rtt: bool,
    migrate: bool,
    key_update: bool,
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    o.common = parse_common(args, |a, it| {
        match a {
            "--timeout" => o.timeout = Some(value(it, a)?.parse().map_err(|_| "bad --timeout")?),
            "--retry" => o.retry = true,
            "--resume" => o.resume = true,
            "--zero-rtt" => o.zero_rtt = true,
            "--migrate" => o.migrate = true,
            "--key-update" => o.key_update = true,
            // quinn's open_bi already waits for MAX_STREAMS credit, so this is the default.
            "--max-streams-wait" => {}
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(o)
}

pub(crate) fn need<T: Clone>(v: &Option<T>, name: &str) -> Result<T, String> {
    v.clone().ok_or_else(|| format!("missing {name}"))
}

const USAGE: &str = "usage: quinn-peer server --host H --port P --cert C --key K --root DIR [--retry] [--timeout S]\n       quinn-peer client --host H --port P --ca CA --server-name N --out DIR [--timeout S] [--resume] [--zero-rtt] [--migrate] [--key-update] PATH...\n       quinn-peer h3-server|h3-client ... (HTTP/3, see test/interop/README.md)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let h3 = mode == "h3-server" || mode == "h3-client";
    let opts = if h3 {
        None
    } else {
        match parse_args(&args[1..]) {
            Ok(o) => Some(o),
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("ERROR runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match (mode.as_str(), opts) {
        (_, None) => rt.block_on(h3::h3_main(&mode, &args[1..])),
        ("server", Some(o)) => exit(rt.block_on(run_server(o))),
        ("client", Some(o)) => rt.block_on(client_main(o)),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The contract's end: exit 0, or one ERROR line and exit 1.
pub(crate) fn exit(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("ERROR {}", one_line(e));
            ExitCode::from(1)
        }
    }
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Resolves --host/--port; literal IPs need no lookup, names go through the resolver.
pub(crate) async fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("resolve {host}: no address"))
}

/// One line, so the runner's line-oriented parser sees the whole reason.
pub(crate) fn one_line(s: impl fmt::Display) -> String {
    s.to_string().replace(['\r', '\n'], " ")
}

/// The server's TLS 1.3 configuration for `alpn`, from the --cert chain and --key (PEM).
pub(crate) fn server_tls(
    cert: &Path,
    key: &Path,
    alpn: &[u8],
) -> Result<rustls::ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cert {}: {e}", cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("key {}: {e}", key.display()))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls: {e}"))?;
    tls.alpn_protocols = vec![alpn.to_vec()];
    Ok(tls)
}

/// Binds the server endpoint on --host/--port and announces it (`READY <port>`).
pub(crate) async fn server_endpoint(
    tls: rustls::ServerConfig,
    host: &str,
    port: u16,
    mode: &str,
    root: &Path,
) -> Result<Endpoint, String> {
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| format!("quic tls: {e}"))?;
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let addr = resolve(host, port).await?;
    let endpoint = Endpoint::server(config, addr).map_err(|e| format!("bind {addr}: {e}"))?;
    let bound = endpoint.local_addr().map_err(|e| e.to_string())?;
    println!("READY {}", bound.port());
    eprintln!("quinn-peer {mode} on {bound} root {}", root.display());
    Ok(endpoint)
}

/// The CA certificates of --ca (PEM).
pub(crate) fn load_roots(ca: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).map_err(|e| format!("ca {}: {e}", ca.display()))? {
        roots
            .add(c.map_err(|e| format!("ca {}: {e}", ca.display()))?)
            .map_err(|e| format!("ca {}: {e}", ca.display()))?;
    }
    Ok(roots)
}

/// A TLS 1.3 client configuration, up to the choice of certificate verifier.
pub(crate) fn client_tls() -> Result<ConfigBuilder<rustls::ClientConfig, WantsVerifier>, String> {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| format!("tls: {e}"))
}

/// A client endpoint on a fresh port for talking to `remote`: on loopback when the peer is
/// there (a migrated socket reuses this IP), else on the unspecified address of its family.
pub(crate) fn client_endpoint(remote: SocketAddr) -> Result<Endpoint, String> {
    let local_ip = match remote.ip() {
        ip if ip.is_loopback() => ip,
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    Endpoint::client(SocketAddr::new(local_ip, 0)).map_err(|e| format!("bind: {e}"))
}

// ---------------------------------------------------------------- server

async fn run_server(o: Opts) -> Result<(), String> {
    let host = need(&o.common.host, "--host")?;
    let port = need(&o.common.port, "--port")?;
    let cert = need(&o.common.cert, "--cert")?;
    let key = need(&o.common.key, "--key")?;
    let root = need(&o.common.root, "--root")?;
    let root = root
        .canonicalize()
        .map_err(|e| format!("--root {}: {e}", root.display()))?;
    let limit = Duration::from_secs(o.timeout.unwrap_or(120));

    let mut tls = server_tls(&cert, &key, ALPN)?;
    // QUIC only allows 0 or u32::MAX here; u32::MAX lets tickets advertise 0-RTT. rustls
    // accepts early data only with stateful resumption, which is its default (no ticketer).
    tls.max_early_data_size = u32::MAX;
    let endpoint = server_endpoint(tls, &host, port, "server", &root).await?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("signal: {e}"))?;
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let root = Arc::new(root);
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                // Retry proves the client owns its address before any state is kept.
                if o.retry && !incoming.remote_address_validated() {
                    let from = incoming.remote_address();
                    match incoming.retry() {
                        Ok(()) => eprintln!("sent Retry to {from}"),
                        Err(e) => eprintln!("retry failed: {e}"),
                    }
                    continue;
                }
                match incoming.accept() {
                    Ok(connecting) => {
                        tokio::spawn(serve_connection(connecting, root.clone()));
                    }
                    Err(e) => eprintln!("accept: {e}"),
                }
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = &mut deadline => {
                eprintln!("server timeout after {}s", limit.as_secs());
                break;
            }
        }
    }
    endpoint.close(VarInt::from_u32(0), b"server shutdown");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    Ok(())
}

async fn serve_connection(connecting: quinn::Connecting, root: Arc<PathBuf>) {
    // On the server into_0rtt always succeeds: requests that arrived as 0-RTT data are
    // answered (0.5-RTT) without waiting for the handshake to finish.
    let conn = match connecting.into_0rtt() {
        Ok((conn, _)) => conn,
        Err(connecting) => match connecting.await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("handshake: {e}");
                return;
            }
        },
    };
    loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                tokio::spawn(serve_stream(send, recv, root.clone()));
            }
            Err(e) => {
                eprintln!("connection {} ended: {e}", conn.remote_address());
                return;
            }
        }
    }
}

async fn serve_stream(mut send: SendStream, mut recv: RecvStream, root: Arc<PathBuf>) {
    let req = match recv.read_to_end(MAX_REQUEST).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("request read: {e}");
            let _ = send.reset(VarInt::from_u32(BAD_REQUEST));
            return;
        }
    };
    let Some(path) = request_path(&req) else {
        eprintln!("bad request {:?}", String::from_utf8_lossy(&req));
        let _ = send.reset(VarInt::from_u32(BAD_REQUEST));
        return;
    };
    let Some(file) = map_path(&root, &path) else {
        let _ = send.reset(VarInt::from_u32(NOT_FOUND));
        return;
    };
    let data = match tokio::fs::read(&file).await {
        Ok(d) => d,
        Err(_) => {
            let _ = send.reset(VarInt::from_u32(NOT_FOUND));
            return;
        }
    };
    if let Err(e) = send.write_all(&data).await {
        eprintln!("write {}: {e}", file.display());
        return;
    }
    let _ = send.finish();
}

/// `GET /path\r\n` → `/path` (a bare `\n` or no line end is tolerated).
fn request_path(req: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(req).ok()?;
    let line = line.lines().next()?.trim();
    let path = line.strip_prefix("GET ")?.trim();
    path.starts_with('/').then(|| path.to_string())
}

/// Maps a request path under `root`, refusing anything that could climb out of it.
pub(crate) fn map_path(root: &Path, req: &str) -> Option<PathBuf> {
    let rel = Path::new(req.trim_start_matches('/'));
    if rel.as_os_str().is_empty() {
        return None;
    }
    for c in rel.components() {
        if !matches!(c, Component::Normal(_)) {
            return None;
        }
    }
    let full = root.join(rel);
    full.is_file().then_some(full)
}

// ---------------------------------------------------------------- client

/// What the TLS layer saw, shared between the rustls hooks and the driver.
#[derive(Debug, Default)]
struct TlsEvents {
    /// Full certificate verifications; a resumed TLS 1.3 handshake skips verification.
    verifications: AtomicUsize,
    /// Session tickets received and stored.
    tickets: AtomicUsize,
}

/// Delegates to webpki and counts calls. quinn's `HandshakeData` only carries ALPN and
/// SNI, and the rustls connection (with its `handshake_kind()`) is not reachable through
/// quinn, so "the certificate was not verified on a completed handshake" is the observable
/// sign that rustls resumed: it skips verification only when the server accepted the PSK.
#[derive(Debug)]
struct CountingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    events: Arc<TlsEvents>,
}

impl ServerCertVerifier for CountingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.events.verifications.fetch_add(1, Ordering::SeqCst);
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// rustls' in-memory session cache, counting stored tickets so connection 1 is not closed
/// before the ticket that connection 2 needs has arrived.
#[derive(Debug)]
struct CountingStore {
    inner: ClientSessionMemoryCache,
    events: Arc<TlsEvents>,
}

impl ClientSessionStore for CountingStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(server_name, group)
    }
    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(server_name)
    }
    fn set_tls12_session(&self, server_name: ServerName<'static>, v: Tls12ClientSessionValue) {
        self.inner.set_tls12_session(server_name, v)
    }
    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.inner.tls12_session(server_name)
    }
    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.inner.remove_tls12_session(server_name)
    }
    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, v: Tls13ClientSessionValue) {
        self.events.tickets.fetch_add(1, Ordering::SeqCst);
        self.inner.insert_tls13_ticket(server_name, v)
    }
    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        self.inner.take_tls13_ticket(server_name)
    }
}

/// Actions fired once, when the first response byte of the measured connection arrives.
struct Trigger {
    fired: AtomicBool,
    conn: Connection,
    endpoint: Endpoint,
    migrate: bool,
    key_update: bool,
    /// (old, new) local address once the endpoint moved to a new socket.
    migrated: Mutex<Option<(SocketAddr, SocketAddr)>>,
}

impl Trigger {
    /// Runs inline in the reading task (rebind and key update are synchronous), so the rest
    /// of the transfer is guaranteed to happen after the switch.
    fn first_bytes(&self) {
        if self.fired.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.key_update {
            self.conn.force_key_update();
            println!("KEY_UPDATE initiated");
        }
        if self.migrate {
            match self.rebind() {
                Ok(pair) => {
                    eprintln!("rebound {} -> {}", pair.0, pair.1);
                    *self.migrated.lock().unwrap() = Some(pair);
                }
                Err(e) => eprintln!("rebind failed: {e}"),
            }
        }
    }

    fn rebind(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        let old = self.endpoint.local_addr()?;
        let socket = std::net::UdpSocket::bind(SocketAddr::new(old.ip(), 0))?;
        let new = socket.local_addr()?;
        self.endpoint.rebind(socket)?;
        Ok((old, new))
    }
}

#[derive(Debug)]
enum DlError {
    /// The request went out as 0-RTT data and the server refused it; retry in 1-RTT.
    ZeroRttRejected,
    Other(String),
}

impl From<WriteError> for DlError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::ZeroRttRejected => DlError::ZeroRttRejected,
            e => DlError::Other(format!("write: {e}")),
        }
    }
}

impl From<ReadError> for DlError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::ZeroRttRejected => DlError::ZeroRttRejected,
            ReadError::Reset(code) => DlError::Other(format!("stream reset with code {code}")),
            e => DlError::Other(format!("read: {e}")),
        }
    }
}

async fn fetch(
    conn: &Connection,
    path: &str,
    trigger: Option<&Trigger>,
) -> Result<Vec<u8>, DlError> {
    let (mut send, mut recv) = conn
        .open_bi()
        .await
        .map_err(|e| DlError::Other(format!("open stream: {e}")))?;
    send.write_all(format!("GET {path}\r\n").as_bytes()).await?;
    send.finish()
        .map_err(|e| DlError::Other(format!("finish: {e}")))?;
    let mut body = Vec::new();
    while let Some(chunk) = recv.read_chunk(usize::MAX, true).await? {
        if !chunk.bytes.is_empty() {
            if let Some(t) = trigger {
                t.first_bytes();
            }
        }
        body.extend_from_slice(&chunk.bytes);
    }
    Ok(body)
}

/// Downloads one path and records the outcome in `pending`.
async fn download(
    conn: Connection,
    path: String,
    out: PathBuf,
    trigger: Option<Arc<Trigger>>,
    pending: Pending,
) -> Result<(), String> {
    let r = save_one(&conn, &path, &out, trigger.as_deref()).await;
    let mut p = pending.paths.lock().unwrap();
    match &r {
        Ok(()) => {
            p.remove(&path);
        }
        Err(e) => {
            p.insert(path, Some(e.clone()));
        }
    }
    r
}

/// Downloads one path (retrying once in 1-RTT if its 0-RTT attempt was rejected) and saves it.
async fn save_one(
    conn: &Connection,
    path: &str,
    out: &Path,
    trigger: Option<&Trigger>,
) -> Result<(), String> {
    let name = Path::new(path)
        .file_name()
        .ok_or_else(|| format!("{path}: no file name"))?
        .to_owned();
    let body = match fetch(conn, path, trigger).await {
        Err(DlError::ZeroRttRejected) => fetch(conn, path, trigger).await,
        r => r,
    }
    .map_err(|e| match e {
        DlError::ZeroRttRejected => format!("{path}: 0-RTT rejected twice"),
        DlError::Other(s) => format!("{path}: {s}"),
    })?;
    let dest = out.join(name);
    tokio::fs::write(&dest, &body)
        .await
        .map_err(|e| format!("write {}: {e}", dest.display()))?;
    eprintln!("{path}: {} bytes -> {}", body.len(), dest.display());
    Ok(())
}

/// Fetches every path concurrently, one bidirectional stream each.
async fn download_all(
    conn: &Connection,
    paths: &[String],
    out: &Path,
    trigger: Option<Arc<Trigger>>,
    pending: &Pending,
) -> Result<(), String> {
    let mut set = JoinSet::new();
    for p in paths {
        set.spawn(download(
            conn.clone(),
            p.clone(),
            out.to_path_buf(),
            trigger.clone(),
            pending.clone(),
        ));
    }
    let mut errors = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("task: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Where the client is, so a timeout can say what never completed.
struct Progress {
    /// Current phase ("handshake 1", "transfer", ...).
    stage: Mutex<&'static str>,
    /// Paths not yet saved; the value is the error once one failed.
    paths: Mutex<BTreeMap<String, Option<String>>>,
}

impl Progress {
    fn stage(&self, s: &'static str) {
        *self.stage.lock().unwrap() = s;
    }
}

type Pending = Arc<Progress>;

async fn client_main(o: Opts) -> ExitCode {
    let limit = Duration::from_secs(o.timeout.unwrap_or(120));
    let pending: Pending = Arc::new(Progress {
        stage: Mutex::new("setup"),
        paths: Mutex::new(o.common.paths.iter().map(|p| (p.clone(), None)).collect()),
    });
    let result = match tokio::time::timeout(limit, run_client(o, pending.clone())).await {
        Ok(r) => r,
        Err(_) => {
            let left: Vec<String> = pending
                .paths
                .lock()
                .unwrap()
                .iter()
                .map(|(p, e)| match e {
                    Some(e) => e.clone(),
                    None => format!("{p}: incomplete"),
                })
                .collect();
            let stage = *pending.stage.lock().unwrap();
            Err(format!(
                "timeout after {}s during {stage}; {}",
                limit.as_secs(),
                left.join("; ")
            ))
        }
    };
    exit(result)
}

async fn run_client(o: Opts, pending: Pending) -> Result<(), String> {
    let host = need(&o.common.host, "--host")?;
    let port = need(&o.common.port, "--port")?;
    let ca = need(&o.common.ca, "--ca")?;
    let server_name = o.common.server_name.clone().unwrap_or_else(|| host.clone());
    let out = need(&o.common.out, "--out")?;
    let paths = &o.common.paths;
    if paths.is_empty() {
        return Err("no PATH given".into());
    }
    tokio::fs::create_dir_all(&out)
        .await
        .map_err(|e| format!("--out {}: {e}", out.display()))?;

    let roots = load_roots(&ca)?;
    let events = Arc::new(TlsEvents::default());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("verifier: {e}"))?;
    let mut tls = client_tls()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(CountingVerifier {
            inner: webpki,
            events: events.clone(),
        }))
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.enable_early_data = o.zero_rtt;
    tls.resumption = Resumption::store(Arc::new(CountingStore {
        inner: ClientSessionMemoryCache::new(32),
        events: events.clone(),
    }));
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| format!("quic tls: {e}"))?;
    // One ClientConfig for both connections, so the second finds the first's ticket.
    let config = quinn::ClientConfig::new(Arc::new(crypto));

    let remote = resolve(&host, port).await?;
    let endpoint = client_endpoint(remote)?;
    let connect = || {
        endpoint
            .connect_with(config.clone(), remote, &server_name)
            .map_err(|e| format!("connect: {e}"))
    };

    let two_connections = o.resume || o.zero_rtt;
    let mut rest: &[String] = paths;
    if two_connections {
        pending.stage("handshake 1");
        let first = connect()?.await.map_err(|e| format!("handshake 1: {e}"))?;
        pending.stage("transfer 1");
        download_all(&first, &paths[..1], &out, None, &pending).await?;
        // Tickets normally ride with the first flight after the handshake; give a slow
        // one a moment rather than resuming with nothing.
        for _ in 0..40 {
            if events.tickets.load(Ordering::SeqCst) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if events.tickets.load(Ordering::SeqCst) == 0 {
            eprintln!("no session ticket received on connection 1");
        }
        first.close(VarInt::from_u32(0), b"done");
        rest = &paths[1..];
    }

    pending.stage("handshake");
    let before = events.verifications.load(Ordering::SeqCst);
    let connecting = connect()?;
    let (conn, early) = if o.zero_rtt {
        match connecting.into_0rtt() {
            Ok((conn, accepted)) => (conn, Some(accepted)),
            Err(connecting) => {
                // No ticket allowing early data: the server never offered 0-RTT.
                eprintln!("0-RTT not possible: no early-data ticket");
                println!("ZERO_RTT rejected");
                let conn = connecting.await.map_err(|e| format!("handshake: {e}"))?;
                (conn, None)
            }
        }
    } else {
        (
            connecting.await.map_err(|e| format!("handshake: {e}"))?,
            None,
        )
    };

    let trigger = (o.migrate || o.key_update).then(|| {
        Arc::new(Trigger {
            fired: AtomicBool::new(false),
            conn: conn.clone(),
            endpoint: endpoint.clone(),
            migrate: o.migrate,
            key_update: o.key_update,
            migrated: Mutex::new(None),
        })
    });

    pending.stage("transfer");
    // Requests go out now: as 0-RTT data when `early` is set, before the handshake is done.
    let transfer = download_all(&conn, rest, &out, trigger.clone(), &pending);
    let report = async {
        if let Some(accepted) = early {
            let ok = accepted.await;
            println!("ZERO_RTT {}", if ok { "accepted" } else { "rejected" });
        }
        if two_connections {
            // Handshake is complete here (awaited above, or `accepted` resolved).
            let resumed = events.verifications.load(Ordering::SeqCst) == before;
            println!("RESUMED {resumed}");
        }
    };
    let (result, ()) = tokio::join!(transfer, report);

    if let Some(t) = &trigger {
        if o.migrate {
            let moved = t.migrated.lock().unwrap().is_some() && result.is_ok();
            println!("MIGRATED {moved}");
        }
        if o.key_update && !t.fired.load(Ordering::SeqCst) {
            eprintln!("key update not initiated: no response bytes");
        }
    }
    conn.close(VarInt::from_u32(0), b"done");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    result
}
