"""`/admin` and `/admin/`: the way in to the dashboard is its login page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from consent_service.web.admin.session import LOGIN_PATH
from consent_service.web.html import HEADERS


def routes() -> list[Route]:
    return [Route(path, to_login, methods=["GET"]) for path in ("/admin", "/admin/")]


async def to_login(request: Request) -> Response:
    """A 303 to the login, which leads on to the first site's statistics once signed in."""
    return RedirectResponse(LOGIN_PATH, status_code=303, headers=HEADERS)
