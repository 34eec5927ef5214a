"""The baseline of `npm run bench`: a bare FastAPI app with the endpoints the benchmark calls.

It is copied into the generated project and served by the same uvicorn, with the same settings, from
the same virtualenv. It does the same visible work as the generated app (validates the same request
shapes, answers the same response shapes, streams the same words with the same pause between them)
without middleware, authentication, logging, an agent registry or a tool loop.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, WebSocket, WebSocketDisconnect
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

AgentName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
AgentInput = Annotated[str, Field(min_length=1, max_length=20_000)]


class Echo(BaseModel):
    message: str


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: AgentName = "assistant"
    input: AgentInput
    timeout_seconds: float | None = Field(default=None, gt=0)


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0


class RunResult(BaseModel):
    run_id: str
    agent: str
    output: str
    usage: Usage
    tool_calls: list[dict[str, Any]]
    stop_reason: Literal["end_turn", "max_steps"] = "end_turn"


def _words(text: str) -> list[str]:
    """The reply of the generated app's local agent to a plain message, word by word."""
    words = f"You said: {text}".split(" ")
    return [word if index == len(words) - 1 else f"{word} " for index, word in enumerate(words)]


def _result(request: RunRequest, words: list[str]) -> RunResult:
    usage = Usage(input_tokens=len(request.input.split()), output_tokens=len(words))
    return RunResult(
        run_id=uuid.uuid4().hex,
        agent=request.agent,
        output="".join(words),
        usage=usage,
        tool_calls=[],
    )


def create_app() -> FastAPI:
    app = FastAPI()
    # The generated app reads the same variable for its local agent.
    delay = float(os.environ.get("AGENT_LOCAL_TOKEN_DELAY_SECONDS", "0.02"))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @app.post("/agents/run")
    async def run(body: RunRequest) -> RunResult:
        words = _words(body.input)
        for _ in words:
            await asyncio.sleep(delay)
        return _result(body, words)

    @app.get("/agents/run/stream", response_class=EventSourceResponse)
    async def stream(
        input: Annotated[str, Query(min_length=1, max_length=20_000)],
        agent: Annotated[str, Query()] = "assistant",
    ) -> AsyncIterable[ServerSentEvent]:
        request = RunRequest(agent=agent, input=input)
        words = _words(request.input)
        for word in words:
            await asyncio.sleep(delay)
            yield ServerSentEvent(event="token", data={"type": "token", "text": word})
        result = _result(request, words).model_dump(mode="json")
        yield ServerSentEvent(event="result", data={"type": "result", "result": result})

    @app.websocket("/agents/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive_json()
                if message.get("type") == "ping":
                    await websocket.send_json({"type": "pong"})
                    continue
                request = RunRequest(input=message["input"])
                run_id = message.get("run_id") or uuid.uuid4().hex
                await websocket.send_json({"type": "run_started", "run_id": run_id})
                words = _words(request.input)
                for word in words:
                    await asyncio.sleep(delay)
                    await websocket.send_json({"run_id": run_id, "type": "token", "text": word})
                result = _result(request, words).model_dump(mode="json")
                await websocket.send_json({"run_id": run_id, "type": "result", "result": result})
        except WebSocketDisconnect:
            pass

    return app
