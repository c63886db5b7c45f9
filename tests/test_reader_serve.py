"""`defnews serve` as a user runs it: a real process on loopback, stopped by SIGTERM."""

from __future__ import annotations

import signal
import time
import urllib.request

import pytest

from tests.conftest import run_defnews
from tests.web.readerdata import CONFIG, fill, serving


@pytest.mark.slow
def test_serve_answers_then_stops_cleanly_on_sigterm(tmp_path):
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    ids = fill(db, bulk=2)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    with serving(db, cfg) as (base, proc):
        with urllib.request.urlopen(base + "/", timeout=10) as r:
            html = r.read().decode("utf-8")
        assert r.status == 200 and 'dir="rtl"' in html
        with urllib.request.urlopen(f"{base}/story/{ids['https://alpha.example/israel']}", timeout=10) as r:
            assert "صحراء النقب" in r.read().decode("utf-8")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert time.monotonic() - started < 15


def test_serve_rejects_a_bad_port(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    r = run_defnews("--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'x.db'}", "serve",
                    "--port", "70000")
    assert r.returncode == 2 and "--port" in r.stderr
