"""The baseline for `bench.run`: one Starlette route answering a small JSON dict, nothing else.

Run by the benchmark as `uvicorn bench.bare_app:app` with the same settings as the service, so the
ratio service/bare measures what the service adds on top of uvicorn + Starlette.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def bare(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "site": "demo"})


app = Starlette(routes=[Route("/", bare, methods=["GET"])])
