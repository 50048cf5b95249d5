"""clean_text: what each channel's clutter looks like, and what must survive it."""

from __future__ import annotations

import pytest

from router.channels import clean_subject, clean_text, parse_email, parse_twilio_sms, parse_web_form
from router.channels.cleaning import MAX_TEXT_CHARS
from router.schemas import Channel

# ------------------------------------------------------------------ email


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Can I get a refill of my inhaler?\n\n-- \nJohn Smith\nAcme Corp | 555-0100",
            "Can I get a refill of my inhaler?",
        ),
        (
            "Is Dr. Patel in on Friday?\n\nSent from my Galaxy",
            "Is Dr. Patel in on Friday?",
        ),
        (
            "Please send my records to Dr. Kim.\n\nCONFIDENTIALITY NOTICE: This e-mail may contain "
            "information that is privileged. If you are not the intended recipient, please delete it.",
            "Please send my records to Dr. Kim.",
        ),
        (
            "Need to cancel Tuesday.\n\n-----Original Message-----\nFrom: Clinic\nSent: Monday\n\nReminder",
            "Need to cancel Tuesday.",
        ),
        (
            "Yes that works.\n\nOn Tue, Mar 4, 2025 at 10:02 AM Clinic <a@b.example> wrote:\n"
            "> Can you come at 3?",
            "Yes that works.",
        ),
        (
            "Answers below.\n> Are you fasting?\nYes since last night\n> Any new meds?\nNo",
            "Answers below.\nYes since last night\nNo",
        ),
        ("Thank you!\n\nJane", "Thank you!\n\nJane"),
    ],
)
def test_email_clutter_is_removed(text: str, expected: str) -> None:
    assert clean_text(Channel.email, text) == expected


def test_email_bottom_posted_reply_keeps_the_answer_not_the_quote() -> None:
    text = (
        "On Mon, Mar 3, 2025 at 9:14 AM Clinic <\nreminders@clinic.example> wrote:\n"
        "> Reminder: cleaning on Tuesday at 10.\n\nI will be there but 15 min late\n\nSent from my iPhone"
    )
    assert clean_text(Channel.email, text) == "I will be there but 15 min late"


def test_email_keeps_a_thanks_that_starts_a_real_sentence() -> None:
    text = "Hello,\nThanks, I got the letter. But is my copay $40 or $20?\nAlso can you resend the form?"
    assert clean_text(Channel.email, text) == text


def test_email_keeps_hyphen_lists_and_sign_off_followed_by_a_question() -> None:
    text = "I need:\n- a refill\n- a referral to PT\nThanks,\nand could someone call me about my bill today?"
    assert clean_text(Channel.email, text) == text


def test_email_sign_off_with_short_name_tail_is_dropped() -> None:
    text = "My daughter has a rash after the new antibiotic.\n\nBest regards,\nTom Baker\n(555) 010-0123"
    assert clean_text(Channel.email, text) == "My daughter has a rash after the new antibiotic."


def test_email_first_line_repeating_the_subject_is_dropped() -> None:
    text = "Prescription refill\n\nI'm out of my blood pressure pills."
    assert clean_text(Channel.email, text, "Prescription  refill") == "I'm out of my blood pressure pills."
    assert clean_text(Channel.email, text) == text


def test_email_that_is_only_a_header_block_falls_back_to_the_original() -> None:
    text = "From: home\nDate: anytime next week works for my physical"
    assert clean_text(Channel.email, text) == text


# ------------------------------------------------------------------ web form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Name: Alex Doe\nPhone: 555-0100\nPreferred contact: text\nMessage: Can I book a physical?",
            "Can I book a physical?",
        ),
        ("Reason for contact: Other\nComments: my card was charged twice", "my card was charged twice"),
        ("Reason for contact: Billing\nComments: why this charge", "Billing\nwhy this charge"),
        ("Submitted via website contact form\n\nDo you see kids under 2?", "Do you see kids under 2?"),
        (
            "Email: a@b.example\nDOB: 01/02/1990\nMessage:\nFirst line of my question\nsecond line",
            "First line of my question\nsecond line",
        ),
        ("Preferred date: Monday\nMessage: new patient visit", "Preferred date: Monday\nnew patient visit"),
        ("**Name:** Alex\n**Message:** refill please", "refill please"),
    ],
)
def test_web_form_labels_are_dropped(text: str, expected: str) -> None:
    assert clean_text(Channel.web_form, text) == expected


def test_web_form_that_is_only_labels_falls_back_to_the_original() -> None:
    assert (
        clean_text(Channel.web_form, "Name: Alex Doe\nPhone: 555-0100") == "Name: Alex Doe\nPhone: 555-0100"
    )


# ------------------------------------------------------------------ SMS / voicemail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can i come in at 4  today", "can i come in at 4 today"),
        ("yes confirm. Reply STOP to opt out", "yes confirm."),
        (
            "Need rx refill Msg&data rates may apply. Reply HELP for help. Txt STOP to unsubscribe",
            "Need rx refill",
        ),
        ("STOP", "STOP"),
        ("please stop calling me about the survey", "please stop calling me about the survey"),
    ],
)
def test_sms(text: str, expected: str) -> None:
    assert clean_text(Channel.sms, text) == expected


def test_voicemail_is_one_line() -> None:
    assert clean_text(Channel.voicemail, "hi this is\n\n  jane   calling\tabout my mri") == (
        "hi this is jane calling about my mri"
    )


# ------------------------------------------------------------------ every channel


@pytest.mark.parametrize("channel", [*Channel, None])
def test_controls_stripped_whitespace_collapsed_and_capped(channel: Channel | None) -> None:
    text = "need\x00 an\x07 appt\u200b\u00a0 \t soon\r\n\r\n\r\n\r\nplease " + "word " * 3_000
    cleaned = clean_text(channel, text)
    assert "\x00" not in cleaned and "\x07" not in cleaned and "\u200b" not in cleaned and "\r" not in cleaned
    assert cleaned.startswith("need an appt soon")
    assert "  " not in cleaned and "\n\n\n" not in cleaned
    assert len(cleaned) <= MAX_TEXT_CHARS


def test_lone_surrogates_are_removed() -> None:
    assert clean_text(Channel.web_form, "bill \ud800question") == "bill question"


def test_channel_may_be_named_by_string_and_unknown_names_raise() -> None:
    assert clean_text("sms", "hi  there") == "hi there"
    with pytest.raises(ValueError):
        clean_text("fax", "hi")


def test_clean_subject() -> None:
    assert clean_subject("  Re:\tappointment\r\n  tomorrow ") == "Re: appointment tomorrow"
    assert clean_subject("   ") is None
    assert clean_subject(None) is None


# ------------------------------------------------------------------ adapters and CLI agree


def test_email_adapter_text_equals_clean_text_of_its_body() -> None:
    body = "Need to cancel Friday, sorry!\n\nSent from my iPhone\n\nOn Thu, Clinic <c@x.example> wrote:\n> hi"
    raw = ("From: a@example.com\r\nSubject: cancel\r\nMessage-ID: <m@x>\r\n\r\n" + body).encode()
    assert (
        parse_email(raw).text == clean_text(Channel.email, body, "cancel") == "Need to cancel Friday, sorry!"
    )


def test_form_and_sms_adapters_use_clean_text() -> None:
    form_text = "Name: A\nMessage: refill please"
    assert parse_web_form({"submission_id": "1", "message": form_text}).text == clean_text(
        "web_form", form_text
    )
    sms_body = "running late 10 min. Reply STOP to opt out"
    sms = parse_twilio_sms({"MessageSid": "SM1", "Body": sms_body, "From": "+15550100999"})
    assert sms.text == clean_text("sms", sms_body) == "running late 10 min."
