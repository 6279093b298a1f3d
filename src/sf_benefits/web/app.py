"""The FastAPI application: server-rendered pages, the JSON API under /api, static files, jobs."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import plotly
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from sf_benefits import __version__
from sf_benefits.store import Store
from sf_benefits.web.access import NotSignedIn, current_principal
from sf_benefits.web.api_schemas import install_openapi
from sf_benefits.web.benchmark_view import warm_benchmarks
from sf_benefits.web.jobs import JobRunner
from sf_benefits.web.settings import WebSettings
from sf_benefits.web.templating import render

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
"""Served with secure cookies means served over HTTPS: browsers must never fall back to HTTP."""
API_DESCRIPTION = """JSON API of SF Benefits. Sign in with `POST /api/session`; the session
cookie it sets authenticates later calls. Every write (POST, PATCH, DELETE) must send the
session's CSRF token (from `GET /api/session`) in the `X-CSRF-Token` header. Counts of children
from 1 to 5 are returned as "c"; every £ figure comes with its price base."""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def create_app(store: Store | None = None, settings: WebSettings | None = None,
               runner: JobRunner | None = None) -> FastAPI:
    """Build the app on a store (default: the configured one) with its settings and job pool."""
    import sf_benefits.web.tables  # noqa: F401  (the web tables join the shared metadata)

    store = store or Store.open()
    settings = settings or WebSettings()
    if runner is None:
        from sf_benefits.web.services import JOB_FUNCTIONS, warm_projection

        runner = JobRunner(store, JOB_FUNCTIONS, settings.job_mode, settings.job_workers,
                           warm_up=warm_projection)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """Prepare every LA's overview in the background; stop the job pool at the end."""
        stop = threading.Event()
        if settings.warm_benchmarks:
            threading.Thread(target=warm_benchmarks, args=(store, stop),
                             kwargs={"status": app.state.benchmarks_prepared}, daemon=True,
                             name="sfb-warm-benchmarks").start()
        yield
        stop.set()
        runner.shutdown()

    app = FastAPI(
        title="SF Benefits", version=__version__, description=API_DESCRIPTION,
        docs_url=None, redoc_url=None, openapi_url="/api/openapi.json", lifespan=lifespan,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.runner = runner
    app.state.benchmarks_prepared = {}

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                    ) -> Response:
        """Refuse oversized bodies; add security and no-store cache headers."""
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_upload_bytes + 64 * 1024:
            return JSONResponse({"detail": "The upload is too large."}, status_code=413)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        if settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        """Pages go to the sign-in form (coming back afterwards); the API answers 401."""
        if _is_api(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Errors as JSON for the API and as a plain page for people."""
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        titles = {403: "You cannot see this page", 404: "Page not found",
                  413: "The upload is too large", 429: "Too many attempts"}
        return render(request, "error.html", current_principal(request),
                      status_code=exc.status_code,
                      title=titles.get(exc.status_code, "Something went wrong"),
                      detail=exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        """Invalid input, named field by field."""
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": errors}, status_code=422)
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}"
                           for e in errors)
        return render(request, "error.html", current_principal(request), status_code=422,
                      title="Some of the values are not valid", detail=detail)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """plotly.js from the installed plotly package (no CDN)."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        """The API described from its OpenAPI document, served locally."""
        return render(request, "api_docs.html", current_principal(request),
                      title="JSON API", spec=app.openapi())

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, object]:
        """Liveness check for the deployment, with how many LA overviews are prepared."""
        return {"status": "ok", "benchmarks": app.state.benchmarks_prepared}

    from sf_benefits.web.api import PUBLIC_OPERATIONS, public_router
    from sf_benefits.web.api import router as api_router
    from sf_benefits.web.pages import router as page_router

    app.include_router(page_router)
    app.include_router(public_router)
    app.include_router(api_router)
    install_openapi(app, PUBLIC_OPERATIONS)
    return app
