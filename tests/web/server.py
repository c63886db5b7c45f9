"""A loopback HTTP server that plays the web in tests: sites, feeds, robots.txt, faults.

Each `Site` is a map of path (with query) -> `Resp` or a callable(request) -> Resp, served
on its own 127.0.0.x address so hosts differ (allowed_domains is by host). Every request
is logged (host, method, path, headers) so tests can assert on what was fetched, and the
servers run on daemon threads that `stop()` shuts down.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Union


@dataclass
class Resp:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False

    def payload(self) -> bytes:
        b = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        return gzip.compress(b) if self.gzip else b


@dataclass
class Hit:
    host: str
    method: str
    path: str
    headers: dict[str, str]
    status: int


Handler = Union[Resp, Callable[["Request"], Resp]]


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    count: int  # how many times this path was requested before, this one included


class Site:
    """One host: routes by exact path+query; unknown paths are 404."""

    def __init__(self, host: str = "127.0.0.1", routes: dict[str, Handler] | None = None) -> None:
        self.host = host
        self.routes: dict[str, Handler] = dict(routes or {})
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.server is not None, "site not started"
        return self.server.server_address[1]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up (size limits, killed crawls) are expected here


class Web:
    """Starts sites on free ports of their loopback addresses and records every request."""

    def __init__(self, *sites: Site) -> None:
        self.sites = list(sites)
        self.log: list[Hit] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def start(self) -> "Web":
        for site in self.sites:
            site.server = _QuietServer((site.host, 0), self._handler_for(site))
            site.server.daemon_threads = True
            site.thread = threading.Thread(target=site.server.serve_forever, kwargs={"poll_interval": 0.1},
                                           daemon=True)
            site.thread.start()
        return self

    def stop(self) -> None:
        for site in self.sites:
            if site.server is not None:
                site.server.shutdown()
                site.server.server_close()

    def __enter__(self) -> "Web":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hits(self, host: str | None = None, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.log if (host is None or h.host == host) and (path is None or h.path == path)]

    def paths(self, host: str) -> list[str]:
        return [h.path for h in self.hits(host)]

    def clear(self) -> None:
        with self._lock:
            self.log.clear()

    def _handler_for(self, site: Site) -> type[BaseHTTPRequestHandler]:
        web = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with web._lock:
                    key = (site.host, self.path)
                    web._counts[key] = web._counts.get(key, 0) + 1
                    count = web._counts[key]
                handler = site.routes.get(self.path)
                if handler is None:
                    resp = Resp("<html><body>not found</body></html>", status=404)
                elif callable(handler):
                    resp = handler(Request(self.path, headers, count))
                else:
                    resp = handler
                with web._lock:
                    web.log.append(Hit(site.host, self.command, self.path, headers, resp.status))
                payload = resp.payload()
                self.send_response(resp.status)
                if resp.content_type:
                    self.send_header("Content-Type", resp.content_type)
                if resp.gzip:
                    self.send_header("Content-Encoding", "gzip")
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if not head and resp.status not in (204, 304):
                    self.wfile.write(payload)

        return H
