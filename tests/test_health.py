"""Run records, backoff arithmetic and `defnews sources` (table and --json)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from storage.db import as_utc, open_db, utcnow
from storage.health import SCHEDULER_JOBS_TABLE
from storage.models import CrawlRun, Source
from storage.runs import (RunCounts, apply_backoff, backoff_delay, finish_run, reap_dead_runs, record_exit,
                          start_run)
from tests.conftest import run_defnews


def test_backoff_grows_exponentially_and_is_capped() -> None:
    assert [backoff_delay(n, 60) for n in range(0, 6)] == [0, 60, 120, 240, 480, 960]
    assert backoff_delay(30, 60) == 24 * 3600
    assert backoff_delay(3, 2 * 24 * 3600) == 2 * 24 * 3600, "never less often than... once a period"


def test_failures_back_off_and_success_resets(tmp_path: Path) -> None:
    engine, f = open_db(f"sqlite:///{tmp_path / 'h.db'}")
    untils = []
    for _ in range(3):
        run = start_run(f, "dead", "http://dead.example/")
        finish_run(f, run, "failed", RunCounts(errors=["feed http://dead.example/feed failed: refused"]))
        untils.append(apply_backoff(f, "dead", 10))
    with f() as s:
        src = s.query(Source).filter_by(name="dead").one()
        assert src.consecutive_failures == 3 and src.last_status == "failed"
        last = as_utc(src.last_run_at)
    assert untils[-1] is not None and abs((untils[-1] - last).total_seconds() - 40) < 1
    run = start_run(f, "dead", "http://dead.example/")
    finish_run(f, run, "ok", RunCounts(pages=1, new=1))
    assert apply_backoff(f, "dead", 10, before=untils[-1]) is None
    with f() as s:
        src = s.query(Source).filter_by(name="dead").one()
        assert (src.consecutive_failures, src.backoff_until, src.last_error) == (0, None, None)
    engine.dispose()


def test_runs_of_dead_processes_are_marked_killed(tmp_path: Path) -> None:
    engine, f = open_db(f"sqlite:///{tmp_path / 'h.db'}")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    orphan = start_run(f, "src", "http://src.example/")
    with f.begin() as s:
        s.get(CrawlRun, orphan).pid = child.pid  # as if that process had started it and died
    live = start_run(f, "src", "http://src.example/")  # a new run reaps the dead one
    assert reap_dead_runs(f, "src") == 0, "nothing left to reap; ours is alive"
    with f() as s:
        dead_run, live_run = s.get(CrawlRun, orphan), s.get(CrawlRun, live)
        assert dead_run.status == "killed" and dead_run.ended_at is None
        assert "ended without finishing" in dead_run.error
        assert live_run.status == "running"
    # the scheduler's view of a child that crashed before opening a run
    rid = record_exit(f, "other", "http://o.example/", pid=child.pid, started_at=utcnow(), status="crashed",
                      error="Traceback: boom")
    with f() as s:
        r = s.get(CrawlRun, rid)
        assert (r.status, r.error) == ("crashed", "Traceback: boom") and r.ended_at is not None
        assert s.query(Source).filter_by(name="other").one().consecutive_failures == 1
    engine.dispose()


def test_sources_command_shows_health_and_next_run(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    engine, f = open_db(f"sqlite:///{db}")
    run = start_run(f, "good", "http://good.example/")
    finish_run(f, run, "ok", RunCounts(pages=2, new=2))
    for _ in range(2):
        run = start_run(f, "dead", "http://dead.example/")
        finish_run(f, run, "failed", RunCounts(errors=["feed http://dead.example/feed failed: Connection refused"]))
    until = apply_backoff(f, "dead", 3600)
    nxt = utcnow() + timedelta(minutes=7)
    with engine.begin() as con:  # the scheduler's job store, as APScheduler writes it
        con.execute(text(f"CREATE TABLE {SCHEDULER_JOBS_TABLE} (id VARCHAR(191) PRIMARY KEY, "
                         "next_run_time FLOAT, job_state BLOB NOT NULL)"))
        con.execute(text(f"INSERT INTO {SCHEDULER_JOBS_TABLE} VALUES ('crawl:good', :t, x'00')"),
                    {"t": nxt.timestamp()})
        con.execute(text(f"INSERT INTO {SCHEDULER_JOBS_TABLE} VALUES ('crawl:dead', :t, x'00')"),
                    {"t": nxt.timestamp()})
    engine.dispose()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"""database: sqlite:///{db}
sources:
  - name: good
    url: http://good.example/
  - name: dead
    url: http://dead.example/
    schedule: every 1h
  - name: new
    url: http://new.example/
""", encoding="utf-8")
    r = run_defnews("--config", str(cfg), "sources", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["good"]["status"] == "ok" and rows["good"]["failures_in_a_row"] == 0
    assert rows["good"]["next_run"] == nxt.isoformat(timespec="seconds")
    dead = rows["dead"]
    assert dead["failures_in_a_row"] == 2 and dead["status"] == "failed, backing off"
    assert dead["backoff_until"] == until.isoformat(timespec="seconds")
    assert dead["next_run"] == dead["backoff_until"], "the backoff pushes the next run out"
    assert "Connection refused" in dead["last_error"]
    assert rows["new"]["status"] == "never run" and rows["new"]["stories"] == 0
    table = run_defnews("--config", str(cfg), "sources")
    assert table.returncode == 0
    assert "backing off" in table.stdout and "Connection refused" in table.stdout
