"""Fixtures of the fault tests: a throwaway Postgres database, a private Redis, the model, and a
factory of real deployments (``frontdesk serve`` / ``worker`` / ``beat`` processes, router.local_stack).

Services: Postgres at ``FRONTDESK_TEST_POSTGRES_URL`` (default the local server, database
``test``) where we may CREATE DATABASE; ``redis-server`` on the PATH (each test runs its own on a
free port, so a test that stops Redis never touches the shared one; without the binary the tests
that need no restart use the shared Redis at ``FRONTDESK_TEST_REDIS_URL``). Missing services skip,
or fail when ``FRONTDESK_REQUIRE_SERVICES`` is set.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from models.classifier import CONFIG_FILE, DEFAULT_MODEL_DIR, MODEL_FILE
from router.db import make_engine, make_session_factory
from router.local_stack import LocalStack
from router.migrate import upgrade_database
from tests.faults import support
from tests.faults.support import RedisServer
from tests.services import POSTGRES_URL, postgres_unreachable, unavailable

SHARED_REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SMOKE_MODEL_DIR = Path("/tmp/smoke_model")

# Fast recovery: a message left 'received' for 2 s is re-enqueued, checked every second. Many
# attempts, so that a slow (not poisoned) message is never given up on during these tests.
STACK_ENV = {
    "FRONTDESK_ONNX_THREADS": "1",
    "FRONTDESK_BATCH_SIZE": "16",
    "FRONTDESK_BATCH_FLUSH_INTERVAL": "0.05",
    "FRONTDESK_SWEEP_AFTER_SECONDS": "2",
    "FRONTDESK_SWEEP_INTERVAL_SECONDS": "1",
    "FRONTDESK_MAX_ATTEMPTS": "20",
}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _usable_model(path: Path) -> bool:
    return (path / MODEL_FILE).is_file() and (path / CONFIG_FILE).is_file()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """FRONTDESK_MODEL_DIR if set, else the shipped default, else the untrained smoke model."""
    configured = os.environ.get("FRONTDESK_MODEL_DIR")
    candidates = [Path(configured)] if configured else [DEFAULT_MODEL_DIR, SMOKE_MODEL_DIR]
    for candidate in candidates:
        if _usable_model(candidate):
            version = json.loads((candidate / CONFIG_FILE).read_text()).get("version", "?")
            support.MODEL_INFO.update({"dir": str(candidate), "version": version})
            return candidate
    unavailable(f"no model to serve: none of {', '.join(map(str, candidates))} holds {MODEL_FILE}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = postgres_unreachable(POSTGRES_URL)
    if reason is not None:
        unavailable(reason)
    return POSTGRES_URL


@pytest.fixture
def database_url(postgres_server: str) -> Iterator[str]:
    """A fresh database ``frontdesk_fault_<random>`` at schema head, dropped after the test."""
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"frontdesk_fault_{uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """The test's own view of the database (direct, never through a fault proxy)."""
    engine = make_engine(database_url, poolclass=NullPool)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port (stoppable without touching the shared one)."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed (needed to stop and restart a broker)")
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server's URL; the shared Redis (db flushed) only if there is no binary."""
    if shutil.which("redis-server") is not None:
        server = RedisServer(tmp_path / "redis")
        server.start()
        yield server.url
        server.stop()
        return
    import redis

    client = redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(
            f"no redis-server binary and Redis not reachable at {SHARED_REDIS_URL}: {type(exc).__name__}"
        )
    client.flushdb()
    yield SHARED_REDIS_URL
    client.flushdb()


MakeStack = Callable[..., LocalStack]


@pytest.fixture
def make_stack(
    request: pytest.FixtureRequest, database_url: str, broker_url: str, model_dir: Path, tmp_path: Path
) -> Iterator[MakeStack]:
    """Builds a LocalStack (not started) on the test's database and broker; stops it afterwards and,
    if the test failed, prints the tail of every process log."""
    stacks: list[LocalStack] = []

    def make(database: str | None = None, broker: str | None = None, **env: str) -> LocalStack:
        merged = {**STACK_ENV, "FRONTDESK_MODEL_DIR": str(model_dir), **env}
        stack = LocalStack(
            database or database_url, broker or broker_url, tmp_path / f"stack{len(stacks)}", extra_env=merged
        )
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for stack in stacks:
            for log in sorted(stack.workdir.glob("*.log")):
                lines = log.read_text(errors="replace").splitlines()
                print(f"\n----- {log} (last 40 lines) -----")
                print("\n".join(lines[-40:]))
