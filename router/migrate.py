"""Bring a database to the newest schema, safely from many hosts at once.

Every API replica and worker may run ``frontdesk migrate`` on start-up, so two upgrades can race.
The loser must wait and then find nothing to do, never half-apply a version or fail with
"table already exists". On Postgres a session-level ``pg_advisory_lock`` serialises the upgrades
(Alembic still runs its own transaction inside, which leaves room for later versions that need
``autocommit_block``); on SQLite the whole upgrade runs in one ``BEGIN IMMEDIATE`` transaction,
which holds the database's single write lock from before the version table is read until commit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, pool, select
from sqlalchemy.engine import Connection

from router.db import SQLITE_BEGIN_IMMEDIATE, make_engine

# Arbitrary constant shared by every frontdesk process: "which advisory lock means 'migrating'".
MIGRATION_LOCK_KEY = 0x66726F6E7464  # "frontd"
# Alembic keeps the running command's context in module globals, so within one process only one
# command may run at a time, whatever the database.
_ALEMBIC_COMMAND_LOCK = threading.Lock()


def alembic_ini_path() -> Path:
    """Where ``migrations/alembic.ini`` is, in a checkout or an installed wheel alike."""
    # beside the router package, in a checkout and in site-packages alike (importlib.resources
    # would pick up any unrelated namespace package called "migrations" on sys.path)
    return Path(__file__).resolve().parent.parent / "migrations" / "alembic.ini"


def alembic_config() -> Config:
    """Alembic configuration from the packaged ini (``script_location`` is relative to it)."""
    return Config(str(alembic_ini_path()))


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the cross-host migration lock on ``connection`` for the duration of the block.

    Postgres: session-level advisory lock, released in ``finally`` (and by the server if the
    process dies). SQLite: an IMMEDIATE transaction that the block runs inside and that is
    committed on success; Alembic sees it as an external transaction and leaves it alone.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
        connection.commit()
        try:
            yield
        finally:
            if connection.in_transaction():
                connection.rollback()
            connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
            connection.commit()
    elif dialect == "sqlite":
        if connection.in_transaction():
            connection.commit()
        connection.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True})
        try:
            with connection.begin():
                yield
        finally:
            connection.execution_options(**{SQLITE_BEGIN_IMMEDIATE: False})
    else:
        yield


def upgrade_database(url: str, revision: str = "head") -> None:
    """Run ``alembic upgrade <revision>`` on ``url`` under the migration lock.

    Idempotent: on an up-to-date database it takes the lock, sees the head, and returns.
    Does not touch the caller's logging configuration.
    """
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with _ALEMBIC_COMMAND_LOCK, engine.connect() as connection, migration_lock(connection):
            config = alembic_config()
            config.attributes["connection"] = connection
            config.attributes["configure_logging"] = False
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is on (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
