#!/usr/bin/env python3
"""aioquic's HTTP/3 driver for the quichex interop matrix (aioquic.h3).

Follows the HTTP/3 driver contract of test/interop/README.md:

  h3-server --host H --port 0 --cert CERT --key KEY --root DIR [--timeout SEC]
      ALPN h3. GET /<path> answers 200 with the file (content-length set) or
      404; POST /echo answers 200 and streams the request body back as it
      arrives. Prints "READY <port>". On SIGTERM it sends GOAWAY on every
      connection (printing "GOAWAY sent"), lets the requests it accepted
      finish, waits for the clients to close (at most 15 s), and exits 0.

  h3-client --host H --port P --ca CA --server-name NAME --out DIR [--timeout SEC]
            [--post FILE] [--cancel] PATH...
      GETs every PATH concurrently on one connection into DIR/<basename>;
      --post FILE POSTs the file to /echo and saves the answer as DIR/echo;
      --cancel starts a GET of the first PATH, cancels it (STOP_SENDING with
      H3_REQUEST_CANCELLED) after its first body bytes, then GETs the rest
      and prints "CANCELLED true". Exits 0 when everything arrived complete,
      else prints "ERROR <reason>" and exits 1.

aioquic.h3 has no call that sends GOAWAY, so the server writes the frame on
its control stream itself (see H3ServerProtocol.goaway).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import time
import urllib.parse

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import H3_ALPN, ErrorCode, FrameType, H3Connection, encode_frame
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration
from aioquic_peer import file_server_configuration, serve_until_stopped

MAX_DATA = 64 * 1024 * 1024
MAX_STREAM_DATA = 16 * 1024 * 1024
SHUTDOWN_GRACE = 15.0


def log(message: str) -> None:
    print(f"aioquic_h3: {message}", file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def resolve_in_root(root: str, path: str) -> str | None:
    """The regular file `path` names under `root`, or None (never outside root)."""
    rel = urllib.parse.unquote(path.split("?", 1)[0]).lstrip("/")
    if not rel:
        return None
    full = os.path.realpath(os.path.join(root, rel))
    if not full.startswith(root + os.sep) or not os.path.isfile(full):
        return None
    return full


# -- server -------------------------------------------------------------------


class H3ServerProtocol(QuicConnectionProtocol):
    """One connection: files for GET, an echo for POST /echo."""

    def __init__(self, *args, root: str, live: set, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._root = root
        self._live = live
        self._h3: H3Connection | None = None
        self._echo: set[int] = set()
        self._highest: int | None = None
        live.add(self)

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self._h3 = H3Connection(self._quic)
        elif isinstance(event, events.StreamReset):
            self._echo.discard(event.stream_id)
        elif isinstance(event, events.ConnectionTerminated):
            self._live.discard(self)
        if self._h3 is not None:
            for h3_event in self._h3.handle_event(event):
                self.h3_event_received(h3_event)

    def h3_event_received(self, event: H3Event) -> None:
        if isinstance(event, HeadersReceived):
            sid = event.stream_id
            if self._highest is None or sid > self._highest:
                self._highest = sid
            headers = dict(event.headers)
            method = headers.get(b":method", b"").decode()
            path = headers.get(b":path", b"").decode()
            if method == "POST" and path.split("?", 1)[0] == "/echo":
                self._h3.send_headers(sid, [(b":status", b"200"), (b"server", b"aioquic-h3")])
                if event.stream_ended:
                    self._h3.send_data(sid, b"", end_stream=True)
                else:
                    self._echo.add(sid)
                return
            file = resolve_in_root(self._root, path) if method in ("GET", "HEAD") else None
            if file is None:
                status = b"404" if method in ("GET", "HEAD") else b"405"
                self._h3.send_headers(
                    sid, [(b":status", status), (b"content-length", b"0")], end_stream=True
                )
                return
            with open(file, "rb") as f:
                data = f.read()
            self._h3.send_headers(
                sid,
                [
                    (b":status", b"200"),
                    (b"server", b"aioquic-h3"),
                    (b"content-length", str(len(data)).encode()),
                ],
                end_stream=method == "HEAD",
            )
            if method == "GET":
                self._h3.send_data(sid, data, end_stream=True)
        elif isinstance(event, DataReceived) and event.stream_id in self._echo:
            self._h3.send_data(event.stream_id, event.data, end_stream=event.stream_ended)
            if event.stream_ended:
                self._echo.discard(event.stream_id)

    def goaway(self) -> None:
        """GOAWAY that lets through every request seen so far (the next id is the first refused)."""
        if self._h3 is None or self._h3._local_control_stream_id is None:
            return
        next_id = 0 if self._highest is None else self._highest + 4
        frame = encode_frame(FrameType.GOAWAY, encode_uint_var(next_id))
        self._quic.send_stream_data(self._h3._local_control_stream_id, frame)
        self.transmit()


async def run_server(args: argparse.Namespace) -> int:
    root, configuration = file_server_configuration(args, H3_ALPN, MAX_DATA, MAX_STREAM_DATA)
    live: set[H3ServerProtocol] = set()
    server, stopped = await serve_until_stopped(
        args,
        configuration=configuration,
        create_protocol=functools.partial(H3ServerProtocol, root=root, live=live),
    )
    if not stopped:
        log(f"h3-server: --timeout of {args.timeout}s reached, exiting")
        server.close()
        return 0
    # Graceful: GOAWAY everywhere, then wait for the clients to finish and close.
    for protocol in list(live):
        protocol.goaway()
    print("GOAWAY sent", flush=True)
    deadline = time.monotonic() + SHUTDOWN_GRACE
    while live and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for protocol in list(live):
        protocol.close(error_code=ErrorCode.H3_NO_ERROR)
    await asyncio.sleep(0.05)
    server.close()
    return 0


# -- client -------------------------------------------------------------------


class Request:
    """One request's response, written to `file`; `done` resolves with an error string or None."""

    def __init__(self, label: str, file: str | None, loop: asyncio.AbstractEventLoop) -> None:
        self.label = label
        self.file = file
        self.fd = open(file, "wb") if file else None
        self.status: str | None = None
        self.length: int | None = None
        self.bytes = 0
        self.first_bytes = loop.create_future()
        self.done: asyncio.Future[str | None] = loop.create_future()

    def finish(self, error: str | None) -> None:
        if self.done.done():
            return
        if self.fd:
            self.fd.close()
        if error is None and self.status != "200":
            error = f"status {self.status}"
        if error is None and self.length is not None and self.length != self.bytes:
            error = f"{self.bytes} of {self.length} bytes"
        if error is not None and self.file:
            try:
                os.unlink(self.file)
            except FileNotFoundError:
                pass
        self.done.set_result(None if error is None else f"{self.label}: {error}")
        if not self.first_bytes.done():
            self.first_bytes.set_result(False)


class H3ClientProtocol(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._h3 = H3Connection(self._quic)
        self._requests: dict[int, Request] = {}
        self.authority = b""

    def request(
        self, method: str, path: str, file: str | None, body: bytes | None = None
    ) -> tuple[int, Request]:
        sid = self._quic.get_next_available_stream_id()
        headers = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", self.authority),
            (b":path", path.encode()),
            (b"user-agent", b"aioquic-h3"),
        ]
        if body is not None:
            headers.append((b"content-length", str(len(body)).encode()))
        self._h3.send_headers(sid, headers, end_stream=body is None)
        if body is not None:
            self._h3.send_data(sid, body, end_stream=True)
        req = Request(f"{method} {path}", file, self._loop)
        self._requests[sid] = req
        self.transmit()
        return sid, req

    def cancel(self, sid: int) -> None:
        """Stop receiving the response (our request side is already finished)."""
        req = self._requests.pop(sid, None)
        if req is not None:
            req.finish("cancelled")
        self._quic.stop_stream(sid, ErrorCode.H3_REQUEST_CANCELLED)
        self.transmit()

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.StreamReset):
            req = self._requests.pop(event.stream_id, None)
            if req is not None:
                req.finish(f"stream reset by the server (0x{event.error_code:x})")
        elif isinstance(event, events.ConnectionTerminated):
            for req in self._requests.values():
                req.finish(f"connection closed (0x{event.error_code:x} {event.reason_phrase})")
            self._requests.clear()
        for h3_event in self._h3.handle_event(event):
            req = self._requests.get(getattr(h3_event, "stream_id", -1))
            if req is None:
                continue
            if isinstance(h3_event, HeadersReceived):
                headers = dict(h3_event.headers)
                req.status = headers.get(b":status", b"").decode()
                if b"content-length" in headers:
                    req.length = int(headers[b"content-length"])
            elif isinstance(h3_event, DataReceived):
                if h3_event.data:
                    if req.fd:
                        req.fd.write(h3_event.data)
                    req.bytes += len(h3_event.data)
                    if not req.first_bytes.done():
                        req.first_bytes.set_result(True)
            if getattr(h3_event, "stream_ended", False):
                del self._requests[h3_event.stream_id]
                req.finish(None)


def basename(path: str) -> str:
    return os.path.basename(path.split("?", 1)[0]) or "index.html"


async def run_client(args: argparse.Namespace) -> None:
    os.makedirs(args.out, exist_ok=True)
    configuration = QuicConfiguration(
        is_client=True,
        alpn_protocols=H3_ALPN,
        server_name=args.server_name,
        max_data=MAX_DATA,
        max_stream_data=MAX_STREAM_DATA,
        idle_timeout=30.0,
    )
    configuration.load_verify_locations(cafile=args.ca)
    paths = list(args.paths)
    async with connect(
        args.host, args.port, configuration=configuration, create_protocol=H3ClientProtocol
    ) as client:
        assert isinstance(client, H3ClientProtocol)
        client.authority = f"{args.server_name}:{args.port}".encode()
        if args.cancel:
            first = paths.pop(0)
            sid, req = client.request("GET", first, None)
            if not await req.first_bytes:
                raise RuntimeError(f"GET {first} (to cancel) ended before any byte: {await req.done}")
            client.cancel(sid)
            log(f"h3-client: cancelled GET {first} after its first bytes")
            print("CANCELLED true", flush=True)
        pending = [client.request("GET", p, os.path.join(args.out, basename(p)))[1] for p in paths]
        if args.post:
            with open(args.post, "rb") as f:
                body = f.read()
            pending.append(client.request("POST", "/echo", os.path.join(args.out, "echo"), body)[1])
        errors = [e for e in await asyncio.gather(*(r.done for r in pending)) if e is not None]
        client.close(error_code=ErrorCode.H3_NO_ERROR)
        await client.wait_closed()
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(pending)} requests failed, first: {errors[0]}")


# -- main ---------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    server = modes.add_parser("h3-server", help="HTTP/3 file and echo server")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=0)
    server.add_argument("--cert", required=True)
    server.add_argument("--key", required=True)
    server.add_argument("--root", required=True)
    server.add_argument("--timeout", type=float, default=120.0)
    client = modes.add_parser("h3-client", help="HTTP/3 client")
    client.add_argument("--host", default="127.0.0.1")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--ca", required=True)
    client.add_argument("--server-name", default="localhost")
    client.add_argument("--out", required=True)
    client.add_argument("--timeout", type=float, default=60.0)
    client.add_argument("--post", metavar="FILE")
    client.add_argument("--cancel", action="store_true")
    client.add_argument("paths", nargs="*", metavar="PATH")
    for p in (server, client):
        p.add_argument("--h3", action="store_true", help="accepted for symmetry with other drivers")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.mode == "h3-server":
        try:
            return asyncio.run(run_server(args))
        except Exception as err:  # noqa: BLE001 - report start-up failures plainly
            print(f"ERROR {one_line(f'{type(err).__name__}: {err}')}", flush=True)
            return 1
    if not args.paths and not args.post:
        print("ERROR no PATH and no --post", flush=True)
        return 1
    if args.cancel and not args.paths:
        print("ERROR --cancel needs a PATH", flush=True)
        return 1
    try:
        asyncio.run(asyncio.wait_for(run_client(args), timeout=args.timeout))
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # noqa: BLE001 - the ERROR line is the contract
        kind = "timeout" if isinstance(err, asyncio.TimeoutError) else type(err).__name__
        print(f"ERROR {one_line(f'{kind}: {err}')}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
