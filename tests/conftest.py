"""Shared fixtures: a migrated database per test, on SQLite and (when reachable) on Postgres.

``db_url`` is parametrized over both dialects. SQLite gets a fresh file per test (copied from a
template migrated once per session). Postgres gets a throwaway database ``frontdesk_test_<random>``
created on the local server, migrated once per session and emptied before each test; every
database created here is dropped at the end of the session, so parallel runs and other users of
the server are never touched. If the server cannot be reached the Postgres cases skip, saying so.
Override the server with ``FRONTDESK_TEST_POSTGRES_URL`` (a URL to a database we may connect to
and whose user may CREATE DATABASE).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from router.db import make_engine, make_session_factory
from router.migrate import upgrade_database
from router.schemas import Channel, Department, InboundMessage, Priority, RoutingDecision
from tests.services import POSTGRES_URL, postgres_unreachable, unavailable

DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
# Children first, so TRUNCATE needs no CASCADE guesswork.
TABLES = ("audit", "reviews", "queue_items", "decisions", "messages")


@pytest.fixture(autouse=True)
def _root_log_level_restored() -> Iterator[None]:
    """Celery's in-process test worker (``start_worker``) sets the root logger to ERROR and leaves it
    there, which silently dropped later tests' warnings; every test gets the level it started with."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


class PostgresDatabases:
    """Creates throwaway databases on the test server and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url)
        self.admin: Engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.created: list[str] = []

    def create(self) -> str:
        name = f"frontdesk_test_{uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    """The Postgres test server, or a skip (tried once per session) when it is not reachable."""
    reason = postgres_unreachable(POSTGRES_URL)
    if reason is not None:
        unavailable(reason)
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres: PostgresDatabases) -> str:
    url = postgres.create()
    upgrade_database(url)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "frontdesk.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database at schema head, SQLite or Postgres."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        path = tmp_path / "frontdesk.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("migrated_postgres_url")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
    engine.dispose()
    return url


@pytest.fixture(params=DIALECTS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a brand-new database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    return databases.create()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def make_inbound() -> Callable[..., InboundMessage]:
    """Builds an InboundMessage; each call gets a new external id unless one is given."""

    def build(
        external_id: str | None = None, channel: Channel = Channel.web_form, **fields: object
    ) -> InboundMessage:
        data: dict[str, object] = {
            "text": "I need to move my appointment to Friday.",
            "subject": "Appointment",
        }
        data.update(fields)
        return InboundMessage(channel=channel, external_id=external_id or uuid4().hex, **data)  # type: ignore[arg-type]

    return build


@pytest.fixture
def make_decision() -> Callable[..., RoutingDecision]:
    """Builds a model decision for a message id; keyword arguments override fields."""

    def build(message_id: str, **fields: object) -> RoutingDecision:
        data: dict[str, object] = {
            "intent": "reschedule",
            "scores": {"reschedule": 0.9, "billing_question": 0.1},
            "confidence": 0.9,
            "margin": 0.8,
            "route": Department.scheduling,
            "priority": Priority.normal,
            "model_version": "test-model-1",
            "reason": "model",
            "decided_by": "model",
        }
        data.update(fields)
        return RoutingDecision(message_id=message_id, **data)  # type: ignore[arg-type]

    return build
