"""Engines and sessions for the storage layer (SQLite by default, Postgres in production).

Why the SQLite setup looks the way it does: Python's ``sqlite3`` module starts transactions lazily
and in "deferred" mode, so two processes that both read and then write (two workers recording the
same batch, two hosts running migrations) can each hold a read snapshot and then fail with
``database is locked`` instead of waiting. We take over ``BEGIN`` ourselves (the recipe from the
SQLAlchemy SQLite docs) so that writers can open their transaction with ``BEGIN IMMEDIATE`` and wait
their turn (``busy_timeout``) instead. Readers keep plain deferred transactions; WAL mode lets them
run alongside the single writer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

# Execution option that makes our SQLite ``begin`` hook emit ``BEGIN IMMEDIATE``.
SQLITE_BEGIN_IMMEDIATE = "frontdesk_sqlite_begin_immediate"
# Set (per thread/task) by begin_write() while it procures a connection: "this one will write".
_WANT_IMMEDIATE: ContextVar[bool] = ContextVar("frontdesk_sqlite_want_immediate", default=False)
# Milliseconds a SQLite writer waits for the lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url_or_engine: str | Engine) -> bool:
    """True when the URL or engine talks to SQLite (the embedded default)."""
    if isinstance(url_or_engine, Engine):
        return url_or_engine.dialect.name == "sqlite"
    return url_or_engine.startswith("sqlite")


def _install_sqlite_hooks(engine: Engine) -> None:
    """Pragmas on every connection and our own BEGIN, so writers can ask for IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # WAL lets readers proceed while one writer holds the lock; not for :memory:.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if _WANT_IMMEDIATE.get() or conn.get_execution_options().get(SQLITE_BEGIN_IMMEDIATE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class _NoRowLogging(logging.Filter):
    """Drops SQLAlchemy's DEBUG "Row %r" records: fetched rows hold patient text (invariant 3)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.endswith("Row %r"))


def _without_patient_data_in_logs(engine: Engine) -> Engine:
    logger = getattr(engine, "logger", None)
    logger = getattr(logger, "logger", logger)  # echo=True wraps the logger in an InstanceLogger
    if isinstance(logger, logging.Logger) and not any(isinstance(f, _NoRowLogging) for f in logger.filters):
        logger.addFilter(_NoRowLogging())
    return engine


def make_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings this service relies on.

    SQLite: foreign keys on, WAL, a generous busy timeout, and IMMEDIATE-capable transactions
    (see the module docstring). Postgres: ``pool_pre_ping`` so a restarted server costs one
    retry, not an error; the default READ COMMITTED isolation is assumed by ``router.store``
    (its ON CONFLICT + SELECT pattern needs each statement to see rows committed meanwhile).
    Extra keyword arguments go to :func:`sqlalchemy.create_engine`. Statement parameters and fetched
    rows are patient data, so they never reach the logs, even with SQLAlchemy's loggers at DEBUG.
    """
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)
        _install_sqlite_hooks(engine)
        return _without_patient_data_in_logs(engine)
    kwargs.setdefault("pool_pre_ping", True)
    return _without_patient_data_in_logs(create_engine(url, echo=echo, **kwargs))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``.

    ``expire_on_commit=False`` because the store functions commit before returning and their
    callers (HTTP handlers, workers) still read the returned objects afterwards.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_factory_for_url(url: str, **engine_kwargs: Any) -> sessionmaker[Session]:
    """Convenience for composition roots: one engine and its session factory for ``url``."""
    return make_session_factory(make_engine(url, **engine_kwargs))


def begin_write(session: Session) -> None:
    """Make sure the session's transaction is a writer's, starting one if none is open.

    On SQLite this emits ``BEGIN IMMEDIATE`` so the write lock is taken before anything is read,
    which makes read-check-write sequences (idempotency checks, claims) race-free across
    processes. If the session is already in a transaction that has talked to the database, it
    cannot be upgraded; the write then proceeds in it (SQLite may answer "database is locked"
    under contention, an ``OperationalError`` the worker retries). On Postgres row locks do this
    job and the transaction simply begins on the first statement.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    token = _WANT_IMMEDIATE.set(True)
    try:
        # procures the connection (firing our ``begin`` hook) unless the transaction has one
        session.connection()
    finally:
        _WANT_IMMEDIATE.reset(token)


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """One writing unit of work, owned or joined.

    Session with no open transaction: begin as a writer, commit on success, roll back on any
    error, so what the caller gets back is durable (the API answers 202 only after that).
    Session already in a transaction (the caller's ``with session.begin():``): join it as a
    writer and only flush at the end, so constraint errors surface here; the caller commits.
    """
    if session.in_transaction():
        begin_write(session)
        yield session
        session.flush()
        return
    begin_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def read_transaction(session: Session) -> Iterator[Session]:
    """A read that joins the caller's open transaction, or else runs in its own and ends it.

    Ending our own transaction matters on SQLite: a read transaction left open pins a WAL
    snapshot, so a long-lived session (the sweeper's) would never see new rows.
    """
    if session.in_transaction():
        yield session
        return
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()
