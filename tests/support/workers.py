"""Which worker of a multi-process server holds a connection, read from /proc."""

from __future__ import annotations

import asyncio
import os
from contextlib import suppress
from pathlib import Path

from .live_server import ServerProcess
from .raw_http import RawResponse, read_raw_response


def serving_worker(server: ServerProcess, client_port: int) -> int:
    """The PID of the worker holding the server side of the connection from `client_port`."""
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if (local_port, remote_port) == (server.port, client_port):
            inode = fields[9]
    for pid in server.worker_pids():
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            with suppress(OSError):
                if os.readlink(descriptor) == f"socket:[{inode}]":
                    return pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


class KeptAlive:
    """One keep-alive connection to the server, spoken to by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.port = int(writer.get_extra_info("sockname")[1])

    async def send(self, request: bytes) -> RawResponse:
        """Send one whole request and read its response."""
        self.writer.write(request)
        await self.writer.drain()
        return await read_raw_response(self.reader, to_head=request.startswith(b"HEAD "))

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


async def one_connection_per_worker(server: ServerProcess, workers: int = 2) -> list[KeptAlive]:
    """Open keep-alive connections until each worker holds one; return one per worker."""
    by_worker: dict[int, KeptAlive] = {}
    for _ in range(40):
        connection = KeptAlive(*await asyncio.open_connection("127.0.0.1", server.port))
        # Once a request is answered, a worker has surely accepted the connection.
        await connection.send(b"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        worker = serving_worker(server, connection.port)
        if worker in by_worker:
            connection.close()
        else:
            by_worker[worker] = connection
        if len(by_worker) == workers:
            return list(by_worker.values())
    raise AssertionError("the connections never reached every worker")
