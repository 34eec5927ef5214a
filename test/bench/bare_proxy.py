"""A reference row of the tier-2 part of `npm run bench`: the least a Python reverse proxy does.

Plain ASGI under the same uvicorn, with one aiohttp session as the generated gateway's: it strips
the prefix, drops the hop-by-hop headers, sends the request on and relays the answer. No
middleware, authentication, rate limit, request id, retry, breaker, deadline or streaming. Its
ratio to a direct call is the ceiling a gateway written in Python reaches on the machine of the
run, in that run; the generated gateway's row reads against it.
"""

import os
from typing import Any

import aiohttp

UPSTREAM = os.environ["BENCH_UPSTREAM_URL"]
PREFIX = os.environ["BENCH_PREFIX"]
DROPPED = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"host", b"date", b"server"}
)


def create_app() -> Any:
    session: aiohttp.ClientSession | None = None

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal session
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=0),
                        cookie_jar=aiohttp.DummyCookieJar(),
                        auto_decompress=False,
                    )
                    await send({"type": "lifespan.startup.complete"})
                else:
                    if session is not None:
                        await session.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert session is not None
        url = UPSTREAM + scope["path"].removeprefix(PREFIX)
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name not in DROPPED
        ]
        async with session.request(
            scope["method"], url, headers=headers, allow_redirects=False
        ) as response:
            body = await response.read()
            relayed = [
                (name.lower(), value)
                for name, value in response.raw_headers
                if name.lower() not in DROPPED
            ]
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": relayed,
                }
            )
            await send({"type": "http.response.body", "body": body})

    return app
