//! The `mixed` scenario's two clients (see packages/bench/src/scenarios/mixed.ts
//! for how the orchestrator drives them):
//!
//! - the uploader (`--connections K`): K connections on K sockets, one stream
//!   each, kept topped up with data until stdin closes. Each `mark` line on
//!   stdin is answered with `{"mark":{"bytes","seconds"}}`: the bytes quiche
//!   accepted since the previous mark.
//! - the prober (`--probe`): `--count` sequential probes, each a new
//!   connection that sends 32 bytes with FIN and waits for their echo, timed
//!   from the connect call to the last byte of the echo. A probe that takes
//!   longer than `--probe-timeout` ms is a failure; its connection is dropped
//!   and the next probe starts.

use std::io::{self, BufRead};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Token, Waker};
use serde_json::{json, Value};

use crate::client::{check_alive, nearest_rank, Client};
use crate::link::Fleet;
use crate::net;
use crate::{emit, Args, BoxResult};

/// Size of a probe and of its echo (PROBE_SIZE in protocol.ts).
const PROBE_SIZE: usize = 32;
const CHUNK: usize = 64 * 1024;

/// What the stdin thread tells the uploader's event loop.
enum Control {
    Mark,
    Stop,
}

/// Forwards stdin's `mark` lines, and its end, to the event loop.
fn watch_stdin(tx: mpsc::Sender<Control>, waker: Arc<Waker>) {
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "mark" => {
                    let _ = tx.send(Control::Mark);
                    let _ = waker.wake();
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(Control::Stop);
        let _ = waker.wake();
    });
}

pub fn upload(
    args: &Args,
    config: &mut quiche::Config,
    server: SocketAddr,
    deadline: Instant,
) -> BoxResult<Value> {
    let count: usize = args.require_num("connections")?;
    if count == 0 {
        return Err("--connections must be at least 1".into());
    }

    let mut fleet = Fleet::new(count, 64, deadline)?;
    let stdin_token = Token(count);
    let waker = Arc::new(Waker::new(fleet.registry(), stdin_token)?);
    for i in 0..count {
        fleet.dial(i, config, server)?;
    }
    let (tx, rx) = mpsc::channel();
    let chunk = vec![0u8; CHUNK];

    let mut announced = false;
    let mut start = Instant::now();
    let mut total: u64 = 0;
    let (mut mark_at, mut mark_bytes) = (start, 0u64);
    'run: loop {
        let established = fleet.links().all(|u| u.conn.is_established());
        if established && !announced {
            announced = true;
            start = Instant::now();
            (mark_at, mark_bytes) = (start, 0);
            emit(&json!({ "uploading": true, "connections": count }));
            // Only now: a mark before `uploading` would mean nothing.
            watch_stdin(tx.clone(), waker.clone());
        }
        for u in fleet.slots.iter_mut().flatten() {
            if announced {
                // quiche takes what flow control and the congestion window
                // allow; the rest waits for the next turn.
                loop {
                    match u.conn.stream_send(0, &chunk, false) {
                        Ok(w) => {
                            total += w as u64;
                            if w < chunk.len() {
                                break;
                            }
                        }
                        Err(quiche::Error::Done) => break,
                        Err(e) => return Err(format!("upload send: {e}").into()),
                    }
                }
            }
            u.flush(&mut fleet.out)?;
            check_alive(&u.conn)?;
        }

        if !fleet.wait()? {
            return Err("the uploader timed out (see --timeout)".into());
        }
        while let Ok(ctl) = rx.try_recv() {
            match ctl {
                Control::Mark => {
                    let now = Instant::now();
                    emit(&json!({ "mark": {
                        "bytes": total - mark_bytes,
                        "seconds": (now - mark_at).as_secs_f64(),
                    }}));
                    (mark_at, mark_bytes) = (now, total);
                }
                Control::Stop => break 'run,
            }
        }
        fleet.fire_timers();
    }
    let seconds = start.elapsed().as_secs_f64();
    let lost: usize = fleet.links().map(|u| u.conn.stats().lost).sum();
    for u in fleet.slots.iter_mut().flatten() {
        net::goodbye(&mut u.conn, &mut u.sock, &mut fleet.out);
    }
    Ok(json!({
        "connections": count,
        "bytes": total,
        "seconds": seconds,
        "lost": lost,
    }))
}

/// One probe: connect, 32 bytes with FIN on stream 0, the echo back. Returns
/// the latency; the connection is closed after the clock stops.
fn probe_once(
    config: &mut quiche::Config,
    server: SocketAddr,
    deadline: Instant,
) -> BoxResult<Duration> {
    let request = [0x70_u8; PROBE_SIZE];
    let t0 = Instant::now();
    let mut c = Client::connect(config, server, deadline)?;
    let mut sent = false;
    let mut received = 0;
    loop {
        if !sent && c.conn.is_established() {
            // 32 bytes always fit in a fresh stream's credit.
            c.conn.stream_send(0, &request, true)?;
            sent = true;
        }
        c.read_stream(0, |data, _| received += data.len())?;
        if received >= PROBE_SIZE {
            break;
        }
        c.turn()?;
    }
    let latency = t0.elapsed();
    c.close();
    Ok(latency)
}

pub fn probe(
    args: &Args,
    config: &mut quiche::Config,
    server: SocketAddr,
    deadline: Instant,
) -> BoxResult<Value> {
    let count: u64 = args.num("count", 20)?;
    let interval = Duration::from_millis(args.num("interval", 0)?);
    let bound = Duration::from_millis(args.num("probe-timeout", 3000)?);

    emit(&json!({ "probing": true }));
    let mut millis = Vec::with_capacity(count as usize);
    let mut failures = 0;
    let mut first_failure: Option<String> = None;
    for i in 0..count {
        let started = Instant::now();
        if started >= deadline {
            return Err("the prober timed out (see --timeout)".into());
        }
        match probe_once(config, server, (started + bound).min(deadline)) {
            Ok(d) => millis.push(d.as_secs_f64() * 1e3),
            Err(e) => {
                failures += 1;
                first_failure.get_or_insert_with(|| {
                    if started.elapsed() >= bound {
                        format!("probe timed out after {} ms", bound.as_millis())
                    } else {
                        e.to_string()
                    }
                });
            }
        }
        let next = started + interval;
        let now = Instant::now();
        if next > now && i + 1 < count {
            thread::sleep(next - now);
        }
    }

    millis.sort_by(f64::total_cmp);
    // Nearest rank, like the JS peers; two decimals of a millisecond.
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    let pct = |p: f64| nearest_rank(&millis, p).map(round2);
    let mut result = json!({
        "probes": count,
        "count": millis.len(),
        "p50": pct(50.0),
        "p90": pct(90.0),
        "p99": pct(99.0),
        "max": millis.last().map(|v| round2(*v)),
        "failures": failures,
    });
    if let Some(f) = first_failure {
        result["firstFailure"] = json!(f);
    }
    Ok(result)
}
