"""Red-flag rules: phrases that force a message to the nurse line as urgent, whatever the model says.

A missed emergency costs far more than a nurse reading a false alarm, so the rules are broad; a
simple negation guard ("no chest pain", "denies fever") keeps the commonest false alarms out.
Rules are plain regular expressions so that a practice can read and audit every one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RedFlagRule:
    name: str
    pattern: re.Pattern[str]


def _rule(name: str, *phrases: str) -> RedFlagRule:
    return RedFlagRule(name, re.compile("|".join(f"(?:{p})" for p in phrases), re.IGNORECASE))


RULES: tuple[RedFlagRule, ...] = (
    _rule(
        "chest_pain",
        r"\bchest\s+(?:pain|pains|pressure|tightness|is\s+tight|feels\s+tight|hurts|hurting)",
        r"\b(?:pain|pressure|tightness)\s+in\s+(?:my|his|her|the)\s+chest",
    ),
    _rule(
        "breathing",
        r"\b(?:can'?t|cannot|cant|can\s+not|unable\s+to|struggling\s+to|hard\s+to|trouble)\s+breath",
        r"\bshort(?:ness)?\s+of\s+breath",
        r"\bnot\s+breathing\b",
        r"\bturning\s+blue\b",
    ),
    _rule(
        "stroke_signs",
        r"\bface\s+(?:is\s+)?droop",
        r"\bslurr(?:ed|ing)\s+(?:speech|words|his\s+words|her\s+words)",
        r"\b(?:sudden|suddenly)\s+(?:numb|weak)",
        r"\b(?:numb|weak)(?:ness)?\s+(?:on|in)\s+one\s+side",
        r"\bhaving\s+a\s+stroke\b",
    ),
    _rule(
        "suicidal_thoughts",
        r"\bsuicid",
        r"\bkill\s+(?:myself|himself|herself)",
        r"\bend\s+(?:my|his|her)\s+life",
        r"\b(?:want|wants|wanted)\s+to\s+die\b",
        r"\bhurt(?:ing)?\s+(?:myself|himself|herself)",
        r"\bself[-\s]harm",
    ),
    _rule(
        "severe_bleeding",
        r"\bbleeding\s+(?:heavily|a\s+lot|won'?t\s+stop|wont\s+stop|will\s+not\s+stop|that\s+won'?t\s+stop|nonstop)",
        r"\b(?:heavy|severe|uncontrolled)\s+bleeding",
        r"\bsoaking\s+(?:a|through)\s+(?:pad|pads)",
        r"\bhemorrhag",
    ),
    _rule(
        "newborn_fever",
        r"\b(?:newborn|new\s+born|\d+[-\s](?:day|week|wk)[-\s]old|infant)\b[^.!?\n]{0,80}\b(?:fever|temp(?:erature)?\s+of\s+1\d\d)",
        r"\b(?:fever|temp(?:erature)?\s+of\s+1\d\d)\b[^.!?\n]{0,80}\b(?:newborn|\d+[-\s](?:day|week|wk)[-\s]old|infant)\b",
    ),
    _rule(
        "anaphylaxis",
        r"\bthroat\s+(?:is\s+)?(?:closing|swelling|swollen\s+shut)",
        r"\b(?:lips|tongue|face)\s+(?:are\s+|is\s+)?(?:swelling|swollen)\b",
        r"\banaphyla",
    ),
    _rule(
        "unresponsive_or_seizure",
        r"\b(?:unresponsive|unconscious|passed\s+out|fainted|won'?t\s+wake\s+up)\b",
        r"\bseiz(?:ure|ing)\b",
    ),
)

_NEGATION = re.compile(r"\b(?:no|not|denies|denied|without|never|any)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


def find_red_flag(text: str) -> str | None:
    """The name of the first rule that fires, or None; a match preceded by a negation is skipped."""
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            before = text[max(0, match.start() - 40) : match.start()]
            if not _NEGATION.search(before):
                return rule.name
    return None
