//! `quiche-bench`: the native quiche ceiling for quichex's benchmarks.
//!
//! The Node orchestrator spawns a server and a client as separate processes on
//! 127.0.0.1 and reads one JSON line from each. Both sides are the plainest
//! possible quiche event loop (one mio poll, one `sendto`/`recvfrom` per
//! datagram, pacing ignored), so that what is measured is quiche itself plus
//! the unavoidable syscalls, which is what the Node library also pays for.
//!
//! ```text
//! quiche-bench server --port 0 --cert C --key K --scenario S [--streams N] [--timeout SECS]
//! quiche-bench client --port P --scenario S [--bytes N] [--streams K] [--count C]
//!                     [--new-stream] [--concurrency K] [--size B] [--timeout SECS]
//! quiche-bench client --port P --scenario mixed --connections K        (uploader)
//! quiche-bench client --port P --scenario mixed --probe [--count N]
//!                     [--interval MS] [--probe-timeout MS]             (prober)
//! ```

mod args;
mod client;
mod link;
mod mixed;
mod net;
mod server;

use std::io::Write;
use std::process::ExitCode;

use serde_json::{json, Value};

pub use args::{Args, Scenario};

/// Boxed errors keep the scenarios short; every failure ends the process with
/// one `{"error": ...}` line anyway.
pub type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The ALPN both sides insist on, so a stray peer fails the handshake loudly.
pub const ALPN: &[u8] = b"quichex-bench";

/// Same value as quichex's default, so neither side gets bigger packets.
pub const MAX_UDP_PAYLOAD: usize = 1350;

/// DATAGRAM queue lengths: quichex's defaults, so "as fast as the send queue
/// allows" means the same thing on both sides of the comparison.
pub const DGRAM_QUEUE_LEN: usize = 1000;

const MIB: u64 = 1024 * 1024;

/// Builds the transport configuration shared by client and server. Flow
/// control is deliberately generous so that the measurements are bounded by
/// congestion control and CPU, never by credit.
pub fn make_config(scenario: Scenario, is_server: bool, args: &Args) -> BoxResult<quiche::Config> {
    let mut cfg = quiche::Config::new(quiche::PROTOCOL_VERSION)?;
    cfg.set_application_protos(&[ALPN])?;
    if is_server {
        let cert = args.require("cert")?;
        let key = args.require("key")?;
        cfg.load_cert_chain_from_pem_file(cert)
            .map_err(|e| format!("loading certificate {cert}: {e}"))?;
        cfg.load_priv_key_from_pem_file(key)
            .map_err(|e| format!("loading private key {key}: {e}"))?;
    }
    // Benchmarks run against a throwaway self-signed certificate.
    cfg.verify_peer(false);
    cfg.set_max_idle_timeout(30_000);
    cfg.set_max_send_udp_payload_size(MAX_UDP_PAYLOAD);
    cfg.set_max_recv_udp_payload_size(MAX_UDP_PAYLOAD);
    cfg.set_initial_max_data(64 * MIB);
    cfg.set_initial_max_stream_data_bidi_local(16 * MIB);
    cfg.set_initial_max_stream_data_bidi_remote(16 * MIB);
    cfg.set_initial_max_stream_data_uni(16 * MIB);
    cfg.set_initial_max_streams_bidi(100_000);
    cfg.set_initial_max_streams_uni(100);
    cfg.set_cc_algorithm(quiche::CongestionControlAlgorithm::CUBIC);
    // Loopback peers never move; this saves the path-validation machinery.
    cfg.set_disable_active_migration(true);
    if scenario == Scenario::Dgram {
        cfg.enable_dgram(true, DGRAM_QUEUE_LEN, DGRAM_QUEUE_LEN);
    }
    Ok(cfg)
}

/// Writes one JSON line and flushes at once: the orchestrator reads stdout
/// line by line and may be waiting on exactly this line.
pub fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

const USAGE: &str = "usage: quiche-bench server --port P --cert C --key K --scenario S [--streams N] [--timeout SECS]\n       quiche-bench client --port P --scenario S [--bytes N] [--streams K] [--count C] [--new-stream] [--concurrency K] [--size B] [--timeout SECS]\n       quiche-bench client --port P --scenario mixed (--connections K | --probe [--count N] [--interval MS] [--probe-timeout MS])\n       scenarios: bulk, rr, handshake, dgram, mixed";

/// Errors starting with this tell the orchestrator that the case does not
/// apply to this harness (exit code 3), rather than that it broke.
pub const NOT_APPLICABLE: &str = "n/a: ";

fn run() -> BoxResult<()> {
    let mut argv = std::env::args().skip(1);
    let role = argv.next().ok_or(USAGE)?;
    let args = Args::parse(argv)?;
    if args.flag("no-pacing") {
        return Err(format!(
            "{NOT_APPLICABLE}the native harness never paces (it sends as soon as quiche has a packet)"
        )
        .into());
    }
    match role.as_str() {
        "server" => server::run(&args),
        "client" => client::run(&args),
        _ => Err(USAGE.into()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string();
            emit(&json!({ "error": text }));
            if text.starts_with(NOT_APPLICABLE) {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
