"""A tiny round-robin HTTP/1.1 reverse proxy (asyncio), for the multi-server load test.

Each *request* (not each connection) goes to the next backend in turn, as nginx's ``upstream``
does with keep-alive clients: one user's ``GET`` of a form and its ``POST`` usually land on two
different servers, which is what proves that sessions and CSRF tokens hold across servers.

Enough HTTP for the load test and no more: request bodies by ``Content-Length`` (a chunked request
gets a 501), one fresh backend connection per request with ``Connection: close`` (so the response
body is everything until the backend closes), the client connection kept alive when the response
is framed (``Content-Length`` or chunked). A backend that refuses the connection is skipped for
that request (counted), as ``proxy_next_upstream`` would. Loopback only.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter

HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"}
CONNECTION_HEADERS = {b"connection", b"keep-alive"}


def _parse_head(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return lines[0], headers


def _header(headers, name: bytes) -> bytes | None:
    return next((v for n, v in headers if n == name), None)


class RoundRobinProxy:
    """``start()`` serves on ``127.0.0.1:port`` in a thread of its own; ``stop()`` ends it.
    ``requests[i]``, ``statuses[i]`` (Counter of status classes) and ``refused[i]`` per backend."""

    def __init__(self, port: int, backends: list[int]):
        self.port = port
        self.backends = backends
        self.requests = Counter()
        self.posts = Counter()
        self.statuses: dict[int, Counter] = {i: Counter() for i in range(len(backends))}
        self.refused = Counter()
        self._cycle = itertools.cycle(range(len(backends)))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loadtest-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("le mandataire n'a pas démarré")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port, backlog=512))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _one_request(self, reader, writer) -> bool:
        """Relay one request and its response; True when the client connection stays open."""
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, headers = _parse_head(head)
        method, _, rest = request_line.partition(b" ")
        if _header(headers, b"transfer-encoding"):
            writer.write(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return False
        body = await reader.readexactly(int(_header(headers, b"content-length") or 0))
        client_close = (_header(headers, b"connection") or b"").lower() == b"close" or rest.endswith(b"HTTP/1.0")
        forwarded = [request_line] + [n + b": " + v for n, v in headers if n not in HOP_BY_HOP]
        forwarded += [b"X-Forwarded-For: 127.0.0.1", b"X-Forwarded-Proto: http", b"Connection: close"]
        outgoing = b"\r\n".join(forwarded) + b"\r\n\r\n" + body

        index, backend = await self._connect()
        if backend is None:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return False
        up_reader, up_writer = backend
        try:
            up_writer.write(outgoing)
            await up_writer.drain()
            status_line, response_headers = _parse_head(await up_reader.readuntil(b"\r\n\r\n"))
            status = int(status_line.split(b" ", 2)[1])
            self.requests[index] += 1
            self.posts[index] += method == b"POST"
            self.statuses[index][f"{status // 100}xx"] += 1
            framed = (_header(response_headers, b"content-length") is not None
                      or (_header(response_headers, b"transfer-encoding") or b"").lower() == b"chunked"
                      or status in (204, 304) or method == b"HEAD")
            keep = framed and not client_close
            out = [status_line] + [n + b": " + v for n, v in response_headers if n not in CONNECTION_HEADERS]
            out.append(b"Connection: keep-alive" if keep else b"Connection: close")
            writer.write(b"\r\n".join(out) + b"\r\n\r\n")
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
            await writer.drain()
            return keep
        finally:
            up_writer.close()

    async def _connect(self):
        for _ in self.backends:
            index = next(self._cycle)
            try:
                return index, await asyncio.open_connection("127.0.0.1", self.backends[index])
            except OSError:
                self.refused[index] += 1
        return None, None
