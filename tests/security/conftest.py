"""Security fixtures: the API app of tests/router/api (keys, Twilio token, enqueue spy) on the test DB."""

from __future__ import annotations

from tests.router.api.conftest import api_settings, client, enqueued  # noqa: F401  (fixtures)
