"""Noise that real channels add and the synthetic corpus under-represents.

Each transform keeps the label: SMS shorthand, typos, lost punctuation and casing,
voicemail-style lowercasing, and clutter around the ask (signatures, phone footers,
form-field headers). Applied on the fly, so every epoch sees a different noisy copy.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

ABBREVIATIONS = {
    "you": "u",
    "your": "ur",
    "appointment": "appt",
    "tomorrow": "tmrw",
    "please": "pls",
    "thanks": "thx",
    "prescription": "rx",
    "insurance": "ins",
    "because": "bc",
    "with": "w/",
    "about": "abt",
    "are": "r",
    "year": "yr",
}
_WORD = re.compile(r"[A-Za-z']+")

SIGNATURES = (
    "\n\nSent from my iPhone",
    "\n\nThanks,\nJ.",
    "\n\n--\nSent from Yahoo Mail on Android",
    "\n\nCONFIDENTIALITY NOTICE: This e-mail may contain information that is privileged. "
    "If you are not the intended recipient, please delete it.",
    "\n\nGet Outlook for iOS",
)
FORM_HEADERS = (
    "Name: Alex Doe\nPhone: 555-0100\nPreferred contact: text\nMessage: ",
    "Reason for contact: Other\nComments: ",
    "Submitted via website contact form\n\n",
)


def _abbreviate(text: str, rng: random.Random) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        short = ABBREVIATIONS.get(word.lower())
        return short if short and rng.random() < 0.7 else word

    return _WORD.sub(swap, text)


def _typos(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(max(1, len(chars) // 40)):
        if len(chars) < 4:
            break
        i = rng.randrange(1, len(chars) - 1)
        op = rng.random()
        if op < 0.4:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op < 0.7:
            del chars[i]
        else:
            chars.insert(i, chars[i])
    return "".join(chars)


def _strip_punctuation(text: str, rng: random.Random) -> str:
    return re.sub(r"[.,!?;:]", "", text)


def _voicemail_lower(text: str, rng: random.Random) -> str:
    filler = rng.choice(("um ", "uh hi ", "yeah hi ", ""))
    return filler + re.sub(r"[.,!?;]", "", text.lower())


def _shout(text: str, rng: random.Random) -> str:
    return text.upper()


def _clutter(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return text + rng.choice(SIGNATURES)
    return rng.choice(FORM_HEADERS) + text


TRANSFORMS: tuple[tuple[Callable[[str, random.Random], str], float], ...] = (
    (_abbreviate, 0.25),
    (_typos, 0.25),
    (_strip_punctuation, 0.2),
    (_voicemail_lower, 0.15),
    (_shout, 0.05),
    (_clutter, 0.1),
)


def augment(text: str, rng: random.Random) -> str:
    """One noisy variant: one or two transforms drawn by weight."""
    functions = [fn for fn, _ in TRANSFORMS]
    weights = [w for _, w in TRANSFORMS]
    for fn in rng.choices(functions, weights=weights, k=rng.choice((1, 1, 2))):
        text = fn(text, rng)
    return text or "."
