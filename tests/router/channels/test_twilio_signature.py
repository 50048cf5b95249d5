"""Twilio request signatures, pinned to the worked examples in Twilio's security docs."""

from __future__ import annotations

from router.channels import compute_twilio_signature, is_valid_twilio_signature

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
# Twilio's docs have printed this example with two different caller numbers; both are pinned.
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
PARAMS_415 = {**PARAMS, "Caller": "+14158675310", "From": "+14158675310"}


def test_documented_examples() -> None:
    assert compute_twilio_signature(TOKEN, URL, PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert compute_twilio_signature(TOKEN, URL, PARAMS_415) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_parameter_order_does_not_matter() -> None:
    shuffled = dict(reversed(list(PARAMS.items())))
    assert compute_twilio_signature(TOKEN, URL, shuffled) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert compute_twilio_signature(TOKEN, URL, list(shuffled.items())) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_valid_signature() -> None:
    assert is_valid_twilio_signature(TOKEN, URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_invalid_and_tampered() -> None:
    good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert not is_valid_twilio_signature(TOKEN, URL, {**PARAMS, "Digits": "9999"}, good)
    assert not is_valid_twilio_signature(TOKEN, URL, {**PARAMS, "Extra": "1"}, good)
    assert not is_valid_twilio_signature(TOKEN, URL.replace("foo=1", "foo=2"), PARAMS, good)
    assert not is_valid_twilio_signature("54321", URL, PARAMS, good)
    assert not is_valid_twilio_signature(TOKEN, URL, PARAMS, good[:-1])
    assert not is_valid_twilio_signature(TOKEN, URL, PARAMS, "")
    assert not is_valid_twilio_signature(TOKEN, URL, PARAMS, None)
    assert not is_valid_twilio_signature(TOKEN, URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=é")


def test_empty_token_never_validates() -> None:
    forged = compute_twilio_signature("", URL, PARAMS)
    assert not is_valid_twilio_signature("", URL, PARAMS, forged)


def test_default_port_difference_is_tolerated() -> None:
    signed = compute_twilio_signature(TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", PARAMS)
    assert is_valid_twilio_signature(TOKEN, URL, PARAMS, signed)
    assert is_valid_twilio_signature(
        TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
    other_port = compute_twilio_signature(TOKEN, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", PARAMS)
    assert not is_valid_twilio_signature(TOKEN, URL, PARAMS, other_port)
