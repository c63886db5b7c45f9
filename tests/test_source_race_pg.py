"""Workers registering the same source at the same moment on PostgreSQL (storage.runs)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from storage.db import open_db
from storage.runs import ensure_source
from tests.web.aggsite import wait_for

pytestmark = pytest.mark.postgres


def test_two_transactions_register_one_source_without_a_unique_violation(pg_schema_url, unique):
    """The second INSERT waits for the first transaction on the unique index, then does
    nothing and reads the row; a check-then-insert would raise UniqueViolation here."""
    app = f"race-{unique}"
    engine, factory = open_db(f"{pg_schema_url}&application_name={app}")
    first_done, errors, ids = threading.Event(), [], []
    try:
        first = factory()
        first.begin()
        ids.append(ensure_source(first, "src", "http://127.0.0.1/").id)  # not committed yet

        def second() -> None:
            try:
                with factory.begin() as session:
                    ids.append(ensure_source(session, "src", "http://127.0.0.1/").id)
            except Exception as exc:  # pragma: no cover - what the test is about
                errors.append(exc)
            finally:
                first_done.set()

        t = threading.Thread(target=second)
        t.start()
        with engine.connect() as con:  # the second transaction is waiting on the first's row lock
            wait_for(lambda: con.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND application_name = :a"), {"a": app}).scalar() >= 1, 30, "the second insert to wait")
        first.commit()
        first.close()
        t.join(30)
        assert not errors, errors
        assert len(ids) == 2 and ids[0] == ids[1]
    finally:
        engine.dispose()
