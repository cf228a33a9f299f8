#!/usr/bin/env python3
"""aioquic side of the quichex interop smoke suite.

Two modes, both bounded by --timeout seconds:

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

Only aioquic's sans-I/O QuicConnection and its asyncio protocol glue are
used; the echo and check logic lives here.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import signal
import socket
import sys
import threading
import time

from aioquic.asyncio.protocol import QuicConnectionProtocol
from cryptography import x509
from aioquic.asyncio.server import QuicServer
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection

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
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.mode == "server":
        try:
            return asyncio.run(run_server(args))
        except Exception as err:  # noqa: BLE001 - report any start-up failure plainly
            log(f"server failed: {type(err).__name__}: {err}")
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
