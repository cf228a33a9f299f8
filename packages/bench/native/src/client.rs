//! The benchmark client: runs one scenario against the server and reports
//! one `{"result": ...}` line. Clocks start at the first byte (or datagram)
//! handed to quiche, never before the handshake, so that bulk, rr and dgram
//! measure the established connection only; the handshake scenario measures
//! the handshakes themselves.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use serde_json::{json, Value};

use crate::link::{Fleet, Link};
use crate::net::{self, Socket, RECV_BUF_LEN};
use crate::{emit, make_config, Args, BoxResult, Scenario, MAX_UDP_PAYLOAD};

/// Any name will do: the client does not verify the certificate, but quiche
/// sends it as SNI like a real client would.
pub(crate) const SERVER_NAME: &str = "localhost";

pub fn run(args: &Args) -> BoxResult<()> {
    let scenario = args.scenario()?;
    let port: u16 = args.require_num("port")?;
    let timeout: u64 = args.num("timeout", 300)?;
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let mut config = make_config(scenario, false, args)?;
    let deadline = Instant::now() + Duration::from_secs(timeout);

    let result = match scenario {
        Scenario::Bulk => bulk(args, &mut config, server, deadline)?,
        Scenario::Rr => rr(args, &mut config, server, deadline)?,
        Scenario::Handshake => handshake(args, &mut config, server, deadline)?,
        Scenario::Dgram => dgram(args, &mut config, server, deadline)?,
        Scenario::Mixed if args.flag("probe") => {
            crate::mixed::probe(args, &mut config, server, deadline)?
        }
        Scenario::Mixed => crate::mixed::upload(args, &mut config, server, deadline)?,
    };
    emit(&json!({ "result": result }));
    Ok(())
}

/// One client connection on its own socket and poll: the event loop of the
/// single-connection scenarios.
pub(crate) struct Client {
    pub(crate) conn: quiche::Connection,
    sock: Socket,
    poll: Poll,
    events: Events,
    pub(crate) buf: Vec<u8>,
    out: Vec<u8>,
    deadline: Instant,
}

impl Client {
    pub(crate) fn connect(
        config: &mut quiche::Config,
        server: SocketAddr,
        deadline: Instant,
    ) -> BoxResult<Client> {
        let poll = Poll::new()?;
        let Link { conn, sock } = Link::dial(poll.registry(), Token(0), config, server)?;
        Ok(Client {
            conn,
            sock,
            poll,
            events: Events::with_capacity(8),
            buf: vec![0; RECV_BUF_LEN],
            out: vec![0; MAX_UDP_PAYLOAD],
            deadline,
        })
    }

    fn flush(&mut self) -> BoxResult<()> {
        net::flush(&mut self.conn, &mut self.sock, &mut self.out)
    }

    /// Waits for packets or quiche's next timer (or not at all, with
    /// `block == false`), feeds what arrived to quiche and runs due timers.
    fn wait(&mut self, block: bool) -> BoxResult<()> {
        let wait = if block {
            net::poll_wait(self.deadline, [self.conn.timeout()])
        } else {
            Duration::ZERO
        };
        net::poll_events(&mut self.poll, &mut self.events, wait)?;
        if Instant::now() >= self.deadline {
            return Err("timed out (see --timeout)".into());
        }
        net::recv_all(&mut self.conn, &self.sock, &mut self.buf)?;
        net::fire_timers(&mut self.conn);
        check_alive(&self.conn)
    }

    /// One turn of the plain event loop: send everything quiche has, then
    /// block until something happens.
    pub(crate) fn turn(&mut self) -> BoxResult<()> {
        self.flush()?;
        check_alive(&self.conn)?;
        self.wait(true)
    }

    fn establish(&mut self) -> BoxResult<()> {
        while !self.conn.is_established() {
            self.turn()?;
        }
        Ok(())
    }

    /// Says goodbye so that the server can free the connection at once
    /// rather than after the idle timeout. The draining period is not waited
    /// for: the measurement is over.
    pub(crate) fn close(mut self) {
        net::goodbye(&mut self.conn, &mut self.sock, &mut self.out);
    }

    /// Reads stream `id` for as long as it has data, handing each piece and
    /// whether it ends the stream to `on_data`; stops after the FIN.
    pub(crate) fn read_stream(
        &mut self,
        id: u64,
        mut on_data: impl FnMut(&[u8], bool),
    ) -> BoxResult<()> {
        while self.conn.stream_readable(id) {
            match self.conn.stream_recv(id, &mut self.buf) {
                Ok((n, fin)) => {
                    on_data(&self.buf[..n], fin);
                    if fin {
                        break;
                    }
                }
                Err(quiche::Error::Done) => break,
                Err(e) => return Err(format!("stream {id} recv: {e}").into()),
            }
        }
        Ok(())
    }
}

pub(crate) fn check_alive(conn: &quiche::Connection) -> BoxResult<()> {
    if !conn.is_closed() {
        return Ok(());
    }
    let why = if let Some(e) = conn.peer_error() {
        format!("closed by peer: {e:?}")
    } else if let Some(e) = conn.local_error() {
        format!("closed locally: {e:?}")
    } else if conn.is_timed_out() {
        "idle timeout".to_string()
    } else {
        "closed".to_string()
    };
    Err(format!("connection {why}").into())
}

/// The nth client-initiated bidirectional stream.
fn bidi(n: u64) -> u64 {
    n * 4
}

fn bulk(
    args: &Args,
    config: &mut quiche::Config,
    server: SocketAddr,
    deadline: Instant,
) -> BoxResult<Value> {
    let total: u64 = args.require_num("bytes")?;
    let count: u64 = args.num("streams", 1)?;
    if count == 0 {
        return Err("--streams must be at least 1".into());
    }

    struct Upload {
        id: u64,
        left: u64,
        fin_sent: bool,
    }
    // The remainder goes one byte each to the first streams.
    let mut uploads: Vec<Upload> = (0..count)
        .map(|i| Upload {
            id: bidi(i),
            left: total / count + u64::from(i < total % count),
            fin_sent: false,
        })
        .collect();
    // The payload is irrelevant; only its size is measured.
    let chunk = vec![0u8; 64 * 1024];

    let mut c = Client::connect(config, server, deadline)?;
    c.establish()?;

    let start = Instant::now();
    let mut replies = 0;
    let mut first = 0;
    loop {
        // quiche only accepts what the congestion window can send, so this
        // tops the streams up to exactly that. The starting stream rotates so
        // that no stream is always last to get a share.
        for j in 0..uploads.len() {
            let n = uploads.len();
            let u = &mut uploads[(first + j) % n];
            while !u.fin_sent {
                let len = u.left.min(chunk.len() as u64) as usize;
                let fin = len as u64 == u.left;
                match c.conn.stream_send(u.id, &chunk[..len], fin) {
                    Ok(w) => {
                        u.left -= w as u64;
                        if w < len {
                            break;
                        }
                        u.fin_sent = fin;
                    }
                    Err(quiche::Error::Done) => break,
                    Err(e) => return Err(format!("stream {} send: {e}", u.id).into()),
                }
            }
        }
        first += 1;

        for id in c.conn.readable() {
            loop {
                match c.conn.stream_recv(id, &mut c.buf) {
                    Ok((_, true)) => {
                        replies += 1;
                        break;
                    }
                    Ok(_) => {}
                    Err(quiche::Error::Done) => break,
                    Err(e) => return Err(format!("stream {id} recv: {e}").into()),
                }
            }
        }
        if replies == count {
            break;
        }
        c.turn()?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let lost = c.conn.stats().lost;
    c.close();

    Ok(json!({
        "bytes": total,
        "streams": count,
        "seconds": seconds,
        "mbps": total as f64 / 1e6 / seconds,
        "lost": lost,
    }))
}

fn rr(
    args: &Args,
    config: &mut quiche::Config,
    server: SocketAddr,
    deadline: Instant,
) -> BoxResult<Value> {
    const SIZE: usize = 32;
    let count: u64 = args.require_num("count")?;
    if count == 0 {
        return Err("--count must be at least 1".into());
    }
    let new_stream = args.flag("new-stream");
    let request = [0x5a_u8; SIZE];

    let mut c = Client::connect(config, server, deadline)?;
    c.establish()?;

    let mut micros = Vec::with_capacity(count as usize);
    for i in 0..count {
        // Either one long-lived stream with no FIN between messages, or a
        // fresh stream per exchange closed by FIN in both directions.
        let id = if new_stream { bidi(i) } else { 0 };
        let t0 = Instant::now();
        let mut written = 0;
        let mut received = 0;
        let mut fin = !new_stream;
        loop {
            if written < SIZE {
                match c.conn.stream_send(id, &request[written..], new_stream) {
                    Ok(w) => written += w,
                    Err(quiche::Error::Done) => {}
                    Err(e) => return Err(format!("stream {id} send: {e}").into()),
                }
            }
            c.read_stream(id, |data, f| {
                received += data.len();
                fin |= f;
            })?;
            if received >= SIZE && fin {
                break;
            }
            c.turn()?;
        }
        micros.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    c.close();

    micros.sort_by(f64::total_cmp);
    // `count` is at least 1, so there is always a rank.
    let pct = |p: f64| round1(nearest_rank(&micros, p).unwrap());
    Ok(json!({
        "count": count,
        "newStream": new_stream,
        "p50": pct(50.0),
        "p90": pct(90.0),
        "p99": pct(99.0),
        "max": round1(*micros.last().unwrap()),
    }))
}

/// The nearest-rank percentile `p` of `sorted`: always a value that was
/// actually observed. None when there are none.
pub(crate) fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn handshake(
    args: &Args,
    config: &mut quiche::Config,
    server: SocketAddr,
    deadline: Instant,
) -> BoxResult<Value> {
    let count: usize = args.require_num("count")?;
    let concurrency: usize = args.num("concurrency", 1)?;
    if count == 0 || concurrency == 0 {
        return Err("--count and --concurrency must be at least 1".into());
    }
    let concurrency = concurrency.min(count);

    // Each attempt has its own socket (as a fresh client process or a
    // quichex connect() would), registered under its slot's token.
    let mut fleet = Fleet::new(concurrency, concurrency.max(8), deadline)?;
    let (mut started, mut finished) = (0, 0);

    let start = Instant::now();
    while finished < count {
        for i in 0..concurrency {
            if fleet.slots[i].is_none() && started < count {
                fleet.dial(i, config, server)?;
                started += 1;
            }
        }

        let mut freed = false;
        for i in 0..concurrency {
            let Some(a) = fleet.slots[i].as_mut() else {
                continue;
            };
            check_alive(&a.conn)?;
            a.flush(&mut fleet.out)?;
            if a.conn.is_established() {
                // The flush above carried our Finished, so the server
                // completes its side too before it sees the close.
                a.conn.close(true, 0, b"")?;
                a.flush(&mut fleet.out)?;
                fleet.free(i)?;
                finished += 1;
                freed = true;
            }
        }
        // A freed slot starts its next handshake before anything else.
        if freed {
            continue;
        }

        if !fleet.wait()? {
            return Err(format!("timed out after {finished} of {count} handshakes").into());
        }
        fleet.fire_timers();
    }
    let seconds = start.elapsed().as_secs_f64();

    Ok(json!({
        "count": count,
        "concurrency": concurrency,
        "seconds": seconds,
        "perSecond": count as f64 / seconds,
    }))
}

fn dgram(
    args: &Args,
    config: &mut quiche::Config,
    server: SocketAddr,
    deadline: Instant,
) -> BoxResult<Value> {
    let count: u64 = args.require_num("count")?;
    let size: usize = args.require_num("size")?;
    if count == 0 {
        return Err("--count must be at least 1".into());
    }

    let mut c = Client::connect(config, server, deadline)?;
    c.establish()?;
    let max = c
        .conn
        .dgram_max_writable_len()
        .ok_or("the server did not enable DATAGRAM")?;
    if size == 0 || size > max {
        return Err(
            format!("--size must be 1..={max} with a {MAX_UDP_PAYLOAD}-byte UDP payload").into(),
        );
    }
    let payload = vec![0xd6_u8; size];

    let start = Instant::now();
    let mut sent = 0;
    let mut done_sent = false;
    let mut reply = Vec::new();
    loop {
        while sent < count {
            match c.conn.dgram_send(&payload) {
                Ok(()) => sent += 1,
                // The send queue is full: it drains as the congestion window
                // allows.
                Err(quiche::Error::Done) => break,
                Err(e) => return Err(format!("dgram send: {e}").into()),
            }
        }
        // "done" goes out only once every DATAGRAM has left quiche, so it
        // reaches the server after them (loopback keeps order) and its count
        // is final.
        if sent == count && !done_sent && c.conn.dgram_send_queue_len() == 0 {
            c.conn.stream_send(0, b"done", true)?;
            done_sent = true;
        }

        let mut answered = false;
        c.read_stream(0, |data, fin| {
            reply.extend_from_slice(data);
            answered |= fin;
        })?;
        if answered {
            break;
        }

        c.flush()?;
        check_alive(&c.conn)?;
        // If quiche sent the whole queue, the window has room for more:
        // refill at once instead of sleeping until the next ACK.
        let starved = sent < count && c.conn.dgram_send_queue_len() == 0;
        c.wait(!starved)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    c.close();

    let received: u64 = std::str::from_utf8(&reply)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            format!(
                "bad count from the server: {:?}",
                String::from_utf8_lossy(&reply)
            )
        })?;
    Ok(json!({
        "sent": count,
        "size": size,
        "received": received,
        "seconds": seconds,
        "perSecond": received as f64 / seconds,
        "loss": 1.0 - received as f64 / count as f64,
    }))
}
