"""Shared fixtures: the fixture web, the defnews command, and the real database servers.

Tests needing PostgreSQL or Redis use the real servers on 127.0.0.1; where they are not
running the tests skip and say why, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("DEFNEWS_TEST_PG", "postgresql+psycopg://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DEFNEWS_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _need(service: str, host: str, port: int) -> None:
    if _port_open(host, port):
        return
    msg = f"{service} is not running on {host}:{port} (start it, see .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture
def pg_url() -> str:
    _need("PostgreSQL", "127.0.0.1", 5432)
    return PG_URL


@pytest.fixture
def pg_schema_url(pg_url: str):
    """A private schema in the shared test database, dropped afterwards: tests never meet
    each other's rows or a half-made schema in `public`."""
    from tests.web.aggsite import pg_schema

    with pg_schema(pg_url, f"t_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    _need("Redis", "127.0.0.1", 6379)
    return REDIS_URL


def defnews_cmd() -> list[str]:
    """The installed `defnews` script if there is one, else the same entry point via -m."""
    exe = shutil.which("defnews")
    return [exe] if exe else [sys.executable, "-m", "crawler.cli"]


def run_defnews(*args: str, cwd: Path | None = None, timeout: float = 180,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("DEFNEWS_CONFIG", None)
    full_env.pop("DEFNEWS_DB", None)
    return subprocess.run([*defnews_cmd(), *args], cwd=cwd or ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def web():
    from tests.web.fixtureweb import start_web

    w, sites = start_web()
    try:
        yield w, sites
    finally:
        w.stop()
