//! The HTTP/3 side of the driver (`h3-server`, `h3-client`), on the `h3` and `h3-quinn`
//! crates over the same quinn as the hq-interop side. Contract: "HTTP/3" in
//! `test/interop/README.md`.
//!
//! ```text
//! quinn-peer h3-server --host H --port P --cert C --key K --root DIR [--timeout S]
//! quinn-peer h3-client --host H --port P --ca CA --server-name N --out DIR [--timeout S]
//!                      [--post FILE] [--cancel] PATH...
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use h3::error::Code;
use quinn::crypto::rustls::QuicClientConfig;
use quinn::VarInt;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{
    client_endpoint, client_tls, exit, load_roots, map_path, need, parse_common, resolve,
    server_endpoint, server_tls, value, CommonOpts,
};

const ALPN: &[u8] = b"h3";
/// H3_NO_ERROR, for closing a connection that is done.
const H3_NO_ERROR: u32 = 0x100;
/// How long a SIGTERM'd server waits for its requests in flight after GOAWAY.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);
const CHUNK: usize = 64 * 1024;

/// `data` in DATA-frame sized pieces (views, no copies).
fn chunks(data: &Bytes) -> impl Iterator<Item = Bytes> + '_ {
    (0..data.len())
        .step_by(CHUNK)
        .map(move |off| data.slice(off..(off + CHUNK).min(data.len())))
}

#[derive(Default)]
struct H3Opts {
    common: CommonOpts,
    timeout: Option<f64>,
    post: Option<PathBuf>,
    cancel: bool,
}

fn parse(args: &[String]) -> Result<H3Opts, String> {
    let mut o = H3Opts::default();
    o.common = parse_common(args, |a, it| {
        match a {
            "--timeout" => o.timeout = Some(value(it, a)?.parse().map_err(|_| "bad --timeout")?),
            "--post" => o.post = Some(value(it, a)?.into()),
            "--cancel" => o.cancel = true,
            "--h3" => {}
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(o)
}

fn limit(o: &H3Opts) -> Duration {
    Duration::from_secs_f64(o.timeout.unwrap_or(120.0).max(0.1))
}

pub async fn h3_main(mode: &str, args: &[String]) -> ExitCode {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => return exit(Err(e)),
    };
    if mode == "h3-server" {
        return exit(run_server(o).await);
    }
    let l = limit(&o);
    exit(match tokio::time::timeout(l, run_client(o)).await {
        Ok(r) => r,
        Err(_) => Err(format!("timeout after {}s", l.as_secs_f64())),
    })
}

// ---------------------------------------------------------------- server

type ServerConn = h3::server::Connection<h3_quinn::Connection, Bytes>;
type ServerStream = h3::server::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

async fn run_server(o: H3Opts) -> Result<(), String> {
    let host = need(&o.common.host, "--host")?;
    let port = need(&o.common.port, "--port")?;
    let cert = need(&o.common.cert, "--cert")?;
    let key = need(&o.common.key, "--key")?;
    let root = need(&o.common.root, "--root")?;
    let root = Arc::new(
        root.canonicalize()
            .map_err(|e| format!("--root {}: {e}", root.display()))?,
    );
    let tls = server_tls(&cert, &key, ALPN)?;
    let endpoint = server_endpoint(tls, &host, port, "h3-server", &root).await?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("signal: {e}"))?;
    let deadline = tokio::time::sleep(limit(&o));
    tokio::pin!(deadline);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let graceful = loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break false };
                conns.spawn(serve_connection(incoming, root.clone(), stop_rx.clone()));
            }
            _ = term.recv() => break true,
            _ = tokio::signal::ctrl_c() => break true,
            _ = &mut deadline => {
                eprintln!("h3-server: --timeout reached");
                break false;
            }
        }
    };
    if graceful {
        // Every connection sends GOAWAY and finishes the requests it accepted.
        println!("GOAWAY sent");
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while conns.join_next().await.is_some() {}
        });
        if drained.await.is_err() {
            eprintln!("h3-server: requests still running after the grace period");
        }
    }
    endpoint.close(VarInt::from_u32(H3_NO_ERROR), b"server shutdown");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    Ok(())
}

async fn serve_connection(
    incoming: quinn::Incoming,
    root: Arc<PathBuf>,
    mut stop: watch::Receiver<bool>,
) {
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("h3-server: handshake: {e}");
            return;
        }
    };
    let quic = conn.clone();
    let mut h3: ServerConn =
        match h3::server::Connection::new(h3_quinn::Connection::new(conn)).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("h3-server: h3 setup: {e}");
                return;
            }
        };
    let mut requests = JoinSet::new();
    let mut stopping = *stop.borrow();
    loop {
        tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => {
                    let root = root.clone();
                    requests.spawn(async move {
                        match resolver.resolve_request().await {
                            Ok((req, stream)) => serve_request(req, stream, &root).await,
                            Err(e) => eprintln!("h3-server: request: {e}"),
                        }
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    if !e.is_h3_no_error() {
                        eprintln!("h3-server: connection: {e}");
                    }
                    break;
                }
            },
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    // The GOAWAY lets every request accepted so far through (h3 counts from the
                    // last accepted stream: +1 is the first it refuses).
                    if let Err(e) = h3.shutdown(1).await {
                        eprintln!("h3-server: GOAWAY: {e}");
                    }
                    break;
                }
            }
        }
    }
    while requests.join_next().await.is_some() {}
    if stopping {
        // The responses are queued, not yet delivered: the client closes once it has them all.
        // Close for it only if it does not within the grace period.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, quic.closed()).await;
        quic.close(VarInt::from_u32(H3_NO_ERROR), b"shutdown");
    }
}

async fn serve_request(req: http::Request<()>, mut stream: ServerStream, root: &Path) {
    let path = req.uri().path().to_string();
    let result = if req.method() == http::Method::POST && path == "/echo" {
        echo(&mut stream).await
    } else if req.method() == http::Method::GET {
        match map_path(root, &path) {
            Some(file) => send_file(&mut stream, &file).await,
            None => respond_empty(&mut stream, http::StatusCode::NOT_FOUND).await,
        }
    } else {
        respond_empty(&mut stream, http::StatusCode::METHOD_NOT_ALLOWED).await
    };
    if let Err(e) = result {
        eprintln!("h3-server: {} {path}: {e}", req.method());
    }
}

async fn respond_empty(stream: &mut ServerStream, status: http::StatusCode) -> Result<(), String> {
    let rsp = http::Response::builder()
        .status(status)
        .header("content-length", "0")
        .body(())
        .map_err(|e| e.to_string())?;
    stream.send_response(rsp).await.map_err(|e| e.to_string())?;
    stream.finish().await.map_err(|e| e.to_string())
}

async fn send_file(stream: &mut ServerStream, file: &Path) -> Result<(), String> {
    let data = match tokio::fs::read(file).await {
        Ok(d) => Bytes::from(d),
        Err(_) => return respond_empty(stream, http::StatusCode::NOT_FOUND).await,
    };
    let rsp = http::Response::builder()
        .status(http::StatusCode::OK)
        .header("content-length", data.len().to_string())
        .header("content-type", "application/octet-stream")
        .body(())
        .map_err(|e| e.to_string())?;
    stream.send_response(rsp).await.map_err(|e| e.to_string())?;
    for chunk in chunks(&data) {
        stream.send_data(chunk).await.map_err(|e| e.to_string())?;
    }
    stream.finish().await.map_err(|e| e.to_string())
}

/// Streams the request body back as it arrives (no content-length: DATA frames until FIN).
async fn echo(stream: &mut ServerStream) -> Result<(), String> {
    let rsp = http::Response::builder()
        .status(http::StatusCode::OK)
        .header("content-type", "application/octet-stream")
        .body(())
        .map_err(|e| e.to_string())?;
    stream.send_response(rsp).await.map_err(|e| e.to_string())?;
    while let Some(mut chunk) = stream.recv_data().await.map_err(|e| e.to_string())? {
        let bytes = chunk.copy_to_bytes(chunk.remaining());
        stream.send_data(bytes).await.map_err(|e| e.to_string())?;
    }
    stream.finish().await.map_err(|e| e.to_string())
}

// ---------------------------------------------------------------- client

type Sender = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

async fn run_client(o: H3Opts) -> Result<(), String> {
    let host = need(&o.common.host, "--host")?;
    let port = need(&o.common.port, "--port")?;
    let ca = need(&o.common.ca, "--ca")?;
    let server_name = o
        .common
        .server_name
        .clone()
        .unwrap_or_else(|| "localhost".into());
    let out = need(&o.common.out, "--out")?;
    if o.common.paths.is_empty() && o.post.is_none() {
        return Err("no PATH and no --post given".into());
    }
    if o.cancel && o.common.paths.is_empty() {
        return Err("--cancel needs a PATH".into());
    }
    tokio::fs::create_dir_all(&out)
        .await
        .map_err(|e| format!("--out {}: {e}", out.display()))?;
    let roots = load_roots(&ca)?;
    let mut tls = client_tls()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| format!("quic tls: {e}"))?;
    let config = quinn::ClientConfig::new(Arc::new(crypto));
    let remote = resolve(&host, port).await?;
    let endpoint = client_endpoint(remote)?;
    let conn = endpoint
        .connect_with(config, remote, &server_name)
        .map_err(|e| format!("connect: {e}"))?
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut driver, sender) = h3::client::new(h3_quinn::Connection::new(conn.clone()))
        .await
        .map_err(|e| format!("h3 setup: {e}"))?;
    let drive = tokio::spawn(async move {
        let e = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
        if !e.is_h3_no_error() {
            eprintln!("h3-client: connection: {e}");
        }
    });
    let authority = format!("{server_name}:{port}");
    let mut paths: &[String] = &o.common.paths;
    if o.cancel {
        let cancelled = cancel_one(sender.clone(), &authority, &paths[0]).await?;
        println!("CANCELLED {cancelled}");
        paths = &paths[1..];
    }
    let mut tasks = JoinSet::new();
    for p in paths {
        let (sender, authority, p, out) =
            (sender.clone(), authority.clone(), p.clone(), out.clone());
        tasks.spawn(async move { get(sender, &authority, &p, &out).await });
    }
    if let Some(file) = o.post.clone() {
        let (sender, authority, out) = (sender.clone(), authority.clone(), out.clone());
        tasks.spawn(async move { post(sender, &authority, &file, &out).await });
    }
    let total = tasks.len();
    let mut errors = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("task: {e}")),
        }
    }
    drop(sender);
    conn.close(VarInt::from_u32(H3_NO_ERROR), b"done");
    drive.abort();
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    if let Some(first) = errors.first() {
        return Err(format!(
            "{} of {total} requests failed, first: {first}",
            errors.len()
        ));
    }
    Ok(())
}

fn request(method: http::Method, authority: &str, path: &str) -> Result<http::Request<()>, String> {
    http::Request::builder()
        .method(method)
        .uri(format!("https://{authority}{path}"))
        .body(())
        .map_err(|e| e.to_string())
}

/// Sends a GET of `path` (request side finished at once); errors are prefixed with `what`.
async fn send_get(
    sender: &mut Sender,
    authority: &str,
    path: &str,
    what: &str,
) -> Result<h3::client::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>, String> {
    let mut stream = sender
        .send_request(request(http::Method::GET, authority, path)?)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    stream.finish().await.map_err(|e| format!("{what}: {e}"))?;
    Ok(stream)
}

fn base_name(p: &str) -> String {
    let p = p.split('?').next().unwrap_or(p);
    match p.rsplit('/').next() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => "index.html".into(),
    }
}

/// The response head, which must be a 200; errors are prefixed with `what`.
async fn recv_ok<S: h3::quic::RecvStream>(
    stream: &mut h3::client::RequestStream<S, Bytes>,
    what: &str,
) -> Result<http::Response<()>, String> {
    let rsp = stream
        .recv_response()
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    if rsp.status() != http::StatusCode::OK {
        return Err(format!("{what}: status {}", rsp.status()));
    }
    Ok(rsp)
}

/// Reads a 200 response's body into `file` (removed again on any failure).
async fn save<S: h3::quic::RecvStream>(
    stream: &mut h3::client::RequestStream<S, Bytes>,
    what: &str,
    file: &Path,
) -> Result<(), String> {
    let rsp = recv_ok(stream, what).await?;
    let expected = rsp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let result = async {
        let mut f = tokio::fs::File::create(file)
            .await
            .map_err(|e| e.to_string())?;
        let mut n = 0u64;
        while let Some(mut chunk) = stream.recv_data().await.map_err(|e| e.to_string())? {
            while chunk.has_remaining() {
                let part = chunk.chunk();
                f.write_all(part).await.map_err(|e| e.to_string())?;
                n += part.len() as u64;
                let len = part.len();
                chunk.advance(len);
            }
        }
        f.flush().await.map_err(|e| e.to_string())?;
        match expected {
            Some(want) if want != n => Err(format!("{n} of {want} bytes")),
            _ => Ok(()),
        }
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(file).await;
        return Err(format!("{what}: {e}"));
    }
    Ok(())
}

async fn get(mut sender: Sender, authority: &str, path: &str, out: &Path) -> Result<(), String> {
    let what = format!("GET {path}");
    let mut stream = send_get(&mut sender, authority, path, &what).await?;
    save(&mut stream, &what, &out.join(base_name(path))).await
}

async fn post(mut sender: Sender, authority: &str, file: &Path, out: &Path) -> Result<(), String> {
    let what = "POST /echo".to_string();
    let data = Bytes::from(
        tokio::fs::read(file)
            .await
            .map_err(|e| format!("--post {}: {e}", file.display()))?,
    );
    let mut req = request(http::Method::POST, authority, "/echo")?;
    req.headers_mut()
        .insert("content-length", http::HeaderValue::from(data.len() as u64));
    let stream = sender
        .send_request(req)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    // Upload and download at once: the echo starts before the upload ends.
    let (mut send, mut recv) = stream.split();
    let upload = async {
        for chunk in chunks(&data) {
            send.send_data(chunk)
                .await
                .map_err(|e| format!("{what}: upload: {e}"))?;
        }
        send.finish()
            .await
            .map_err(|e| format!("{what}: upload: {e}"))
    };
    let file = out.join("echo");
    let (up, down) = tokio::join!(upload, save(&mut recv, &what, &file));
    up.and(down)
}

/// Starts a GET, reads its first body bytes, then abandons it: STOP_SENDING with
/// H3_REQUEST_CANCELLED (our request side is already finished).
async fn cancel_one(mut sender: Sender, authority: &str, path: &str) -> Result<bool, String> {
    let what = format!("GET {path} (to cancel)");
    let mut stream = send_get(&mut sender, authority, path, &what).await?;
    recv_ok(&mut stream, &what).await?;
    match stream.recv_data().await {
        Ok(Some(chunk)) if chunk.has_remaining() => {}
        Ok(_) => return Err(format!("{what}: the body ended before any byte")),
        Err(e) => return Err(format!("{what}: {e}")),
    }
    // h3-quinn 0.0.10's RecvStream::stop_sending unwraps a stream it lends to a pending read, and
    // h3 often leaves one pending (it reads ahead): it then panics. Fall back to dropping the
    // stream, which makes quinn send STOP_SENDING itself (with code 0).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stream.stop_sending(Code::H3_REQUEST_CANCELLED)
    }))
    .is_ok();
    std::panic::set_hook(hook);
    drop(stream);
    eprintln!(
        "h3-client: cancelled {path} after its first bytes ({})",
        if stopped {
            "STOP_SENDING H3_REQUEST_CANCELLED"
        } else {
            "read pending: stream dropped, STOP_SENDING 0"
        }
    );
    Ok(true)
}
