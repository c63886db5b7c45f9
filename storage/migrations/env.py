"""Alembic environment: runs on the connection storage.migrate hands over."""

from __future__ import annotations

from alembic import context

from storage.models import Base
from storage.search import include_name

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` command line: build an engine from sqlalchemy.url
    from storage.db import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True,
                          include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                          include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()
