#!/usr/bin/env python3
"""aioquic side of the quichex interop tests.

Four modes, all bounded by --timeout seconds. `server` and `client` serve the
smoke suite (aioquic.test.ts); `interop-server` and `interop-client` follow
the driver contract of the interop matrix (hq-interop, see
test/interop/README.md).

  server  An echo server. Every bidirectional stream gets its bytes back on
          the same stream (FIN follows the peer's FIN); every DATAGRAM frame
          is sent back unchanged. Prints "READY <port>" once the socket is
          bound, then runs until SIGTERM/SIGINT, --timeout, or (with
          --exit-on-stdin-eof) until its parent closes stdin.

  client  Connects, sends --bytes deterministic bytes (byte i is i % 251) on
          one bidirectional stream with FIN, reads the echo to its FIN, sends
          the datagram "ping-from-aioquic" and waits for it to come back.
          Prints one JSON line: {"ok": true, "sha256", "received", "datagram",
          ...} with exit status 0, or {"ok": false, "error"} with status 1.

  interop-server  Serves --root over hq-interop with session tickets and
          0-RTT; --retry forces a Retry round-trip. Prints "READY <port>",
          runs until SIGTERM/SIGINT or --timeout (exit 0 either way).

  interop-client  Downloads every PATH concurrently (one bidi stream each)
          into --out/<basename>. --resume / --zero-rtt split the work over
          two connections and print "RESUMED ..." / "ZERO_RTT ...";
          --migrate moves to a new local port mid-transfer ("MIGRATED ...");
          --key-update starts a key update mid-transfer ("KEY_UPDATE
          initiated"). Exit 0 when every file is complete, else prints
          "ERROR <reason>" and exits 1.

Only aioquic's sans-I/O QuicConnection and its asyncio protocol glue are
used; the echo and check logic lives here.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from typing import NamedTuple

from aioquic import tls
from aioquic.asyncio.protocol import QuicConnectionProtocol
from cryptography import x509
from aioquic.asyncio.server import QuicServer
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.tls import SessionTicket

MAX_DATAGRAM_FRAME_SIZE = 65536
PING = b"ping-from-aioquic"
# Generous windows so a 1 MiB echo is not throttled by flow control.
MAX_DATA = 16 * 1024 * 1024
MAX_STREAM_DATA = 4 * 1024 * 1024


def log(message: str) -> None:
    print(f"aioquic_peer: {message}", file=sys.stderr, flush=True)


def pattern_bytes(n: int) -> bytes:
    """n bytes where byte i is i % 251 (251 is prime, so no power-of-two aliasing)."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


def is_bidi(stream_id: int) -> bool:
    return stream_id & 0x2 == 0


# -- server -------------------------------------------------------------------


class EchoServerProtocol(QuicConnectionProtocol):
    """One server-side connection: echo bidi streams and datagrams."""

    def quic_event_received(self, event: events.QuicEvent) -> None:
        quic = self._quic
        if isinstance(event, events.StreamDataReceived):
            if is_bidi(event.stream_id):
                quic.send_stream_data(event.stream_id, event.data, end_stream=event.end_stream)
        elif isinstance(event, events.DatagramFrameReceived):
            quic.send_datagram_frame(event.data)
        elif isinstance(event, events.StreamReset):
            if is_bidi(event.stream_id):
                quic.reset_stream(event.stream_id, event.error_code)
        elif isinstance(event, events.HandshakeCompleted):
            log(f"server: handshake completed, alpn={event.alpn_protocol}")
        elif isinstance(event, events.ConnectionTerminated):
            log(f"server: connection terminated, code={event.error_code} reason={event.reason_phrase!r}")
        # datagram_received() and the timer path transmit after this returns.


def watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when the parent closes our stdin (or dies), so no server outlives its test."""

    def reader() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=reader, name="stdin-watch", daemon=True).start()


async def run_server(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    configuration = QuicConfiguration(
        is_client=False,
        alpn_protocols=[args.alpn],
        max_datagram_frame_size=MAX_DATAGRAM_FRAME_SIZE,
        max_data=MAX_DATA,
        max_stream_data=MAX_STREAM_DATA,
        idle_timeout=30.0,
    )
    configuration.load_cert_chain(args.cert, args.key)

    transport, server = await loop.create_datagram_endpoint(
        lambda: QuicServer(configuration=configuration, create_protocol=EchoServerProtocol),
        local_addr=(args.host, args.port),
    )
    port = transport.get_extra_info("sockname")[1]

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if args.exit_on_stdin_eof:
        watch_stdin(loop, stop)

    print(f"READY {port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.timeout)
        return 0
    except asyncio.TimeoutError:
        log(f"server: --timeout of {args.timeout}s reached, exiting")
        return 2
    finally:
        server.close()


# -- client -------------------------------------------------------------------


class CheckingClientProtocol(QuicConnectionProtocol):
    """Collects the echo of one stream and any datagrams; fails waiters if the connection ends."""

    def __init__(self, quic: QuicConnection, **kwargs: object) -> None:
        super().__init__(quic, **kwargs)  # type: ignore[arg-type]
        self.stream_id: int | None = None
        self.received = bytearray()
        self.echo_done: asyncio.Future[None] = self._loop.create_future()
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue()
        self.terminated: asyncio.Future[str] = self._loop.create_future()

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.StreamDataReceived) and event.stream_id == self.stream_id:
            self.received += event.data
            if event.end_stream and not self.echo_done.done():
                self.echo_done.set_result(None)
        elif isinstance(event, events.DatagramFrameReceived):
            self.datagrams.put_nowait(event.data)
        elif isinstance(event, events.StreamReset) and event.stream_id == self.stream_id:
            if not self.echo_done.done():
                self.echo_done.set_exception(
                    ConnectionError(f"stream {event.stream_id} reset by the server, code {event.error_code}")
                )
        elif isinstance(event, events.ConnectionTerminated):
            why = f"connection terminated, code {event.error_code}, reason {event.reason_phrase!r}"
            if not self.terminated.done():
                self.terminated.set_result(why)
            # Only fail the echo once someone will await it (no "never retrieved" noise).
            if self.stream_id is not None and not self.echo_done.done():
                self.echo_done.set_exception(ConnectionError(why))


async def until(deadline: float, awaitable: asyncio.Future | asyncio.Task, what: str) -> object:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError(f"no time left for {what}")
    try:
        return await asyncio.wait_for(awaitable, timeout=remaining)
    except asyncio.TimeoutError:
        raise TimeoutError(f"timed out waiting for {what}") from None


async def run_client(args: argparse.Namespace, deadline: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    configuration = QuicConfiguration(
        is_client=True,
        alpn_protocols=[args.alpn],
        server_name=args.server_name,
        max_datagram_frame_size=MAX_DATAGRAM_FRAME_SIZE,
        max_data=MAX_DATA,
        max_stream_data=MAX_STREAM_DATA,
        idle_timeout=30.0,
    )
    # Fail early and clearly on an unreadable CA file (aioquic reads it only mid-handshake).
    with open(args.ca, "rb") as f:
        x509.load_pem_x509_certificates(f.read())
    configuration.load_verify_locations(cafile=args.ca)

    infos = await loop.getaddrinfo(args.host, args.port, type=socket.SOCK_DGRAM)
    family, _, _, _, remote = infos[0]
    remote_ip = ipaddress.ip_address(remote[0])
    # Bind to loopback when talking to loopback, so nothing leaves the host.
    if remote_ip.is_loopback:
        local_host = str(remote_ip)
    else:
        local_host = "::" if family == socket.AF_INET6 else "0.0.0.0"

    quic = QuicConnection(configuration=configuration)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: CheckingClientProtocol(quic), local_addr=(local_host, 0), family=family
    )
    assert isinstance(protocol, CheckingClientProtocol)
    started = time.monotonic()
    try:
        protocol.connect(remote)
        try:
            await until(deadline, asyncio.ensure_future(protocol.wait_connected()), "the handshake")
        except ConnectionError:
            why = protocol.terminated.result() if protocol.terminated.done() else "connection failed"
            raise ConnectionError(f"handshake failed: {why}") from None
        alpn = quic.tls.alpn_negotiated

        payload = pattern_bytes(args.bytes)
        protocol.stream_id = quic.get_next_available_stream_id()
        quic.send_stream_data(protocol.stream_id, payload, end_stream=True)
        protocol.transmit()
        try:
            await until(deadline, protocol.echo_done, f"the echo of {len(payload)} bytes")
        except TimeoutError as err:
            raise TimeoutError(f"{err} (received {len(protocol.received)} so far)") from None
        received = bytes(protocol.received)

        # Datagrams are unreliable: resend until one comes back.
        echoed: bytes | None = None
        attempts = 0
        while echoed is None:
            if protocol.terminated.done():
                raise ConnectionError(protocol.terminated.result())
            attempts += 1
            quic.send_datagram_frame(PING)
            protocol.transmit()
            wait = min(0.5, deadline - time.monotonic())
            if wait <= 0:
                raise TimeoutError(f"no datagram echo after {attempts} attempts")
            try:
                echoed = await asyncio.wait_for(protocol.datagrams.get(), timeout=wait)
            except asyncio.TimeoutError:
                pass

        elapsed = time.monotonic() - started
        protocol.close(reason_phrase="done")
        try:
            await asyncio.wait_for(protocol.wait_closed(), timeout=min(3.0, max(0.1, deadline - time.monotonic())))
        except asyncio.TimeoutError:
            log("client: close was not confirmed in time (ignored)")

        return {
            "ok": True,
            "sha256": hashlib.sha256(received).hexdigest(),
            "received": len(received),
            "datagram": echoed.decode("utf-8", errors="replace"),
            "datagram_attempts": attempts,
            "alpn": alpn,
            "seconds": round(elapsed, 3),
        }
    finally:
        transport.close()


# -- hq-interop (the runner's driver contract, see test/interop/README.md) -----

HQ_ALPN = "hq-interop"
# Stream reset codes: hq-interop's "not found", and "not a GET we understand"
# (kept apart so a client probing with another method, like quichex get's
# HEAD, is not told the file is missing).
HQ_NOT_FOUND = 404
HQ_BAD_REQUEST = 400
# A request line longer than this is not a request we will ever answer.
MAX_REQUEST_LINE = 4096
# Windows big enough that multi-MiB files are not throttled by flow control.
HQ_MAX_DATA = 64 * 1024 * 1024
HQ_MAX_STREAM_DATA = 16 * 1024 * 1024
# How long connection 1 of --resume / --zero-rtt waits for a session ticket.
TICKET_WAIT_S = 3.0
# Bound on a PING round-trip after migrating / updating keys (loopback: milliseconds).
PING_WAIT_S = 5.0
# Bound on waiting for a graceful close; the files are already safe by then.
CLOSE_WAIT_S = 2.0


def is_client_bidi(stream_id: int) -> bool:
    return stream_id & 0x3 == 0


def one_line(text: str) -> str:
    """The contract's lines are single lines; never let a reason break that."""
    return " ".join(str(text).split()) or "unknown error"


class SessionTicketStore:
    """Server-side ticket memory. Tickets are single-use (pop), which limits 0-RTT replay."""

    def __init__(self) -> None:
        self._tickets: dict[bytes, SessionTicket] = {}

    def add(self, ticket: SessionTicket) -> None:
        self._tickets[ticket.ticket] = ticket

    def pop(self, label: bytes) -> SessionTicket | None:
        return self._tickets.pop(label, None)


def parse_get(request_line: bytes) -> str | None:
    """The path of "GET /path", or None for anything else."""
    parts = request_line.decode("latin-1").split()
    if len(parts) < 2 or parts[0] != "GET" or not parts[1].startswith("/"):
        return None
    return urllib.parse.unquote(parts[1])


def resolve_in_root(root: str, path: str) -> str | None:
    """A regular file under root for a request path, or None (also for ../ escapes)."""
    relative = path.lstrip("/")
    if not relative:
        return None
    full = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([full, root]) != root or not os.path.isfile(full):
        return None
    return full


class HqFileServerProtocol(QuicConnectionProtocol):
    """One server-side connection: answers each client bidi stream's GET with a file."""

    def __init__(self, quic: QuicConnection, *, root: str, **kwargs: object) -> None:
        super().__init__(quic, **kwargs)  # type: ignore[arg-type]
        self._root = root
        self._requests: dict[int, bytearray] = {}
        self._answered: set[int] = set()

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.StreamDataReceived):
            self._on_request_bytes(event)
        elif isinstance(event, events.StreamReset):
            self._requests.pop(event.stream_id, None)
        elif isinstance(event, events.HandshakeCompleted):
            log(
                f"interop-server: handshake completed, alpn={event.alpn_protocol} "
                f"resumed={event.session_resumed} early_data={event.early_data_accepted}"
            )
        elif isinstance(event, events.ConnectionTerminated):
            log(f"interop-server: connection terminated, code={event.error_code} reason={event.reason_phrase!r}")
        # The protocol transmits after this returns (datagram or timer path).

    def _on_request_bytes(self, event: events.StreamDataReceived) -> None:
        sid = event.stream_id
        if not is_client_bidi(sid) or sid in self._answered:
            return  # anything after the request line is ignored
        pending = self._requests.setdefault(sid, bytearray())
        pending += event.data
        # Answer as soon as the line is complete; FIN alone also ends it.
        if b"\n" in pending or event.end_stream or len(pending) > MAX_REQUEST_LINE:
            line = bytes(pending.split(b"\n", 1)[0])
            del self._requests[sid]
            self._answered.add(sid)
            self._answer(sid, line)

    def _answer(self, sid: int, line: bytes) -> None:
        request = parse_get(line)
        if request is None:
            log(f"interop-server: stream {sid}: not a GET: {line[:200]!r}, resetting with {HQ_BAD_REQUEST}")
            self._quic.reset_stream(sid, HQ_BAD_REQUEST)
            return
        path = resolve_in_root(self._root, request)
        if path is None:
            log(f"interop-server: stream {sid}: no file for {request!r}, resetting with {HQ_NOT_FOUND}")
            self._quic.reset_stream(sid, HQ_NOT_FOUND)
            return
        with open(path, "rb") as f:
            body = f.read()
        # aioquic buffers the whole body and paces it out under flow control.
        self._quic.send_stream_data(sid, body, end_stream=True)


def file_server_configuration(
    args: argparse.Namespace, alpn_protocols: list[str], max_data: int, max_stream_data: int
) -> tuple[str, QuicConfiguration]:
    """The real path of --root (which must be a directory) and a server configuration with
    --cert and --key, for a driver that serves files."""
    root = os.path.realpath(args.root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"--root {args.root} is not a directory")
    configuration = QuicConfiguration(
        is_client=False,
        alpn_protocols=alpn_protocols,
        max_data=max_data,
        max_stream_data=max_stream_data,
        idle_timeout=30.0,
    )
    configuration.load_cert_chain(args.cert, args.key)
    return root, configuration


async def run_interop_server(args: argparse.Namespace) -> int:
    root, configuration = file_server_configuration(args, [HQ_ALPN], HQ_MAX_DATA, HQ_MAX_STREAM_DATA)
    tickets = SessionTicketStore()

    # QuicServer is what aioquic's serve() builds; creating the endpoint here
    # gives us the transport, hence the real port when --port is 0.
    # 0-RTT needs nothing more: aioquic servers always offer max_early_data in
    # their tickets and accept early data on resumption.
    server, stopped = await serve_until_stopped(
        args,
        configuration=configuration,
        create_protocol=functools.partial(HqFileServerProtocol, root=root),
        session_ticket_fetcher=tickets.pop,
        session_ticket_handler=tickets.add,
        retry=args.retry,
    )
    if not stopped:
        log(f"interop-server: --timeout of {args.timeout}s reached, exiting")
    server.close()
    return 0


async def serve_until_stopped(args: argparse.Namespace, **server_options) -> tuple[QuicServer, bool]:
    """Starts a QuicServer on --host/--port, prints READY and waits for SIGTERM/SIGINT or
    --timeout. The server and whether a signal stopped it (False: the timeout)."""
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(
        lambda: QuicServer(**server_options),
        local_addr=(args.host, args.port),
    )
    port = transport.get_extra_info("sockname")[1]

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    print(f"READY {port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.timeout)
    except asyncio.TimeoutError:
        return server, False
    except BaseException:
        server.close()
        raise
    return server, True


class Download:
    """One GET on one bidirectional stream, saved to DIR/<basename> when it ends.

    The body is kept in memory until then: with thousands of concurrent
    streams (the multiplexing case) an open file per stream would exhaust
    file descriptors, and the interop files are a few MiB at most.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, path: str, dest: str) -> None:
        self.path = path
        self.dest = dest
        self.body = bytearray()
        # Resolves to None when the FIN arrived, else to an error string
        # (no exceptions, so nothing is ever "never retrieved").
        self.done: asyncio.Future[str | None] = loop.create_future()

    @property
    def received(self) -> int:
        return len(self.body)

    def write(self, data: bytes, end_stream: bool) -> None:
        if self.done.done():
            return
        self.body += data
        if end_stream:
            self.finish(None)

    def finish(self, error: str | None) -> None:
        """Saves what arrived (a partial file helps to debug a failure) and settles `done`."""
        if self.done.done():
            return
        try:
            with open(self.dest, "wb") as f:
                f.write(self.body)
        except OSError as err:
            error = error or f"{self.path}: cannot save to {self.dest}: {err}"
        self.done.set_result(error)


class HqClientProtocol(QuicConnectionProtocol):
    """Client-side connection: tracks downloads, the handshake outcome and the first response byte."""

    def __init__(self, quic: QuicConnection, **kwargs: object) -> None:
        super().__init__(quic, **kwargs)  # type: ignore[arg-type]
        self.downloads: dict[int, Download] = {}
        # handshake: the HandshakeCompleted event, or why the connection ended;
        # first_data: None at the first response byte, or why the connection ended.
        self.handshake: asyncio.Future[events.HandshakeCompleted | str] = self._loop.create_future()
        self.first_data: asyncio.Future[str | None] = self._loop.create_future()
        # Set once our socket is closed, so a late aioquic timer does not send into it.
        self.detached = False

    def transmit(self) -> None:
        if not self.detached:
            super().transmit()

    def request(self, path: str, out_dir: str) -> Download:
        """Queues "GET <path>\\r\\n" + FIN on a new stream; the caller transmits."""
        sid = self._quic.get_next_available_stream_id()
        download = Download(self._loop, path, os.path.join(out_dir, os.path.basename(path)))
        self.downloads[sid] = download
        self._quic.send_stream_data(sid, f"GET {path}\r\n".encode("utf-8"), end_stream=True)
        return download

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.StreamDataReceived):
            download = self.downloads.get(event.stream_id)
            if download is not None:
                if event.data and not self.first_data.done():
                    self.first_data.set_result(None)
                download.write(event.data, event.end_stream)
        elif isinstance(event, events.StreamReset):
            download = self.downloads.get(event.stream_id)
            if download is not None:
                download.finish(f"{download.path}: stream reset by the server, code {event.error_code}")
        elif isinstance(event, events.HandshakeCompleted):
            if not self.handshake.done():
                self.handshake.set_result(event)
        elif isinstance(event, events.ConnectionTerminated):
            why = f"connection closed, code {event.error_code}, reason {event.reason_phrase!r}"
            for future in (self.handshake, self.first_data):
                if not future.done():
                    future.set_result(why)
            for download in self.downloads.values():
                download.finish(f"{download.path}: {why}")


class TicketJar:
    """Client-side: keeps the newest session ticket and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.ticket: SessionTicket | None = None
        self.arrived = asyncio.Event()

    def add(self, ticket: SessionTicket) -> None:
        self.ticket = ticket
        self.arrived.set()


class Peer(NamedTuple):
    family: int
    remote: tuple
    local_host: str  # what our sockets bind to (loopback when the peer is)


async def resolve_peer(host: str, port: int) -> Peer:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, _, _, _, remote = infos[0]
    remote_ip = ipaddress.ip_address(remote[0])
    # Bind to loopback when talking to loopback, so nothing leaves the host.
    if remote_ip.is_loopback:
        return Peer(family, remote, str(remote_ip))
    return Peer(family, remote, "::" if family == socket.AF_INET6 else "0.0.0.0")


def client_configuration(args: argparse.Namespace, ticket: SessionTicket | None) -> QuicConfiguration:
    configuration = QuicConfiguration(
        is_client=True,
        alpn_protocols=[HQ_ALPN],
        server_name=args.server_name,
        max_data=HQ_MAX_DATA,
        max_stream_data=HQ_MAX_STREAM_DATA,
        idle_timeout=30.0,
    )
    configuration.load_verify_locations(cafile=args.ca)
    configuration.session_ticket = ticket
    return configuration


async def rebind(
    protocol: HqClientProtocol, peer: Peer, old: asyncio.DatagramTransport
) -> asyncio.DatagramTransport:
    """Active migration: move the connection to a fresh local port.

    aioquic's QuicConnection does not know its local address, so migrating is
    (1) handing the same protocol a new socket (connection_made switches the
    transport it sends on), (2) switching to an unused peer connection ID, as
    RFC 9000 section 9.5 asks of a migrating endpoint, (3) dropping the old socket.
    """
    loop = asyncio.get_running_loop()
    new, _ = await loop.create_datagram_endpoint(
        lambda: protocol, local_addr=(peer.local_host, 0), family=peer.family
    )
    protocol.change_connection_id()  # also transmits, from the new socket
    ports = [t.get_extra_info("sockname")[1] for t in (old, new)]
    log(f"interop-client: migrated from local port {ports[0]} to {ports[1]}")
    old.close()
    return new


async def ping_within(protocol: HqClientProtocol, deadline: float, what: str) -> bool:
    """True when a PING is acknowledged in time: proof the current path/keys carry traffic both ways."""
    try:
        ping_deadline = min(deadline, time.monotonic() + PING_WAIT_S)
        await until(ping_deadline, asyncio.ensure_future(protocol.ping()), what)
        return True
    except (ConnectionError, TimeoutError) as err:
        log(f"interop-client: {what}: {type(err).__name__}: {err}")
        return False


def receive_key_phase(quic: QuicConnection) -> object:
    """Diagnostics only: aioquic keeps key phases in private state, so tolerate its absence."""
    try:
        return quic._cryptos[tls.Epoch.ONE_RTT].recv.key_phase
    except (AttributeError, KeyError):
        return "unknown"


async def mid_transfer_actions(
    args: argparse.Namespace, protocol: HqClientProtocol, peer: Peer,
    transport: asyncio.DatagramTransport, deadline: float,
) -> tuple[asyncio.DatagramTransport, bool | None]:
    """--migrate / --key-update, once the first response byte arrived.

    Returns the live transport and, with --migrate, whether the new path
    answered a PING (None without --migrate).
    """
    why = await until(deadline, protocol.first_data, "the first response byte")
    if why is not None:
        raise ConnectionError(why)
    if args.key_update:
        protocol.request_key_update()  # deferred by aioquic until the handshake is confirmed
        print("KEY_UPDATE initiated", flush=True)
    migrated: bool | None = None
    if args.migrate:
        try:
            transport = await rebind(protocol, peer, transport)
            migrated = await ping_within(protocol, deadline, "a PING on the new path")
        except OSError as err:
            log(f"interop-client: migration failed: {err}")
            migrated = False
    if args.key_update:
        # A PING round-trip pushes packets through the new keys; the receive key
        # phase then shows whether the peer answered in the new phase.
        await ping_within(protocol, deadline, "a PING after the key update")
        log(f"interop-client: 1-RTT receive key phase now {receive_key_phase(protocol._quic)}")
    return transport, migrated


async def await_downloads(protocol: HqClientProtocol, deadline: float) -> list[str]:
    """Waits for every download to finish; returns the failures (empty when all are complete)."""
    downloads = list(protocol.downloads.values())
    if downloads:
        # asyncio.wait, unlike wait_for, leaves unfinished futures alone on timeout.
        await asyncio.wait([d.done for d in downloads], timeout=max(0.0, deadline - time.monotonic()))
    failures = [f"{d.path}: timed out ({d.received} bytes so far)" for d in downloads if not d.done.done()]
    return failures + [d.done.result() for d in downloads if d.done.done() and d.done.result() is not None]


async def close_gracefully(protocol: HqClientProtocol) -> None:
    """Sends CONNECTION_CLOSE and waits (bounded) for aioquic to finish; a no-op once closed."""
    protocol.close(reason_phrase="done")
    try:
        await asyncio.wait_for(protocol.wait_closed(), timeout=CLOSE_WAIT_S)
    except asyncio.TimeoutError:
        log("interop-client: close was not confirmed in time (ignored)")


def summarise_failures(failures: list[str], total: int, shown: int = 3) -> str:
    """Keeps the ERROR line readable when hundreds of streams fail the same way."""
    head = "; ".join(failures[:shown])
    more = f" (+{len(failures) - shown} more)" if len(failures) > shown else ""
    return f"{len(failures)} of {total} download(s) failed: {head}{more}"


async def run_connection(
    args: argparse.Namespace, peer: Peer, paths: list[str], deadline: float, *,
    jar: TicketJar, ticket: SessionTicket | None = None, early: bool = False,
    last: bool = True, report_resumption: bool = False,
) -> None:
    """One connection fetching `paths` concurrently; raises on any failure."""
    loop = asyncio.get_running_loop()
    quic = QuicConnection(configuration=client_configuration(args, ticket), session_ticket_handler=jar.add)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: HqClientProtocol(quic), local_addr=(peer.local_host, 0), family=peer.family
    )
    assert isinstance(protocol, HqClientProtocol)
    try:
        protocol.connect(peer.remote, transmit=False)
        if early:
            # Requests queued before the first transmit leave as 0-RTT packets
            # right behind the Initial (aioquic only sends 0-RTT when the ticket allows it).
            for path in paths:
                protocol.request(path, args.out)
        protocol.transmit()
        outcome = await until(deadline, protocol.handshake, "the handshake")
        if isinstance(outcome, str):
            raise ConnectionError(f"handshake failed: {outcome}")
        if report_resumption:
            print(f"RESUMED {'true' if outcome.session_resumed else 'false'}", flush=True)
        if early:
            print(f"ZERO_RTT {'accepted' if outcome.early_data_accepted else 'rejected'}", flush=True)
        else:
            for path in paths:
                protocol.request(path, args.out)
            protocol.transmit()

        migrated: bool | None = None
        if last and (args.migrate or args.key_update) and paths:
            transport, migrated = await mid_transfer_actions(args, protocol, peer, transport, deadline)
        failures = await await_downloads(protocol, deadline)
        if migrated is not None:
            # The contract says "finish there": a stalled transfer is no migration.
            print(f"MIGRATED {'true' if migrated and not failures else 'false'}", flush=True)
        if failures:
            raise ConnectionError(summarise_failures(failures, len(paths)))
        if not last:
            # The ticket usually arrives with the first response; give it a bounded grace period.
            ticket_deadline = min(deadline, time.monotonic() + TICKET_WAIT_S)
            try:
                await until(ticket_deadline, asyncio.ensure_future(jar.arrived.wait()), "a session ticket")
            except TimeoutError as err:
                log(f"interop-client: {err}; connection 2 will not resume")
    finally:
        # Also on failure: a CONNECTION_CLOSE spares the server an idle timeout.
        await close_gracefully(protocol)
        for download in protocol.downloads.values():
            download.finish("connection abandoned")
        protocol.detached = True
        transport.close()


def normalise_path(path: str) -> str:
    """hq-interop requests are absolute: "file-1" means "/file-1"."""
    return path if path.startswith("/") else "/" + path


async def run_interop_client(args: argparse.Namespace, deadline: float) -> None:
    paths = [normalise_path(p) for p in args.paths]
    if any(not os.path.basename(p) for p in paths):
        raise ValueError("every PATH needs a file name")
    # Fail early and clearly on an unreadable CA file (aioquic reads it only mid-handshake).
    with open(args.ca, "rb") as f:
        x509.load_pem_x509_certificates(f.read())
    os.makedirs(args.out, exist_ok=True)
    peer = await resolve_peer(args.host, args.port)
    jar = TicketJar()

    if not (args.resume or args.zero_rtt):
        await run_connection(args, peer, paths, deadline, jar=jar)
        return
    await run_connection(args, peer, paths[:1], deadline, jar=jar, last=False)
    ticket = jar.ticket
    if args.zero_rtt and ticket is not None and ticket.max_early_data_size is None:
        log("interop-client: the server's ticket does not allow early data")
    await run_connection(
        args, peer, paths[1:], deadline,
        jar=TicketJar(), ticket=ticket, early=args.zero_rtt, report_resumption=True,
    )


# -- entry point ----------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)

    server = modes.add_parser("server", help="echo server")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=0, help="UDP port (0: any free port, reported on READY)")
    server.add_argument("--cert", required=True, help="certificate chain (PEM)")
    server.add_argument("--key", required=True, help="private key (PEM)")
    server.add_argument("--alpn", required=True)
    server.add_argument("--timeout", type=float, default=300.0, help="exit after this many seconds")
    server.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin is closed")

    client = modes.add_parser("client", help="checking client")
    client.add_argument("--host", default="127.0.0.1")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--ca", required=True, help="CA certificate to verify the server with (PEM)")
    client.add_argument("--alpn", required=True)
    client.add_argument("--server-name", default="localhost")
    client.add_argument("--bytes", type=int, default=1 << 20)
    client.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds")

    hq_server = modes.add_parser("interop-server", help="hq-interop file server (driver contract)")
    hq_server.add_argument("--host", default="127.0.0.1")
    hq_server.add_argument("--port", type=int, default=0, help="UDP port (0: any free port, reported on READY)")
    hq_server.add_argument("--cert", required=True, help="certificate chain (PEM)")
    hq_server.add_argument("--key", required=True, help="private key (PEM)")
    hq_server.add_argument("--root", required=True, help="directory to serve")
    hq_server.add_argument("--retry", action="store_true", help="validate addresses with a Retry first")
    hq_server.add_argument("--timeout", type=float, default=120.0, help="exit after this many seconds")

    hq_client = modes.add_parser("interop-client", help="hq-interop downloader (driver contract)")
    hq_client.add_argument("--host", default="127.0.0.1")
    hq_client.add_argument("--port", type=int, required=True)
    hq_client.add_argument("--ca", required=True, help="CA certificate to verify the server with (PEM)")
    hq_client.add_argument("--server-name", default="localhost")
    hq_client.add_argument("--out", required=True, help="directory to save the files in")
    hq_client.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    hq_client.add_argument("--resume", action="store_true", help="first path on connection 1, rest resumed on 2")
    hq_client.add_argument("--zero-rtt", action="store_true", help="like --resume, connection 2 sends 0-RTT")
    hq_client.add_argument("--migrate", action="store_true", help="move to a new local port mid-transfer")
    hq_client.add_argument("--key-update", action="store_true", help="initiate a key update mid-transfer")
    # aioquic already holds back streams beyond the peer's limit until MAX_STREAMS.
    hq_client.add_argument("--max-streams-wait", action="store_true", help="accepted; always the behaviour here")
    hq_client.add_argument("paths", nargs="+", metavar="PATH")
    return parser.parse_args(argv)


def interop_client_main(args: argparse.Namespace) -> int:
    """Runs the contract client; the outcome is the exit code plus, on failure, one ERROR line."""
    deadline = time.monotonic() + args.timeout
    try:
        # The outer bound is a backstop; every wait inside already honours the deadline.
        asyncio.run(asyncio.wait_for(run_interop_client(args, deadline), timeout=args.timeout + 5))
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # noqa: BLE001 - the ERROR line is the contract
        print(f"ERROR {one_line(f'{type(err).__name__}: {err}')}", flush=True)
        return 1
    return 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.mode == "interop-client":
        return interop_client_main(args)
    if args.mode in ("server", "interop-server"):
        run = run_server if args.mode == "server" else run_interop_server
        try:
            return asyncio.run(run(args))
        except Exception as err:  # noqa: BLE001 - report any start-up failure plainly
            log(f"{args.mode} failed: {type(err).__name__}: {err}")
            return 1

    deadline = time.monotonic() + args.timeout
    try:
        result = asyncio.run(asyncio.wait_for(run_client(args, deadline), timeout=args.timeout + 1))
    except BaseException as err:  # noqa: BLE001 - the JSON line is the contract
        if isinstance(err, KeyboardInterrupt):
            raise
        message = str(err) or type(err).__name__
        print(json.dumps({"ok": False, "error": f"{type(err).__name__}: {message}"}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
