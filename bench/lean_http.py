"""A lean HTTP/1.1 keep-alive client for load generation on the server's own cores.

``bench_load.py`` runs its load generator on the same 2 cores as the server it measures. httpx
spends ~4 ms of CPU a request there (its async pool, request/response models and header objects;
``client_cpu_ms_per_request`` in the JSON), about 40% of what the server spends on a search, so the
generator takes cores the server needs. wrk/wrk2 (C) are the usual answer; this is the same idea in a
few lines of asyncio: a fixed set of keep-alive connections, requests written as bytes, responses
read by ``Content-Length`` (the server always sends it; chunked replies are refused loudly); a
reply saying ``Connection: close`` closes its connection (the next request opens a new one). It only
speaks to the server under test on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    status: int
    retry_after: float | None


class LeanPool:
    """``size`` keep-alive connections to ``url``; :meth:`request` waits for an idle one (FIFO)."""

    def __init__(self, url: str, size: int) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.size = size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # opened on first use

    async def request(self, method: str, path: str, body: object = None, timeout: float = 30.0) -> Reply:
        conn = await self._idle.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
            reply, keep = await asyncio.wait_for(self._exchange(conn, method, path, body), timeout)
        except BaseException:
            if conn is not None:
                conn[1].close()
            self._idle.put_nowait(None)  # a fresh connection next time
            raise
        if not keep:  # the server closes it: reusing it would fail the next request
            conn[1].close()
        self._idle.put_nowait(conn if keep else None)
        return reply

    async def _exchange(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], method: str, path: str, body: object
    ) -> tuple[Reply, bool]:
        """The reply, and whether the connection stays open (no ``Connection: close``)."""
        reader, writer = conn
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        writer.write(head.encode() + b"\r\n" + payload)
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, retry, keep = 0, None, True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            if key == "content-length":
                length = int(value)
            elif key == "retry-after":
                retry = float(value)
            elif key == "connection":
                keep = "close" not in value.lower()
            elif key == "transfer-encoding" and "chunked" in value.lower():
                raise RuntimeError("lean client: chunked responses are not supported")
        if length:
            await reader.readexactly(length)
        return Reply(status, retry), keep

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn[1].close()
