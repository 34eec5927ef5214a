"""CPU time per request of an ASGI app, called in process: no server, no socket, no client.

    python asgi_cost.py MODULE:FACTORY --token JWT [--requests N]

Prints one line, `BENCH_ASGI_COST {"/health": microseconds, ...}`, for GET /health, POST /echo and
POST /agents/run, each the lowest of three batches of N requests after a warm-up. CPU time of the
process is counted, not wall time, so other work on a shared machine changes the figures less than
it changes requests per second over loopback.
"""

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager

Message = dict[str, Any]
ASGIApp = Callable[..., Any]

REQUESTS: list[tuple[str, str, bytes]] = [
    ("GET", "/health", b""),
    ("POST", "/echo", b'{"message": "benchmark"}'),
    ("POST", "/agents/run", b'{"input": "benchmark"}'),
]


async def call(app: ASGIApp, method: str, path: str, body: bytes, token: str) -> int:
    """One request through the app, as uvicorn would make it; returns the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    finished = asyncio.Event()
    delivered = False
    status = 0

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    await app(scope, receive, send)
    return status


async def cost(app: ASGIApp, method: str, path: str, body: bytes, token: str, n: int) -> float:
    for _ in range(max(100, n // 10)):
        status = await call(app, method, path, body, token)
        if status != 200:
            raise SystemExit(f"{method} {path} answered {status}")
    batches = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(n):
            await call(app, method, path, body, token)
        batches.append((time.process_time() - started) / n * 1e6)
    return min(batches)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    module, _, factory = args.target.partition(":")
    sys.path.insert(0, str(Path.cwd()))  # the bare app sits in the project directory
    app = getattr(importlib.import_module(module), factory)()
    async with LifespanManager(app) as manager:
        figures = {
            path: await cost(manager.app, method, path, body, args.token, args.requests)
            for method, path, body in REQUESTS
        }
    sys.stdout.write(f"BENCH_ASGI_COST {json.dumps(figures)}\n")


if __name__ == "__main__":
    asyncio.run(main())
