"""Alembic environment: runs on the connection handed over by :func:`upgrade`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from beatgrid.gis.io.migrations import VERSION_TABLE

conn = context.config.attributes["connection"]
schema = context.config.attributes.get("schema")
if schema is not None:  # unqualified names of the migrations land in the project's schema
    conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    conn.execute(sa.text(f'SET LOCAL search_path TO "{schema}", public'))
context.configure(connection=conn, version_table=VERSION_TABLE, version_table_schema=schema,
                  render_as_batch=conn.dialect.name == "sqlite", transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
