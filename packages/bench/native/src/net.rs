//! The UDP side of the event loop, shared by client and server: one
//! non-blocking socket, one `sendto` per QUIC packet, one `recvfrom` per
//! datagram. No GSO, no `sendmmsg`, no pacing: the same syscall pattern as a
//! Node `dgram` socket, so the native figures stay a fair ceiling.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Registry, Token};

use crate::BoxResult;

/// quichex asks for 4 MiB socket buffers (SOCKET_BUFFER_SIZE in
/// endpoint.ts); the kernel clamps both to rmem_max/wmem_max alike.
const SOCKET_BUFFER_SIZE: libc::c_int = 4 * 1024 * 1024;

/// Large enough for any UDP datagram, so an oversized packet is handed to
/// quiche (which rejects it) rather than silently truncated by the kernel.
pub const RECV_BUF_LEN: usize = 65535;

/// A non-blocking UDP socket that never drops a packet quiche has produced.
///
/// When the kernel send buffer is full, `sendto` fails with EAGAIN; dropping
/// that packet would look like loss to congestion control and skew the
/// benchmark, so it is kept and retried once the socket is writable again,
/// and no further packets are pulled from quiche meanwhile.
pub struct Socket {
    inner: UdpSocket,
    local: SocketAddr,
    stalled: Option<(Vec<u8>, SocketAddr)>,
}

impl Socket {
    pub fn bind(addr: SocketAddr) -> io::Result<Socket> {
        let inner = UdpSocket::bind(addr)?;
        for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
            set_buffer_size(&inner, opt, SOCKET_BUFFER_SIZE)?;
        }
        let local = inner.local_addr()?;
        Ok(Socket {
            inner,
            local,
            stalled: None,
        })
    }

    /// Writable interest too, so that a stalled packet is retried as soon as
    /// the kernel frees buffer space (mio is edge-triggered, so this costs
    /// one wake-up per stall, not one per loop).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut self.inner,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.inner)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends one datagram. Returns false if the kernel could not take it; the
    /// datagram is then kept for `unstall`.
    pub fn send_to(&mut self, buf: &[u8], to: SocketAddr) -> io::Result<bool> {
        debug_assert!(self.stalled.is_none());
        match self.inner.send_to(buf, to) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.stalled = Some((buf.to_vec(), to));
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Retries a datagram kept by `send_to`. Returns true when the socket can
    /// take more.
    pub fn unstall(&mut self) -> io::Result<bool> {
        let Some((buf, to)) = self.stalled.take() else {
            return Ok(true);
        };
        self.send_to(&buf, to)
    }

    /// One datagram, or None once the socket is drained.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        match self.inner.recv_from(buf) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends a packet that belongs to no connection (version negotiation);
    /// losing one to a full buffer is harmless, the client retransmits.
    pub fn send_stateless(&mut self, buf: &[u8], to: SocketAddr) -> io::Result<()> {
        if self.stalled.is_none() {
            self.send_to(buf, to)?;
        }
        Ok(())
    }
}

fn set_buffer_size(sock: &UdpSocket, opt: libc::c_int, size: libc::c_int) -> io::Result<()> {
    // SAFETY: a valid fd, and an int option whose pointer and length match.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Drains `conn.send()` into the socket until quiche has nothing left or the
/// kernel buffer is full. Pacing hints (`SendInfo::at`) are ignored on
/// purpose: a plain event loop sends immediately.
pub fn flush(conn: &mut quiche::Connection, sock: &mut Socket, out: &mut [u8]) -> BoxResult<()> {
    if !sock.unstall()? {
        return Ok(());
    }
    loop {
        match conn.send(out) {
            Ok((len, info)) => {
                if !sock.send_to(&out[..len], info.to)? {
                    return Ok(());
                }
            }
            Err(quiche::Error::Done) => return Ok(()),
            Err(e) => return Err(format!("quiche send: {e}").into()),
        }
    }
}

/// Hands every queued datagram to `conn`. For client sockets, which carry a
/// single connection.
pub fn recv_all(conn: &mut quiche::Connection, sock: &Socket, buf: &mut [u8]) -> BoxResult<()> {
    while let Some((len, from)) = sock.recv_from(buf)? {
        let info = quiche::RecvInfo {
            from,
            to: sock.local_addr(),
        };
        match conn.recv(&mut buf[..len], info) {
            Ok(_) => {}
            // Packets for a connection that is closing, or undecryptable
            // stragglers: quiche already dealt with them.
            Err(quiche::Error::Done) => {}
            Err(e) => {
                if conn.is_closed() {
                    return Err(format!("connection failed: {e}").into());
                }
            }
        }
    }
    Ok(())
}

/// Runs quiche's timers if one has expired. Checking the deadline instead of
/// calling `on_timeout` only when poll returns no events means a loss timer
/// still fires while packets keep arriving.
pub fn fire_timers(conn: &mut quiche::Connection) {
    if conn.timeout() == Some(Duration::ZERO) {
        conn.on_timeout();
    }
}

/// Closes with no error code and sends what quiche has for the peer (the
/// CONNECTION_CLOSE), ignoring failures: used once the measurement is over,
/// and the draining period is not waited for.
pub fn goodbye(conn: &mut quiche::Connection, sock: &mut Socket, out: &mut [u8]) {
    let _ = conn.close(true, 0, b"");
    let _ = flush(conn, sock, out);
}

/// `poll.poll` for at most `wait`; a signal interrupting it is no error, just
/// an early return with whatever events there are.
pub fn poll_events(poll: &mut Poll, events: &mut Events, wait: Duration) -> io::Result<()> {
    match poll.poll(events, Some(wait)) {
        Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
        _ => Ok(()),
    }
}

/// How long to poll: until the earliest quiche timer, never past `deadline`.
pub fn poll_wait(
    deadline: Instant,
    timers: impl IntoIterator<Item = Option<Duration>>,
) -> Duration {
    let left = deadline.saturating_duration_since(Instant::now());
    timers.into_iter().flatten().fold(left, Duration::min)
}

/// A random connection ID of quiche's maximum length. Servers route on it, so
/// it must not collide; 160 random bits do not.
pub fn new_cid() -> quiche::ConnectionId<'static> {
    let id: [u8; quiche::MAX_CONN_ID_LEN] = rand::random();
    quiche::ConnectionId::from_vec(id.to_vec())
}
