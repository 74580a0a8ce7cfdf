"""A fast delivery sink for benchmarks: counts deliveries and measures end-to-end latency.

Each delivery's JSON carries `sent_at` (the sender's clock, same machine); the sink keeps
`now - sent_at` for each one. `GET /stats` returns the count, first/last receive times and
latency percentiles; `POST /reset` forgets everything. Run: `uvicorn sink:app`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

_state: dict[str, Any] = {"count": 0, "first": None, "last": None, "latencies": []}


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    now = time.time()
    path = scope["path"]
    if path == "/stats":
        lat = _state["latencies"]
        answer = {
            "count": _state["count"],
            "first": _state["first"],
            "last": _state["last"],
            "p50_ms": _percentile(lat, 50),
            "p99_ms": _percentile(lat, 99),
            "p999_ms": _percentile(lat, 99.9),
        }
        await _reply(send, orjson.dumps(answer))
        return
    if path == "/reset":
        _state.update(count=0, first=None, last=None, latencies=[])
        await _reply(send, b"{}")
        return
    _state["count"] += 1
    _state["first"] = _state["first"] or now
    _state["last"] = now
    if body[:1] == b"{":
        sent_at = orjson.loads(body).get("sent_at")
        if sent_at:
            _state["latencies"].append((now - float(sent_at)) * 1000)
    await _reply(send, b'{"ok":true}')


async def _reply(send: Any, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
