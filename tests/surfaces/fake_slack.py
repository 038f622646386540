"""A stand-in for Slack's servers, speaking their wire format over loopback HTTP and websockets.

Web API methods the app calls (`auth.test`, `chat.postMessage`, `chat.update`, `apps.connections.open`)
answer as Slack does, form- or JSON-encoded; `rate_limit(method, n)` makes the next `n` calls of a
method answer 429 with `Retry-After`. `/link` is a Socket Mode websocket: it says hello, pushes the
envelopes a test queues, and records the acks. `sign` makes the signature headers Slack sends with
each Events API request, `event_body` and `post_event` make and send one as Slack does. Tests wait on
`wait_for(predicate)`, which wakes on every recorded call (`wait_answered`: a thread's answers).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

TEAM, BOT_USER, SIGNING_SECRET = "T0TEAM", "U0BOT", "8f742231b10e8888abcd99yyyzzz85a5"


def sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs an Events API request with (v0 HMAC-SHA256 of `v0:ts:body`)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    updates: list[dict[str, Any]] = field(default_factory=list)  # each chat.update's {text, blocks}

    @property
    def shown(self) -> dict[str, Any]:
        """What Slack shows now: the last update, or the message as posted."""
        return self.updates[-1] if self.updates else {"text": self.text, "blocks": self.blocks}


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.messages: dict[str, Message] = {}
        self.limited: dict[str, int] = {}
        self.envelopes: queue.Queue[dict[str, Any]] = queue.Queue()
        self.acks: list[str] = []
        self.ws_url = ""
        self._ts = itertools.count(1)
        self._changed = threading.Condition()
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["POST", "GET"]),
                WebSocketRoute("/link", self._socket),
            ]
        )

    # what tests use -------------------------------------------------------------------------------
    def rate_limit(self, method: str, times: int) -> None:
        self.limited[method] = times

    def wait_for(self, predicate: Any, timeout: float = 60) -> Any:
        with self._changed:
            ok = self._changed.wait_for(predicate, timeout)
        assert ok, f"timed out; calls so far: {[c[0] for c in self.calls]}"
        return ok

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == thread_ts]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args, _ in self.calls if name == method]

    # the wire ---------------------------------------------------------------------------------------
    async def _api(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if request.headers.get("content-type", "").startswith("application/json"):
            args = await request.json()
        else:
            args = dict(await request.form()) | dict(request.query_params)
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        if self.limited.get(method):
            self.limited[method] -= 1
            self._record(f"{method}:429", args)
            return JSONResponse(
                {"ok": False, "error": "ratelimited"}, status_code=429, headers={"Retry-After": "1"}
            )
        body = self._answer(method, args)
        self._record(method, args)
        return JSONResponse(body)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            identity = {"url": "https://acme.slack.com/", "team": "Acme", "user": "bbscout", "team_id": TEAM}
            return {
                "ok": True,
                **identity,
                "user_id": BOT_USER,
                "bot_id": "B0BOT",
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = f"1764430000.{next(self._ts):06d}"
            channel = str(args["channel"])
            self.messages[ts] = Message(
                channel, ts, args.get("thread_ts"), args.get("text", ""), args.get("blocks") or []
            )
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": args.get("text", ""), "ts": ts},
            }
        if method == "chat.update":
            message = self.messages.get(str(args["ts"]))
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.updates.append({"text": args.get("text", ""), "blocks": args.get("blocks") or []})
            return {"ok": True, "channel": message.channel, "ts": message.ts, "text": args.get("text", "")}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        return {"ok": False, "error": "unknown_method"}

    def _record(self, method: str, args: dict[str, Any]) -> None:
        with self._changed:
            self.calls.append((method, args, time.monotonic()))
            self._changed.notify_all()

    async def _socket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})

        async def push() -> None:
            while True:
                envelope = await asyncio.to_thread(self.envelopes.get)
                if envelope:
                    await websocket.send_json(envelope)

        pushing = asyncio.create_task(push())
        try:
            while True:
                reply = json.loads(await websocket.receive_text())
                with self._changed:
                    self.acks.append(reply.get("envelope_id", ""))
                    self._changed.notify_all()
        except WebSocketDisconnect:
            pass
        finally:
            pushing.cancel()
            self.envelopes.put({})  # wakes the thread blocked in get(); pushers skip it


_event_ids = iter(range(1, 10_000))


def event_body(event: dict[str, Any], team: str = TEAM) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": "A0BBSCOUT",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
    }


async def post_event(url: str, body: dict[str, Any], **sign_args: Any) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign(raw, **sign_args)}
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=raw, headers=headers)


def answered(fake: FakeSlack, channel: str, thread_ts: str, count: int = 1) -> list[Message]:
    """Wait until `count` messages in the thread show an answer (their last update is not progress)."""

    def done() -> bool:
        shown = [m.shown for m in fake.thread(channel, thread_ts)]
        return len(shown) >= count and all(s["text"] != "Looking into it…" for s in shown)

    fake.wait_for(done)
    return fake.thread(channel, thread_ts)


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def wait_answered(fake: FakeSlack, channel: str, thread_ts: str, count: int = 1) -> list[Message]:
    return await asyncio.to_thread(answered, fake, channel, thread_ts, count)
