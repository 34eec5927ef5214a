"""Opens N agent runs at once against one server and reports how they went, as one JSON line.

    python load_client.py sse|ws BASE_URL N --token JWT --input TEXT [--timeout SECONDS]
                          [--batch B] [--leave-early]

sse: N concurrent `GET /agents/run/stream?input=...` streams (Server-Sent Events).
ws:  N concurrent `/agents/ws` connections; each sends a ping, waits for the pong, then runs
     the agent.

With --batch B, the N sessions are opened B at a time, each batch once the previous one has
closed: many sessions over the life of one server, to see what each leaves behind. With
--leave-early, every second session closes its connection at its run's first token, as a client
that goes away mid-run; it counts as completed when it got that token.

A connection counts as completed when its run ends with a `result` event, and as failed otherwise
(an HTTP error, a refused or dropped connection, an `error` event, or no end within the timeout).
Time to first event is measured from the start of the connection to the run's first token.
Runs with httpx and websockets, both in the generated project's virtualenv.
"""

import argparse
import asyncio
import json
import math
import resource
import sys
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import connect


@dataclass
class Outcome:
    completed: bool
    first_event: float | None = None
    failure: str | None = None


def _failure(exc: BaseException) -> str:
    return type(exc).__name__


async def sse_run(
    client: httpx.AsyncClient, url: str, text: str, leave_early: bool = False
) -> Outcome:
    started = time.perf_counter()
    first: float | None = None
    event = ""
    async with client.stream("GET", url, params={"input": text}) as response:
        if response.status_code != 200:
            return Outcome(False, failure=f"HTTP {response.status_code}")
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                if event == "token" and first is None:
                    first = time.perf_counter() - started
                    if leave_early:
                        return Outcome(True, first)
                if event == "result":
                    return Outcome(True, first)
                if event == "error":
                    code = json.loads(line.removeprefix("data:")).get("code", "?")
                    return Outcome(False, first, f"error event {code}")
    return Outcome(False, first, "stream ended without a result")


async def ws_run(url: str, token: str, text: str, leave_early: bool = False) -> Outcome:
    started = time.perf_counter()
    first: float | None = None
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(url, additional_headers=headers, open_timeout=None) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        if json.loads(await socket.recv()).get("type") != "pong":
            return Outcome(False, failure="no pong")
        await socket.send(json.dumps({"type": "run", "input": text}))
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            kind = message.get("type")
            if kind == "token" and first is None:
                first = time.perf_counter() - started
                if leave_early:
                    return Outcome(True, first)
            elif kind == "result":
                return Outcome(True, first)
            elif kind == "error":
                return Outcome(False, first, f"error event {message.get('code', '?')}")


async def bounded(run: Coroutine[Any, Any, Outcome], limit_seconds: float) -> Outcome:
    try:
        async with asyncio.timeout(limit_seconds):
            return await run
    except TimeoutError:
        return Outcome(False, failure="timeout")
    except Exception as exc:  # every failure is counted by its kind, none stops the others
        return Outcome(False, failure=_failure(exc))


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("sse", "ws"))
    parser.add_argument("base_url")
    parser.add_argument("n", type=int)
    parser.add_argument("--token", required=True)
    parser.add_argument("--input", default="benchmark")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--batch", type=int, default=0, help="sessions open at a time (all: 0)")
    parser.add_argument("--leave-early", action="store_true")
    args = parser.parse_args()
    batch = args.batch or args.n

    started = time.perf_counter()
    outcomes: list[Outcome] = []
    # Every second session leaves at its first token, when asked to.
    leaves = [args.leave_early and index % 2 == 1 for index in range(args.n)]
    if args.mode == "sse":
        limits = httpx.Limits(max_connections=batch, max_keepalive_connections=0)
        headers = {"Authorization": f"Bearer {args.token}"}
        timeout = httpx.Timeout(args.timeout, pool=args.timeout)
        async with httpx.AsyncClient(limits=limits, headers=headers, timeout=timeout) as client:
            url = f"{args.base_url}/agents/run/stream"
            for first in range(0, args.n, batch):
                outcomes += await asyncio.gather(
                    *(
                        bounded(sse_run(client, url, args.input, leave), args.timeout)
                        for leave in leaves[first : first + batch]
                    )
                )
    else:
        url = args.base_url.replace("http://", "ws://", 1) + "/agents/ws"
        for first in range(0, args.n, batch):
            outcomes += await asyncio.gather(
                *(
                    bounded(ws_run(url, args.token, args.input, leave), args.timeout)
                    for leave in leaves[first : first + batch]
                )
            )
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)

    first_events = [o.first_event for o in outcomes if o.completed and o.first_event is not None]
    failures = Counter(o.failure or "?" for o in outcomes if not o.completed)
    report = {
        "n": args.n,
        "completed": sum(o.completed for o in outcomes),
        "failed": sum(not o.completed for o in outcomes),
        "failures": dict(failures),
        "wall_seconds": wall,
        "first_event_p50": percentile(first_events, 0.50),
        "first_event_p99": percentile(first_events, 0.99),
        # The client shares the machine with the server: its CPU time is shown beside the results.
        "client_cpu_seconds": usage.ru_utime + usage.ru_stime,
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
