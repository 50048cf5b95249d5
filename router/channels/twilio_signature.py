"""Twilio webhook signatures (``X-Twilio-Signature``), per Twilio's documented algorithm.

Twilio signs the full URL it called, followed by every POST parameter's name and value in name
order, with HMAC-SHA1 keyed by the account's auth token, base64-encoded. Implemented here rather
than with the Twilio SDK so the serving path does not pull the SDK in for one function.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

Params = Mapping[str, str] | Iterable[tuple[str, str]]

_DEFAULT_PORTS = {"https": 443, "http": 80}


def _grouped(params: Params) -> dict[str, list[str]]:
    pairs = params.items() if isinstance(params, Mapping) else params
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, value in pairs:
        grouped[name].append(value)
    return grouped


def compute_twilio_signature(auth_token: str, url: str, params: Params) -> str:
    """The signature Twilio sends for a POST of ``params`` to ``url``.

    Repeated parameters (a multi-valued form field) are signed once per distinct value, values in
    order, as Twilio's own libraries do.
    """
    parts = [url]
    grouped = _grouped(params)
    for name in sorted(grouped):
        parts.extend(name + value for value in sorted(set(grouped[name])))
    digest = hmac.new(auth_token.encode("utf-8"), "".join(parts).encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, without and with its scheme's default port.

    Twilio signs the URL exactly as configured, and a proxy in front of the service may add or
    drop ``:443``; Twilio's libraries accept either form, and so does this.
    """
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return variants
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    if default is None or parts.hostname is None:
        return variants
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    bare_host = host.rsplit(":", 1)[0] if port is not None else host
    if port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{userinfo}{bare_host}:{default}")))
    elif port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{userinfo}{bare_host}")))
    return variants


def is_valid_twilio_signature(auth_token: str, url: str, params: Params, signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's for this request; constant-time, and False without a token.

    An empty auth token never validates: an unconfigured service must not accept forged callbacks
    signed with the empty key.
    """
    if not auth_token or not signature:
        return False
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    ok = False
    for candidate in _url_variants(url):
        expected = compute_twilio_signature(auth_token, candidate, pairs).encode("ascii")
        ok |= hmac.compare_digest(expected, given)
    return ok
