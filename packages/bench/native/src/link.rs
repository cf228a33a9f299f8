//! Client connections that each have a socket of their own (as a fresh
//! client process or a quichex connect() would), and the event loop of the
//! client scenarios that run several of them on one poll (handshake, and the
//! `mixed` uploader).

use std::net::SocketAddr;
use std::time::Instant;

use mio::{Events, Poll, Registry, Token};

use crate::client::SERVER_NAME;
use crate::net::{self, Socket, RECV_BUF_LEN};
use crate::{BoxResult, MAX_UDP_PAYLOAD};

/// One client connection and its socket.
pub(crate) struct Link {
    pub(crate) conn: quiche::Connection,
    pub(crate) sock: Socket,
}

impl Link {
    /// Binds an ephemeral loopback socket, registers it under `token` and
    /// starts a handshake with `server` from it.
    pub(crate) fn dial(
        registry: &Registry,
        token: Token,
        config: &mut quiche::Config,
        server: SocketAddr,
    ) -> BoxResult<Link> {
        let mut sock = Socket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        sock.register(registry, token)?;
        let conn = quiche::connect(
            Some(SERVER_NAME),
            &net::new_cid(),
            sock.local_addr(),
            server,
            config,
        )?;
        Ok(Link { conn, sock })
    }

    pub(crate) fn flush(&mut self, out: &mut [u8]) -> BoxResult<()> {
        net::flush(&mut self.conn, &mut self.sock, out)
    }
}

/// Links on one poll, each registered under the index of its slot; a slot is
/// empty between connections.
pub(crate) struct Fleet {
    poll: Poll,
    events: Events,
    pub(crate) slots: Vec<Option<Link>>,
    buf: Vec<u8>,
    pub(crate) out: Vec<u8>,
    deadline: Instant,
}

impl Fleet {
    pub(crate) fn new(slots: usize, events: usize, deadline: Instant) -> BoxResult<Fleet> {
        Ok(Fleet {
            poll: Poll::new()?,
            events: Events::with_capacity(events),
            slots: (0..slots).map(|_| None).collect(),
            buf: vec![0; RECV_BUF_LEN],
            out: vec![0; MAX_UDP_PAYLOAD],
            deadline,
        })
    }

    /// For registering anything else, under a token past the last slot.
    pub(crate) fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Starts a connection in slot `i`, which must be empty.
    pub(crate) fn dial(
        &mut self,
        i: usize,
        config: &mut quiche::Config,
        server: SocketAddr,
    ) -> BoxResult<()> {
        debug_assert!(self.slots[i].is_none());
        self.slots[i] = Some(Link::dial(self.poll.registry(), Token(i), config, server)?);
        Ok(())
    }

    /// Empties slot `i` (the connection is dropped as it is).
    pub(crate) fn free(&mut self, i: usize) -> BoxResult<()> {
        if let Some(mut link) = self.slots[i].take() {
            link.sock.deregister(self.poll.registry())?;
        }
        Ok(())
    }

    pub(crate) fn links(&self) -> impl Iterator<Item = &Link> {
        self.slots.iter().flatten()
    }

    /// Waits for packets or the earliest quiche timer, and feeds each socket
    /// that became readable to its connection. Returns false, with nothing
    /// received, once the deadline has passed. Timers are left to
    /// `fire_timers`.
    pub(crate) fn wait(&mut self) -> BoxResult<bool> {
        let wait = net::poll_wait(self.deadline, self.links().map(|l| l.conn.timeout()));
        net::poll_events(&mut self.poll, &mut self.events, wait)?;
        if Instant::now() >= self.deadline {
            return Ok(false);
        }
        for ev in self.events.iter() {
            if let Some(Some(l)) = self.slots.get_mut(ev.token().0) {
                net::recv_all(&mut l.conn, &l.sock, &mut self.buf)?;
            }
        }
        Ok(true)
    }

    pub(crate) fn fire_timers(&mut self) {
        for l in self.slots.iter_mut().flatten() {
            net::fire_timers(&mut l.conn);
        }
    }
}
