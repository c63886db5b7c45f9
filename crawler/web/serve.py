"""Running the reader in the foreground with uvicorn, stopped by SIGINT/SIGTERM.

uvicorn finishes the requests in flight on the first signal (a second one cuts them), then
re-raises the signal so the process dies of it. defnews exits with status 0 instead, like
`defnews schedule`: a stop asked for is a clean stop for systemd and shell scripts.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Iterator

import uvicorn
from starlette.types import ASGIApp

from crawler import defaults



class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(app: ASGIApp, *, host: str, port: int, root_path: str = "", quiet: bool = False) -> bool:
    """Serve until stopped; False when the server never started (port taken, address
    not ours). Behind a reverse proxy on this machine, X-Forwarded-* from 127.0.0.1 is
    trusted, so logs show the reader's address."""
    config = uvicorn.Config(app, host=host, port=port, root_path=root_path,
                            log_level="warning" if quiet else "info", proxy_headers=True,
                            forwarded_allow_ips="127.0.0.1", server_header=False,
                            timeout_graceful_shutdown=defaults.SERVE_GRACE)
    server = _Server(config)
    server.run()
    return server.started
