//! The benchmark server: one UDP socket, any number of connections, one
//! thread. Each scenario only changes what is done with stream data:
//!
//! - bulk: discard, and answer a stream's FIN with one byte and FIN;
//! - rr: echo every byte back, FIN included;
//! - dgram: count DATAGRAM frames, and answer a stream's FIN with the count;
//! - handshake: nothing beyond the handshake itself;
//! - mixed: echo a stream that ends within `PROBE_LIMIT` bytes (a probe), and
//!   discard a longer one (an upload), answering its FIN, if any, like bulk.
//!
//! It serves until stdin reaches EOF (the orchestrator closing the pipe or
//! dying), SIGTERM/SIGINT, or `--timeout` seconds, then prints its peak RSS.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use serde_json::json;

use crate::net::{self, Socket, RECV_BUF_LEN};
use crate::{emit, make_config, Args, BoxResult, Scenario, MAX_UDP_PAYLOAD};

const SOCKET: Token = Token(0);
const STOP: Token = Token(1);

pub fn run(args: &Args) -> BoxResult<()> {
    let scenario = args.scenario()?;
    let port: u16 = args.require_num("port")?;
    let timeout: u64 = args.num("timeout", 300)?;
    // The server reacts per stream, so it needs no stream count; the option
    // is accepted so that the orchestrator can pass one command line shape.
    let _streams: u64 = args.num("streams", 1)?;
    let config = make_config(scenario, true, args)?;

    let mut poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), STOP)?);
    watch_for_stop(waker)?;

    let mut sock = Socket::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    sock.register(poll.registry(), SOCKET)?;
    emit(&json!({
        "ready": true,
        "port": sock.local_addr().port(),
        "pid": std::process::id(),
    }));

    let mut server = Server {
        scenario,
        config,
        sock,
        conns: HashMap::new(),
        routes: HashMap::new(),
        next_key: 0,
        accepted: 0,
        buf: vec![0; RECV_BUF_LEN],
        out: vec![0; MAX_UDP_PAYLOAD],
    };
    server.serve(&mut poll, Instant::now() + Duration::from_secs(timeout))?;

    emit(&json!({
        "server": { "rssKb": peak_rss_kb(), "connections": server.accepted }
    }));
    Ok(())
}

/// Wakes the event loop when the orchestrator wants the server gone.
///
/// SIGTERM and SIGINT are blocked before any thread exists, so every thread
/// inherits the mask and the only taker is the `sigwait` thread: the default
/// action (dying without the summary line) can never run, and no code runs
/// in signal-handler context.
fn watch_for_stop(waker: Arc<Waker>) -> io::Result<()> {
    // SAFETY: plain libc calls on a local, zero-initialised sigset_t.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        set
    };

    let on_signal = waker.clone();
    thread::spawn(move || {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is a valid sigset_t owned by this closure.
        unsafe { libc::sigwait(&set, &mut sig) };
        let _ = on_signal.wake();
    });

    thread::spawn(move || {
        let mut stdin = io::stdin();
        let mut sink = [0u8; 512];
        loop {
            match stdin.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = waker.wake();
    });
    Ok(())
}

/// Replies that quiche has not taken yet (stream flow control or a full
/// send buffer); retried after every receive batch.
#[derive(Default)]
struct Outgoing {
    data: Vec<u8>,
    fin: bool,
}

/// Same value as PROBE_LIMIT in the JS peers (protocol.ts): the one rule
/// that tells a probe from an upload in `mixed`.
const PROBE_LIMIT: u64 = 64;

/// What `mixed` has seen of one stream so far.
#[derive(Default)]
struct Incoming {
    bytes: u64,
    /// The data, while the stream may still be a probe.
    kept: Vec<u8>,
}

struct Conn {
    conn: quiche::Connection,
    /// Every routing key of this connection: our source CID, and the
    /// client's original destination CID, which its retransmitted Initials
    /// carry until it has heard from us.
    ids: Vec<Vec<u8>>,
    outgoing: HashMap<u64, Outgoing>,
    incoming: HashMap<u64, Incoming>,
    dgrams: u64,
}

struct Server {
    scenario: Scenario,
    config: quiche::Config,
    sock: Socket,
    conns: HashMap<u64, Conn>,
    /// Connection ID bytes to the key of `conns`.
    routes: HashMap<Vec<u8>, u64>,
    next_key: u64,
    accepted: u64,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl Server {
    fn serve(&mut self, poll: &mut Poll, deadline: Instant) -> BoxResult<()> {
        let mut events = Events::with_capacity(64);
        loop {
            let wait = net::poll_wait(deadline, self.conns.values().map(|c| c.conn.timeout()));
            net::poll_events(poll, &mut events, wait)?;
            if events.iter().any(|e| e.token() == STOP) || Instant::now() >= deadline {
                return Ok(());
            }

            self.receive()?;

            for c in self.conns.values_mut() {
                net::fire_timers(&mut c.conn);
                serve_streams(c, self.scenario, &mut self.buf);
                if let Err(e) = net::flush(&mut c.conn, &mut self.sock, &mut self.out) {
                    eprintln!("quiche-bench server: {e}");
                    let _ = c.conn.close(false, 0x1, b"send failed");
                }
            }

            self.reap();
        }
    }

    /// Reads the socket dry, routing each datagram to its connection.
    fn receive(&mut self) -> BoxResult<()> {
        loop {
            let (len, from) = match self.sock.recv_from(&mut self.buf) {
                Ok(Some(v)) => v,
                Ok(None) => return Ok(()),
                // One client's trouble (an ICMP error, say) must not end
                // the server for all the others.
                Err(e) => {
                    eprintln!("quiche-bench server: recv: {e}");
                    return Ok(());
                }
            };
            let pkt = &mut self.buf[..len];
            let hdr = match quiche::Header::from_slice(pkt, quiche::MAX_CONN_ID_LEN) {
                Ok(h) => h,
                Err(_) => continue,
            };

            let key = match self.routes.get(&hdr.dcid[..]) {
                Some(&k) => k,
                None => match self.accept(&hdr, from)? {
                    Some(k) => k,
                    None => continue,
                },
            };

            let c = self
                .conns
                .get_mut(&key)
                .expect("routes point at live connections");
            let info = quiche::RecvInfo {
                from,
                to: self.sock.local_addr(),
            };
            // Errors close the connection inside quiche when they are fatal;
            // otherwise the packet was just dropped. Either way, carry on.
            let _ = c.conn.recv(&mut self.buf[..len], info);

            // Count DATAGRAMs as they land rather than after the batch, so
            // that a long batch cannot overflow quiche's receive queue: loss
            // must mean the network lost them, not this loop.
            if self.scenario == Scenario::Dgram {
                while c.conn.dgram_recv(&mut self.out).is_ok() {
                    c.dgrams += 1;
                }
            }
        }
    }

    /// Creates a connection for a new client's Initial. Anything else that
    /// matches no connection is a straggler of one already reaped.
    fn accept(&mut self, hdr: &quiche::Header, from: SocketAddr) -> BoxResult<Option<u64>> {
        if hdr.ty != quiche::Type::Initial {
            return Ok(None);
        }
        if !quiche::version_is_supported(hdr.version) {
            let len = quiche::negotiate_version(&hdr.scid, &hdr.dcid, &mut self.out)?;
            if let Err(e) = self.sock.send_stateless(&self.out[..len], from) {
                eprintln!("quiche-bench server: version negotiation: {e}");
            }
            return Ok(None);
        }

        let scid = net::new_cid();
        let conn = match quiche::accept(&scid, None, self.sock.local_addr(), from, &mut self.config)
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("quiche-bench server: accept: {e}");
                return Ok(None);
            }
        };

        let key = self.next_key;
        self.next_key += 1;
        self.accepted += 1;
        let ids = vec![scid.to_vec(), hdr.dcid.to_vec()];
        for id in &ids {
            self.routes.insert(id.clone(), key);
        }
        self.conns.insert(
            key,
            Conn {
                conn,
                ids,
                outgoing: HashMap::new(),
                incoming: HashMap::new(),
                dgrams: 0,
            },
        );
        Ok(Some(key))
    }

    /// Forgets connections quiche has finished with (closed, drained or
    /// timed out).
    fn reap(&mut self) {
        let routes = &mut self.routes;
        self.conns.retain(|_, c| {
            if !c.conn.is_closed() {
                return true;
            }
            for id in &c.ids {
                routes.remove(id);
            }
            false
        });
    }
}

/// Applies the scenario to whatever stream data arrived, then pushes any
/// pending replies into quiche.
fn serve_streams(c: &mut Conn, scenario: Scenario, buf: &mut [u8]) {
    for id in c.conn.readable() {
        // Done means drained for now; any other error (a reset stream) ends
        // this stream's story, and quiche has already accounted for it.
        while let Ok((len, fin)) = c.conn.stream_recv(id, buf) {
            match scenario {
                Scenario::Rr => queue(&mut c.outgoing, id, &buf[..len], fin),
                Scenario::Bulk | Scenario::Handshake if fin => {
                    queue(&mut c.outgoing, id, b"x", true)
                }
                Scenario::Dgram if fin => {
                    queue(&mut c.outgoing, id, c.dgrams.to_string().as_bytes(), true)
                }
                Scenario::Mixed => {
                    let s = c.incoming.entry(id).or_default();
                    s.bytes += len as u64;
                    if s.bytes <= PROBE_LIMIT {
                        s.kept.extend_from_slice(&buf[..len]);
                    } else if !s.kept.is_empty() {
                        s.kept = Vec::new();
                    }
                    if fin {
                        let s = c.incoming.remove(&id).unwrap_or_default();
                        let reply: &[u8] = if s.bytes <= PROBE_LIMIT {
                            &s.kept
                        } else {
                            b"x"
                        };
                        queue(&mut c.outgoing, id, reply, true);
                    }
                }
                _ => {}
            }
            if fin {
                break;
            }
        }
    }

    let conn = &mut c.conn;
    c.outgoing
        .retain(|&id, o| match conn.stream_send(id, &o.data, o.fin) {
            Ok(n) if n == o.data.len() => false,
            Ok(n) => {
                o.data.drain(..n);
                true
            }
            Err(quiche::Error::Done) => true,
            // The peer reset or stopped the stream: nobody wants the reply.
            Err(_) => false,
        });
}

fn queue(outgoing: &mut HashMap<u64, Outgoing>, id: u64, bytes: &[u8], fin: bool) {
    let o = outgoing.entry(id).or_default();
    o.data.extend_from_slice(bytes);
    o.fin |= fin;
}

/// Peak resident set size in KiB (VmHWM), falling back to the current RSS.
/// Linux only, like the rest of the benchmark.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    field("VmHWM:").or_else(|| field("VmRSS:"))
}
