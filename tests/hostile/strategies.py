"""Hypothesis strategies for hostile payloads: control characters, NUL, invalid UTF-8, odd sizes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Characters that have broken parsers, databases, terminals or tokenizers somewhere.
NASTY_CHARS = (
    "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x80\x85\x9f\r\n\t"
    "\u00a0\u00ad\u200b\u200d\u2028\u2029\u202e\u2060\ufeff\ufffd\uffff"
    "\U0001f600\U0001f9d1\u0301\u0645\u4e2d"
    "\"'\\<>&%;=+?#/"
)
nasty_char = st.one_of(st.characters(codec="utf-8"), st.sampled_from(NASTY_CHARS))
# Text a client can send (no lone surrogates: they cannot be encoded into an HTTP body).
nasty_text = st.text(alphabet=nasty_char, max_size=120)
short_nasty_text = st.text(alphabet=nasty_char, max_size=30)
# Bytes that are often not UTF-8: raw, latin-1 text, and text with lone surrogates passed through.
invalid_utf8 = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=80).map(lambda s: s.encode("latin-1", "replace")),
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Lu", "Zs"]), max_size=40).map(
        lambda s: s.encode("utf-8", "surrogatepass")
    ),
    st.sampled_from([b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x00"]),
)
hostile_bytes = st.one_of(invalid_utf8, nasty_text.map(lambda s: s.encode("utf-8")))

# JSON values, including ones Python's json module makes and other parsers refuse.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(short_nasty_text, inner, max_size=5)
    ),
    max_leaves=25,
)


def dumps(value: Any) -> bytes:
    """JSON as a sloppy client writes it: NaN allowed, non-ASCII raw (so it must be valid UTF-8)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
