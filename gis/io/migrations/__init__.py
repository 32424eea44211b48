"""Alembic migrations of the service tables (:mod:`beatgrid.gis.io.records`), both stores.

``beatgrid db upgrade`` runs them on a PostGIS project; a GeoPackage project is brought
to the newest revision when its tables are first used. The revision is kept in
``beatgrid_alembic_version`` (in the project's schema on PostgreSQL), apart from any
other application's Alembic table. Migrations are plain Alembic scripts in
``versions/``; each is frozen once released (it never imports the current code's
table definitions).

Examples
--------
>>> head_revision()
'0001'
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = ["VERSION_TABLE", "current_revision", "head_revision", "upgrade"]

#: The table holding the revision.
VERSION_TABLE = "beatgrid_alembic_version"
HERE = Path(__file__).resolve().parent


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return config


def head_revision() -> str:
    """The newest revision of the migrations."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: sa.engine.Connection, *, schema: str | None) -> str | None:
    """The revision of the tables reached by ``conn`` (None: never migrated)."""
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE,
                                                     "version_table_schema": schema})
    return context.get_current_revision()


def upgrade(conn: sa.engine.Connection, *, schema: str | None, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in the transaction of ``conn``."""
    config = _config()
    config.attributes["connection"] = conn
    config.attributes["schema"] = schema
    command.upgrade(config, revision)
