"""Alembic environment: runs on the connection the caller hands over (Database.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

# Every module that declares tables on Base, so ``target`` is the whole schema (autogenerate).
from sagebrush.state import iam_tables, logs, metrics, resources_tables  # noqa: F401
from sagebrush.state.schema import Base

config = context.config
target = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("connection_url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(str(url))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
