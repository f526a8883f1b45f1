"""A Python HTTP hop that forwards each remote_write body, unchanged, to an engine and answers
with the engine's status: the most any receiver served by uvicorn in Python can do in front
of that engine on the same machine.

    python -m bench._relay PORT TARGET_URL
"""

from __future__ import annotations

import sys
from typing import Any

import httpx
import uvicorn

HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def relay(target: str) -> Any:
    client: httpx.AsyncClient | None = None

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal client
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    client = httpx.AsyncClient(timeout=60)
                    await send({"type": "lifespan.startup.complete"})
                else:
                    if client is not None:
                        await client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert client is not None
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 200
        if scope["path"] != "/ready":
            answer = await client.post(target, content=bytes(body), headers=HEADERS)
            status = answer.status_code
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


if __name__ == "__main__":
    uvicorn.run(relay(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
