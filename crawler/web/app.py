"""The web reader: Starlette routes that turn query parameters into storage/reader.py calls
and render the results as HTML (Jinja2, autoescaped), JSON, CSV or Atom.

Read-only by construction: only GET/HEAD routes exist (anything else is a 405), and the
database connections refuse writes (storage.reader.open_reader). Every string that comes
from a crawled page reaches the HTML through Jinja's autoescaping, and the pages carry a
Content-Security-Policy that allows no inline script, so even a bug in escaping could not
run a page's script. Nothing is loaded from the internet: the style sheet and the one
small script (local times) ship in the package, and every page works without the script.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crawler import __version__
from crawler.report import RTL_LANGUAGES, build_feed
from crawler.config import Config
from crawler.opml import sources_opml
from crawler.text.highlight import first_lines, segments, snippet
from crawler.web.format import copies_label, relative_ar, utc_label
from crawler.web.params import BadRequest, ListParams, parse_list_params, story_id
from storage.db import utcnow
from storage.export import COLUMNS as EXPORT_COLUMNS, iso, write_csv
from storage.health import source_health
from storage.reader import (MAX_OFFSET, Page, SessionFactory, StoryRow, cluster, copies_of,
                            get_story,
                            list_stories, related)
from storage.search import query_terms

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # The reader's searches and story ids are nobody else's business, the sites' included.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8",
         "atom": "application/atom+xml; charset=utf-8", "html": "text/html; charset=utf-8"}


def direction(language: str) -> str:
    return "rtl" if (language or "ar").lower().split("-")[0] in RTL_LANGUAGES else "ltr"


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in (text or "").replace("\r\n", "\n").split("\n\n") if p.strip()]


@dataclass
class StoryView:
    """What a template shows of one story (built per story; one that fails is left out)."""

    row: StoryRow
    title: list[tuple[str, bool]]
    lead: list[tuple[str, bool]]
    when_iso: str
    when_utc: str
    when_ago: str
    dir: str
    updated: str = ""  # "عُدّل منذ ساعة": the story was corrected after it was first stored
    copies: list["StoryView"] = field(default_factory=list)
    copies_label: str = ""


def export_row(row: StoryRow) -> dict[str, Any]:
    """The export's columns for one story (CONTRACT.md, storage/export.py), as JSON and
    CSV write them: dates in ISO-8601 UTC, empty when unknown."""
    out: dict[str, Any] = {}
    for column in EXPORT_COLUMNS:
        value = getattr(row, column)
        out[column] = iso(value) if isinstance(value, datetime) or column.endswith("_at") else value
    return out


class Reader:
    """The routes, bound to one database and config."""

    def __init__(self, factory: SessionFactory, cfg: Config,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.factory = factory
        self.cfg = cfg
        self.now = now
        self.env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                               trim_blocks=True, lstrip_blocks=True)

    # -- helpers --------------------------------------------------------------------------

    def view(self, row: StoryRow, terms: list[str], now: datetime) -> StoryView:
        when = row.when
        lead = snippet(row.text, terms) if terms else first_lines(row.text)
        return StoryView(row=row, title=segments(row.title or row.url, terms),
                         lead=segments(lead, terms), when_iso=iso(when), when_utc=utc_label(when),
                         when_ago=relative_ar(when, now), dir=direction(row.language),
                         updated=("عُدّل " + relative_ar(row.updated_at, now)).strip()
                         if row.updated_at else "")

    def views(self, rows: Sequence[StoryRow], terms: list[str], now: datetime) -> list[StoryView]:
        out = []
        for row in rows:
            try:
                out.append(self.view(row, terms, now))
            except Exception:  # one bad story must not break the page
                log.exception("story %s left out of the page", row.id)
        return out

    def render(self, request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        base = request.scope.get("root_path", "")
        html = self.env.get_template(template).render(base=base, version=__version__,
                                                      sources=self.source_names(), **ctx)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def source_names(self) -> list[str]:
        return [s.name for s in self.cfg.sources]

    def error(self, request: Request, status: int, message: str, fmt: str = "html") -> Response:
        if fmt == "json":
            return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)
        if fmt in ("csv", "atom"):
            return PlainTextResponse(message + "\n", status_code=status, headers=SECURITY_HEADERS)
        return self.render(request, "error.html", status=status, message=message, status_code=status)

    @staticmethod
    def link(request: Request, **changes: Any) -> str:
        """This list's URL with some parameters changed (None drops one)."""
        items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
        for k, v in changes.items():
            if v is not None:
                items.append((k, str(v)))
        root, path = request.scope.get("root_path", ""), request.url.path
        if not path.startswith(root + "/"):  # servers differ on whether path holds root_path
            path = root + path
        return path + ("?" + urlencode(items) if items else "")

    # -- routes ---------------------------------------------------------------------------

    def river(self, request: Request) -> Response:
        return self.list_page(request, "html")

    def feed(self, request: Request) -> Response:
        return self.list_page(request, "atom")

    def list_page(self, request: Request, default_format: str) -> Response:
        fmt = request.query_params.get("format") or default_format
        try:
            params = parse_list_params(_multi(request), default_format=default_format,
                                       max_offset=MAX_OFFSET)
        except BadRequest as exc:
            return self.error(request, 400, str(exc), fmt if fmt in MEDIA else "html")
        with self.factory() as session:
            page = list_stories(session, params.filters, limit=params.limit, before=params.before,
                                sort=params.sort, offset=params.offset)
            copies = (copies_of(session, [r.id for r in page.stories if r.duplicate_of is None])
                      if params.format == "html" else {})
        next_url = None
        if page.next_cursor is not None:
            next_url = self.link(request, before=page.next_cursor.token(), offset=None)
        elif page.next_offset is not None:
            next_url = self.link(request, offset=page.next_offset, before=None)
        if params.format == "json":
            return JSONResponse({"stories": [export_row(r) for r in page.stories], "next": next_url},
                                headers=SECURITY_HEADERS)
        if params.format == "csv":
            out = io.StringIO()
            write_csv((export_row(r) for r in page.stories), out)
            return Response(out.getvalue(), media_type=MEDIA["csv"], headers={
                **SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="defnews.csv"'})
        if params.format == "atom":
            fg = build_feed(page.stories, params.filters.sources)
            return Response(fg.atom_str(pretty=True), media_type=MEDIA["atom"],
                            headers=SECURITY_HEADERS)
        return self.river_html(request, params, page, copies, next_url)

    def river_html(self, request: Request, params: ListParams, page: Page,
                   copies: dict[int, list[StoryRow]], next_url: str | None) -> Response:
        now = self.now()
        terms = query_terms(params.filters.q)
        views = self.views(page.stories, terms, now)
        for v in views:
            v.copies = self.views(copies.get(v.row.id, []), [], now)
            n_sources = len({c.row.source for c in v.copies})
            v.copies_label = copies_label(n_sources) if v.copies else ""
        f = params.filters
        return self.render(
            request, "river.html", stories=views, filters=f, params=params, next_url=next_url,
            first_url=self.link(request, before=None, offset=None) if (params.before or params.offset) else None,
            feed_url=self.link(request, format="atom", before=None, offset=None),
            json_url=self.link(request, format="json"), csv_url=self.link(request, format="csv"),
            since=request.query_params.get("since", ""), until=request.query_params.get("until", ""))

    def story(self, request: Request) -> Response:
        try:
            sid = story_id(request.path_params["id"])
        except LookupError:
            return self.error(request, 404, "لا يوجد خبر بهذا الرقم (no such story)")
        with self.factory() as session:
            row = get_story(session, sid)
            if row is None:
                return self.error(request, 404, f"لا يوجد خبر بالرقم {sid} (no story {sid})")
            members = cluster(session, row)
            close = related(session, row)
        if request.query_params.get("format") == "json":
            return JSONResponse({"stories": [export_row(row)],
                                 "copies": [export_row(m) for m in members],
                                 "related": [r.id for r in close]}, headers=SECURITY_HEADERS)
        now = self.now()
        original = next((m for m in members if m.id == row.duplicate_of), None)
        return self.render(
            request, "story.html", story=self.view(row, [], now), paragraphs=paragraphs(row.text),
            original=self.view(original, [], now) if original else None,
            copies=self.views([m for m in members if m.id != row.duplicate_of], [], now),
            related=self.views(close, [], now))

    def sources_page(self, request: Request) -> Response:
        rows = source_health(self.factory, self.cfg.sources)
        if request.query_params.get("format") == "json":
            return JSONResponse({"sources": rows}, headers=SECURITY_HEADERS)
        for r in rows:
            r["error_line"] = (r.get("last_error") or "").strip().split("\n")[0][:300]
        return self.render(request, "sources.html", rows=rows)

    def opml(self, request: Request) -> Response:
        return Response(sources_opml(self.cfg.sources), media_type="text/x-opml; charset=utf-8",
                        headers=SECURITY_HEADERS)


def _multi(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        out.setdefault(k, []).append(v)
    return out


def create_app(factory: SessionFactory, cfg: Config,
               now: Callable[[], datetime] = utcnow) -> Starlette:
    """The reader as an ASGI app (uvicorn serves it; tests call it in-process)."""
    reader = Reader(factory, cfg, now)

    async def not_found(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return reader.error(request, 404, "لا توجد صفحة بهذا العنوان (not found)")
        return PlainTextResponse(exc.detail or "", status_code=exc.status_code,
                                 headers={**SECURITY_HEADERS, **(exc.headers or {})})

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error serving %s", request.url.path, exc_info=exc)
        return PlainTextResponse("خطأ في الخادم (internal error)\n", status_code=500,
                                 headers=SECURITY_HEADERS)

    get = ["GET", "HEAD"]
    routes = [
        Route("/", reader.river, methods=get),
        Route("/feed", reader.feed, methods=get),
        Route("/story/{id}", reader.story, methods=get),
        Route("/sources", reader.sources_page, methods=get),
        Route("/sources.opml", reader.opml, methods=get),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: not_found,
                                                        Exception: server_error})

