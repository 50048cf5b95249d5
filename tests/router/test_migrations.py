"""The Alembic versions build exactly the schema the ORM describes, and upgrading is race-safe."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import OperationalError

from router.db import SQLITE_BEGIN_IMMEDIATE, is_sqlite, make_engine
from router.migrate import (
    MIGRATION_LOCK_KEY,
    alembic_config,
    current_revision,
    migration_lock,
    upgrade_database,
)
from router.tables import Base

TABLES = {"messages", "decisions", "queue_items", "reviews", "audit"}


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _diffs(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            )
    finally:
        engine.dispose()


def test_upgrade_head_on_empty_database_matches_orm(empty_db_url: str) -> None:
    assert current_revision(empty_db_url) is None

    upgrade_database(empty_db_url)

    engine = make_engine(empty_db_url)
    try:
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) == TABLES | {"alembic_version"}
        index_names = {ix["name"] for ix in inspector.get_indexes("decisions")}
        assert "uq_decisions_current" in index_names
    finally:
        engine.dispose()
    assert current_revision(empty_db_url) == _head()
    assert _diffs(empty_db_url) == []


def test_schema_comparison_notices_drift(empty_db_url: str) -> None:
    """Control for the test above: a missing index must show up as a difference."""
    upgrade_database(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_queue_items_claim"))
    finally:
        engine.dispose()

    diffs = _diffs(empty_db_url)

    assert any(d[0] == "add_index" and d[1].name == "ix_queue_items_claim" for d in diffs)  # type: ignore[index]


@pytest.mark.timeout(120)
def test_concurrent_upgrades_from_separate_processes_apply_once(empty_db_url: str) -> None:
    """Several hosts running `frontdesk migrate` at once: all succeed, the schema is built once."""
    code = "import sys; from router.migrate import upgrade_database; upgrade_database(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, empty_db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=100)
        assert proc.returncode == 0, err[-2000:]

    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert versions == [_head()]


def test_upgrades_from_threads_of_one_process_apply_once(empty_db_url: str) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(upgrade_database, empty_db_url) for _ in range(3)]:
            future.result()
    assert current_revision(empty_db_url) == _head()


def test_migration_lock_excludes_other_connections(empty_db_url: str) -> None:
    """The lock itself, as another host would meet it: refused while held, free afterwards."""
    engine = make_engine(empty_db_url)
    other = make_engine(empty_db_url)

    def other_host_gets_lock() -> bool:
        with other.connect() as conn:
            if is_sqlite(empty_db_url):
                try:
                    conn.exec_driver_sql("PRAGMA busy_timeout=200")  # not the 30 s default
                    conn.commit()
                    conn.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True}).begin().rollback()
                except OperationalError:
                    return False
                return True
            got = conn.execute(select(func.pg_try_advisory_lock(MIGRATION_LOCK_KEY))).scalar_one()
            if got:
                conn.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
            conn.commit()
            return bool(got)

    try:
        with engine.connect() as conn:
            with migration_lock(conn):
                assert not other_host_gets_lock()
            assert other_host_gets_lock()
    finally:
        engine.dispose()
        other.dispose()


def test_downgrade_to_base_and_upgrade_again(empty_db_url: str) -> None:
    upgrade_database(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            config.attributes["configure_logging"] = False
            command.downgrade(config, "base")
            conn.commit()
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()

    upgrade_database(empty_db_url)

    assert current_revision(empty_db_url) == _head()
    assert _diffs(empty_db_url) == []
