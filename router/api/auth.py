"""API keys and scopes: ``Authorization: Bearer <key>``, keys from ``FRONTDESK_API_KEYS``.

Every configured key is compared in constant time (no early exit on the first match), so response
timing says nothing about how much of a guessed key was right. With no keys configured the API is
open, and ``frontdesk serve`` then refuses to bind anywhere but loopback.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status

from router.schemas import Department

DEPARTMENT_SCOPES = frozenset(d.value for d in Department if d is not Department.review)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a non-secret id for the key (logs, claims) and what it may do."""

    key_id: str
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes

    def may(self, scope: str) -> bool:
        return self.is_admin or scope in self.scopes

    def departments(self) -> set[str]:
        return set(DEPARTMENT_SCOPES) if self.is_admin else set(self.scopes & DEPARTMENT_SCOPES)


OPEN_ACCESS = Principal("open", frozenset({"admin"}))


def key_id(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def find_principal(api_keys: dict[str, list[str]], token: str) -> Principal | None:
    found: Principal | None = None
    presented = token.encode()
    for key, scopes in api_keys.items():
        if hmac.compare_digest(key.encode(), presented):
            found = Principal(key_id(key), frozenset(scopes))
    return found


def current_principal(request: Request) -> Principal:
    api_keys: dict[str, list[str]] = request.app.state.settings.api_keys
    if not api_keys:
        return OPEN_ACCESS
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = find_principal(api_keys, token.strip())
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require_scope(scope: str) -> Callable[[Principal], Principal]:
    def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.may(scope):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key lacks the '{scope}' scope")
        return principal

    return check
