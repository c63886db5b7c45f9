"""Databases that misbehave: SQLite locked by another writer, PostgreSQL down at start,
PostgreSQL restarted in the middle of a crawl (a TCP proxy cut and restored, so the server
other tests share is not touched). Each test names the defence it checks."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from crawler.items import Record
from storage.db import open_db
from storage.stories import store_records
from tests.conftest import ROOT, defnews_cmd, run_defnews
from tests.web.fixtureweb import config_yaml, expected, start_web
from tests.web.tcpproxy import TcpProxy

NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)
PARAS = ("أعلنت وزارة الدفاع عن وصول الدفعة الأولى من المقاتلات الجديدة إلى قاعدة جوية في الشمال.",
         "وقال المتحدث إن الطائرات ستدخل الخدمة بعد استكمال برنامج التدريب للطيارين والفنيين.")


def _record(i: int) -> Record:
    return Record(source="s", url=f"http://s.test/{i}", title=f"خبر رقم {i} عن المقاتلات",
                  text=f"{PARAS[0]} {i}\n\n{PARAS[1]} {i * 7}", author="", published_at=NOW,
                  date_source="feed", language="ar", fetched_at=NOW)


def test_sqlite_locked_by_another_writer_is_waited_for_and_nothing_is_lost(tmp_path):
    """Defence: SQLite's busy timeout (storage/db.py, 60 s) and store_records' retry of
    "database is locked": a batch that meets another writer's lock waits, then stores all."""
    path = tmp_path / "locked.db"
    engine, factory = open_db(f"sqlite:///{path}")
    holder = sqlite3.connect(path, timeout=1, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    holder.execute("UPDATE stories SET title = title WHERE 0")
    release = threading.Timer(1.5, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        outcomes = store_records(factory, [_record(i) for i in range(5)])
        waited = time.monotonic() - started
    finally:
        release.join()
        holder.close()
    assert [o.status for o in outcomes] == ["new"] * 5
    assert waited >= 1.0, "the lock was not in the way: the test proves nothing"
    with engine.connect() as con:
        assert con.execute(text("SELECT count(*) FROM stories")).scalar() == 5
    engine.dispose()


@pytest.mark.slow
def test_postgresql_down_at_start_exits_1_with_a_clear_message(tmp_path):
    """Defence: open_db's DatabaseError and the CLI's exit code 1 for it."""
    with socketserver_port() as port:  # a port nothing listens on
        url = f"postgresql+psycopg://127.0.0.1:{port}/test"
    cfg = tmp_path / "config.yaml"
    cfg.write_text("sources:\n  - name: a\n    url: http://127.0.0.1:9/\n", encoding="utf-8")
    proc = run_defnews("--config", str(cfg), "--db", url, "crawl", timeout=60)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"127.0.0.1:{port}" in proc.stderr and "unreachable" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


class socketserver_port:
    """A free local port (bound, then released)."""

    def __enter__(self) -> int:
        import socket

        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.s.close()


def _stories(url: str) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(text("SELECT * FROM stories ORDER BY id"))]
    finally:
        engine.dispose()


def _bands_of_originals(url: str) -> dict[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            rows = con.execute(text(
                "SELECT s.id, (SELECT count(*) FROM story_bands b WHERE b.story_id = s.id)"
                " + (SELECT count(*) FROM story_bands_recent r WHERE r.story_id = s.id)"
                " FROM stories s WHERE s.duplicate_of IS NULL AND s.minhash IS NOT NULL"))
            return {sid: n for sid, n in rows}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_postgresql_restarted_during_a_crawl(pg_schema_url, tmp_path):
    """Defence: the spider's what-is-known lookups and the store pipeline survive the
    database going away: the crawl ends (no hang), says "database unreachable", marks the
    sources failed and exits 1 (before: "ok" with 0 fetched, exit 0); store_records' one
    transaction per batch (nothing half-written); the next run completes the set."""
    proxy = TcpProxy("127.0.0.1", 5432)
    web, sites = start_web()
    try:
        via_proxy = pg_schema_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        assert via_proxy != pg_schema_url
        cfg = tmp_path / "config.yaml"
        cfg.write_text(config_yaml(sites, via_proxy), encoding="utf-8")
        env = {"PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([*defnews_cmd(), "--config", str(cfg), "crawl"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **env}, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while not web.hits() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert web.hits(), "the crawl never started fetching"
        proxy.cut()  # the database goes away while pages are being fetched
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail("the crawl hung after the database went away")
        proxy.restore()
        assert proc.returncode == 1, (out[-2000:], err[-2000:])
        assert "database unreachable while crawling" in out
        assert re.search(r"^.\s*alpha\s+.\s*failed", out, re.M), out[-2000:]
        first = _stories(pg_schema_url)
        # The next run, with the database back, completes the set.
        again = run_defnews("--config", str(cfg), "crawl", timeout=180)
        assert again.returncode == 0, again.stderr[-3000:]
        rows = _stories(pg_schema_url)
        exp = expected(sites)
        assert sorted(r["url"] for r in rows) == sorted(exp), (out[-1500:], err[-1500:])
        for r in rows:
            paragraphs = [p for p in r["text"].split("\n\n") if p.strip()]
            assert paragraphs == list(exp[r["url"]].paragraphs), r["url"]
        bands = _bands_of_originals(pg_schema_url)
        assert set(bands.values()) <= {64}, "an original stored without all its LSH buckets"
        assert len(first) <= len(rows)
    finally:
        web.stop()
        proxy.stop()
