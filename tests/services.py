"""Where the test suite finds the real Postgres server, the one check that it is there, and what
a test does when a service is missing (skip; fail in CI, where the services must be up).

Shared by the unit-level fixtures (``tests/conftest.py``, ``tests/worker/conftest.py``) and
the fault tests (``tests/faults/``).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

REQUIRE_SERVICES = bool(os.environ.get("FRONTDESK_REQUIRE_SERVICES"))
POSTGRES_URL = os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_unreachable(url: str = POSTGRES_URL) -> str | None:
    """None when ``SELECT 1`` answers within 3 s; otherwise why not, without the password."""
    probe = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        return f"Postgres not reachable at {shown}: {type(exc).__name__}"
    finally:
        probe.dispose()
    return None


def unavailable(reason: str) -> None:
    """Skip, or fail when FRONTDESK_REQUIRE_SERVICES is set (CI with services must not skip)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (FRONTDESK_REQUIRE_SERVICES is set)")
    pytest.skip(reason)
