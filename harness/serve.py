"""python -m harness.serve [device=cuda gpus=all build_workers=14] [store=serve.db] [port=8765]

The engine behind an HTTP server (FastAPI on uvicorn), JSON in and out:

    GET    /health            up? device, queue depth
    GET    /status            queue, jobs by state, open jobs per client
    POST   /jobs              {"jobs": [{"problem", "solution", "overrides"?}, ...]} -> {"jobs": [id, ...]}
    GET    /jobs/{id}         {"job", "state", "verdict"?, "reward"?}
    DELETE /jobs/{id}         cancel: {"job", "state"}
    POST   /results           {"jobs": [id, ...]} -> NDJSON, one line per job as it finishes

Errors are {"error": "<one line>"} with the HTTP status (400 bad request, 401 token, 404 no such
job, 413 too large, 429 full or rate-limited with Retry-After, 503 draining). This process never
imports solution code: builders and workers do, as in a batch.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import socket
import sys
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional

import hydra
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from .admission import RequestError, decode_body, parse_ids, parse_jobs
from .config import ServeCfg, register
from .errors import UserError, entry

register()


class Hub:
    """Wakes result streams (on the event loop) when the collector thread records a verdict."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop, self.event = loop, asyncio.Event()

    def wake_threadsafe(self) -> None:
        self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        event, self.event = self.event, asyncio.Event()
        event.set()


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def answer_line(job: str, state: str, verdict: Any, cfg: ServeCfg) -> dict[str, Any]:
    return {"job": job, "state": state, "verdict": verdict.to_dict() if verdict else None,
            "reward": verdict.reward(cfg.reward) if verdict else None}


def create_app(cfg: ServeCfg, make_service: Any) -> Any:
    """make_service() -> Service, called at startup (it restores open jobs and starts the
    engine); the service drains on shutdown."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        service = await asyncio.to_thread(make_service)
        hub = Hub(asyncio.get_running_loop())
        service.listeners.append(hub.wake_threadsafe)
        state.update(service=service, hub=hub)
        yield
        service.draining = True
        await asyncio.to_thread(service.drain, cfg.drain_s)
        await asyncio.to_thread(service.close)

    app = FastAPI(title="kernel-harness", lifespan=lifespan)
    limit = int(cfg.max_request_mb * 2**20)

    def error(status: int, message: str, retry_after: Optional[float] = None) -> JSONResponse:
        body: dict[str, Any] = {"error": message}
        headers = {}
        if retry_after is not None:
            body["retry_after"] = round(retry_after, 3)
            headers["Retry-After"] = str(max(1, round(retry_after)))
        return JSONResponse(body, status, headers=headers)

    @app.exception_handler(RequestError)
    async def refused(request: Request, e: RequestError) -> JSONResponse:
        return error(e.status, e.message, e.retry_after)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        return error(e.status_code, f"{request.method} {request.url.path}: {e.detail}")

    @app.middleware("http")
    async def authorize(request: Request, call_next: Any) -> Any:
        if cfg.token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {cfg.token}".encode()):
                return error(401, "missing or wrong token (Authorization: Bearer ...)")
        return await call_next(request)

    async def body(request: Request) -> Any:
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > limit:
            raise RequestError(413, f"request body is {int(size) / 2**20:.1f} MiB, over the "
                                    f"{cfg.max_request_mb:g} MiB limit")
        chunks, n = [], 0
        async for chunk in request.stream():
            n += len(chunk)
            if n > limit:
                raise RequestError(413, f"request body is over the {cfg.max_request_mb:g} MiB limit")
            chunks.append(chunk)
        return decode_body(b"".join(chunks))

    def client_of(request: Request) -> str:
        return request.headers.get("x-kh-client") or (request.client.host if request.client else "?")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return state["service"].health()

    @app.get("/status")
    async def status() -> dict[str, Any]:
        return await asyncio.to_thread(state["service"].status)

    @app.post("/jobs")
    async def submit(request: Request) -> dict[str, Any]:
        service = state["service"]
        specs = parse_jobs(await body(request), service.limits)
        ids = await asyncio.to_thread(service.submit, specs, client_of(request))
        return {"jobs": ids}

    @app.get("/jobs/{job}")
    async def job(job: str) -> dict[str, Any]:
        (st, v), = (await asyncio.to_thread(state["service"].answers, [job])).values()
        return answer_line(job, st, v, cfg)

    @app.delete("/jobs/{job}")
    async def cancel(job: str) -> dict[str, Any]:
        return {"job": job, "state": await asyncio.to_thread(state["service"].cancel, job)}

    @app.post("/results")
    async def results(request: Request) -> StreamingResponse:
        service, hub = state["service"], state["hub"]
        ids = list(dict.fromkeys(parse_ids(await body(request))))
        first = await asyncio.to_thread(service.answers, ids)   # unknown ids: 404 before the stream

        async def lines() -> AsyncIterator[bytes]:
            remaining, answers = set(ids), first
            while True:
                event = hub.event   # taken before the answers were read: no wake-up is missed
                for j in [j for j in ids if j in remaining]:
                    st, v = answers[j]
                    if st in ("done", "cancelled"):
                        remaining.discard(j)
                        yield (json.dumps(answer_line(j, st, v, cfg), default=str) + "\n").encode()
                if not remaining:
                    return
                try:
                    await asyncio.wait_for(event.wait(), cfg.keepalive_s)
                except asyncio.TimeoutError:
                    yield b"\n"
                answers = await asyncio.to_thread(service.answers, sorted(remaining))

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return app


def run(cfg: ServeCfg) -> int:
    import uvicorn

    from .device import resolve
    from .engine import eval_devices
    from .reward import reward
    from .service import Service
    from .store import Store
    from .verdict import Outcome, Verdict

    if not cfg.token and not is_loopback(cfg.host):
        raise UserError(f"host={cfg.host} is reachable from other machines: set a token "
                        "(KH_SERVE_TOKEN or token=...), or bind to 127.0.0.1")
    try:
        reward(Verdict("", "", Outcome.OK), cfg.reward)
    except ValueError as e:
        raise UserError(str(e)) from None
    base = resolve(cfg.device)
    devices = eval_devices(cfg, base)
    service_box: list[Any] = []

    def make_service() -> Any:
        service_box.append(Service(cfg, base, devices))
        return service_box[0]

    Store(cfg.store or "serve.db").close()   # not a store: one line now, not at startup
    try:   # a port in use: one line now, before any job is restored
        with socket.socket(socket.AF_INET6 if ":" in cfg.host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((cfg.host, cfg.port))
    except OSError as e:
        raise UserError(f"cannot serve on {cfg.host}:{cfg.port}: {e.strerror}") from None

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if service_box:   # refuse new work at once; the lifespan's end drains the rest
                service_box[0].draining = True
            super().handle_exit(sig, frame)

    app = create_app(cfg, make_service)
    print(f"serve: http://{cfg.host}:{cfg.port} on {base.device} ({len(devices)} evaluator(s)) "
          f"-> {cfg.store}", file=sys.stderr, flush=True)
    server = Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level,
                                   lifespan="on", timeout_keep_alive=30))
    server.run()
    return 0


@hydra.main(version_base=None, config_path="../conf", config_name="serve")
@entry
def main(cfg: ServeCfg) -> int:
    return run(cfg)


if __name__ == "__main__":
    entry(main)()
