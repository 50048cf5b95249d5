from collections import Counter

from models.corpus import (
    Example,
    choose_dev_keys,
    compose_text,
    load_corpus,
    message_key,
    read_dev_keys,
    split_corpus,
)
from models.labels import INTENTS


def test_subject_line_is_part_of_the_model_text() -> None:
    assert compose_text("can I move it?", "Appointment Thursday") == "Appointment Thursday\ncan I move it?"
    assert compose_text("  hello ", "") == "hello"
    assert Example(text="body", label="complaint", subject="Re: bill").model_text == "Re: bill\nbody"


def test_keys_ignore_case_and_spacing_only() -> None:
    assert message_key("Need  an APPT") == message_key("need an appt")
    assert message_key("need an appt") != message_key("need an app")


def test_checked_in_split_is_stratified_and_disjoint() -> None:
    examples = load_corpus()
    train, dev = split_corpus(examples)
    assert len(examples) == 9787
    assert {e.key for e in train}.isdisjoint({e.key for e in dev})
    per_label = Counter(e.label for e in dev)
    assert set(per_label) == set(INTENTS)
    assert all(130 <= n <= 150 for n in per_label.values()), per_label
    hard_share = sum(e.hard is not None for e in dev) / len(dev)
    assert 0.25 <= hard_share <= 0.32


def test_checked_in_split_is_what_the_recipe_chooses() -> None:
    """The file must not drift from the documented recipe (seed 13, 10% per stratum)."""
    assert read_dev_keys() == choose_dev_keys(load_corpus())
