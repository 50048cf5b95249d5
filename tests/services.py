"""Where the test suite finds the real Postgres server, and the one check that it is there.

Shared by the unit-level fixtures (``tests/conftest.py``) and the fault tests
(``tests/faults/conftest.py``), which skip or fail in their own ways but must agree on what
"reachable" means.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

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
