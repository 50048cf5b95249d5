"""Invariant 3: no patient text, names, phone numbers or email addresses in any log line or metric.

The whole pipeline runs in-process with canary values through all four channels: webhooks (the
API through TestClient), the publish to a real Celery client on ``memory://``, the worker's
``process_batch`` with the real classifier, a failing classification, the sweeper, human review,
a claim and an ack, and the error paths (422, 403, database errors). Every logger, the library
ones included (sqlalchemy, celery, kombu, uvicorn, httpx, ...), is set to DEBUG and captured;
then no captured record, no warning, nothing on stdout/stderr, no audit row and no line of
/metrics may contain a canary.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.classifier import DEFAULT_MODEL_DIR, Classifier
from router import store
from router.channels import compute_twilio_signature
from router.enqueue import broker_client, make_enqueuer
from router.settings import Settings
from tests.router.api.conftest import TWILIO_TOKEN, bearer
from worker.context import WorkerContext
from worker.processing import process_batch
from worker.sweeper import sweep

NAME = "Zebulon Quillfeather"
PHONE = "+15555550987"
EMAIL = "canary@example.com"
WORD = "xylocanary"
STREET = "Canarywharf Lane"
CANARIES = ("Zebulon", "Quillfeather", EMAIL, "5555550987", "555-0987", "555 0987", WORD, STREET)
LIBRARY_LOGGERS = (
    "",
    "router",
    "worker",
    "models",
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "celery",
    "celery.app.trace",
    "celery.worker",
    "kombu",
    "amqp",
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.pool",
    "sqlalchemy.orm",
    "alembic",
    "fastapi",
    "starlette",
    "httpx",
    "httpcore",
    "multipart",
    "python_multipart",
    "asyncio",
    "anyio",
    "onnxruntime",
    "tokenizers",
    "redis",
    "celery_batches",
)


def model_dir() -> Path:
    for candidate in (os.environ.get("FRONTDESK_MODEL_DIR"), str(DEFAULT_MODEL_DIR), "/tmp/smoke_model"):
        if candidate and (Path(candidate) / "model.onnx").exists():
            return Path(candidate)
    pytest.skip("no model: set FRONTDESK_MODEL_DIR or ship models/default")


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        out = []
        for record in self.records:
            text = self.format(record)  # message, exception traceback and stack, as a handler writes them
            extra = {k: v for k, v in vars(record).items() if k not in _STD}
            out.append(f"{text} args={record.args!r} extra={extra!r}")
        return out


_STD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


@pytest.fixture
def all_logs() -> Iterator[Everything]:
    """Every logger at DEBUG into one handler (also loggers that do not propagate); restored afterwards."""
    handler = Everything()
    names = set(LIBRARY_LOGGERS) | set(logging.root.manager.loggerDict)
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        if isinstance(logger, logging.PlaceHolder):  # pragma: no cover
            continue
        saved.append((logger, logger.level, logger.disabled, logger.propagate))
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate or name == "":
            logger.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield handler
    finally:
        logging.captureWarnings(False)
        for logger, level, disabled, _ in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            if handler in logger.handlers:
                logger.removeHandler(handler)


def signed(path: str, params: dict[str, str]) -> dict[str, object]:
    signature = compute_twilio_signature(TWILIO_TOKEN, "http://testserver" + path, params)
    return {
        "content": urlencode(params).encode(),
        "headers": {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    }


def webhooks() -> list[tuple[str, dict[str, object], int]]:
    """(path, request kwargs, expected status): the four channels, a review case, and error paths."""
    email = (
        f"From: {NAME} <{EMAIL}>\r\nTo: desk@practice.example\r\nMessage-ID: <canary-1@example.com>\r\n"
        f"Subject: charged twice {WORD}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hi, this is {NAME}. Why was I charged twice for my visit? {WORD}. Call me at {PHONE}.\r\n"
        f"{STREET} 12\r\n-- \r\n{NAME}\r\n{PHONE}\r\n"
    ).encode()
    form = {
        "submission_id": "canary-form-1",
        "message": f"I need to move my appointment to Friday {WORD}, my number is {PHONE}",
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "location": STREET,
        "referrer": f"{NAME} {EMAIL}",
    }
    sms = {
        "MessageSid": "SMcanary1",
        "From": PHONE,
        "To": "+15555550100",
        "Body": f"running late {WORD} sorry",
    }
    voicemail = {
        "TranscriptionSid": "TRcanary1",
        "TranscriptionText": f"this is {NAME} my rash is spreading {WORD} call {PHONE}",
        "TranscriptionStatus": "completed",
        "From": PHONE,
        "RecordingUrl": "https://api.twilio.example/rec/1",
    }
    silent = {"TranscriptionSid": "TRcanary2", "TranscriptionText": "", "From": PHONE, "Caller": NAME}
    inbound = bearer("k-inbound")
    return [
        (
            "/v1/inbound/email",
            {"content": email, "headers": {"content-type": "message/rfc822", **inbound}},
            202,
        ),
        ("/v1/inbound/form", {"json": form, "headers": inbound}, 202),
        ("/v1/inbound/sms", signed("/v1/inbound/sms", sms), 202),
        ("/v1/inbound/voicemail", signed("/v1/inbound/voicemail", voicemail), 202),
        ("/v1/inbound/voicemail", signed("/v1/inbound/voicemail", silent), 202),  # no transcript: review
        # with NUL and control characters (the sanitising path)
        (
            "/v1/inbound/form",
            {"json": {**form, "submission_id": "canary-nul\x00", "name": f"{NAME}\x00"}, "headers": inbound},
            202,
        ),
        # error paths: 422 (bad field types, bad JSON), 403 (bad signature), 401 (no key)
        ("/v1/inbound/form", {"json": {**form, "message": {"nested": WORD}}, "headers": inbound}, 422),
        ("/v1/inbound/form", {"json": {**form, "submission_id": NAME * 20}, "headers": inbound}, 422),
        ("/v1/inbound/form", {"content": f'{{"message": "{WORD} {PHONE}"'.encode(), "headers": inbound}, 422),
        ("/v1/inbound/email", {"content": f"{NAME} {EMAIL} {WORD}".encode(), "headers": inbound}, 422),
        ("/v1/inbound/sms", {"data": sms, "headers": {"X-Twilio-Signature": "forged"}}, 403),
        ("/v1/inbound/form", {"json": form}, 401),
    ]


def test_no_canary_in_logs_metrics_or_audit(
    all_logs: Everything,
    db_url: str,
    client: TestClient,
    enqueued: list[str],
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        # ---- API: the four channels, a review case, the error paths
        ids = []
        for path, kwargs, status in webhooks():
            response = client.post(path, **kwargs)  # type: ignore[arg-type]
            assert response.status_code == status, (path, response.status_code, response.text)
            if status == 202:
                ids.append(response.json()["id"])
            else:
                assert not any(c in response.text for c in CANARIES), (
                    response.text
                )  # reasons never quote input
        assert sorted(enqueued) == sorted(ids) and all(len(i) == 32 and i.isalnum() for i in enqueued)

        # ---- database failures while storing: the handlers log the exception type, not its text
        secret = f"INSERT ... {NAME} {PHONE} {EMAIL} {WORD}"
        for error, status in (
            (DataError(secret, {"text": secret}, Exception(secret)), 400),
            (OperationalError(secret, {"text": secret}, Exception(secret)), 503),
        ):
            with monkeypatch.context() as patch:

                def failing(*args: object, error: Exception = error, **kwargs: object) -> object:
                    raise error

                patch.setattr(store, "store_inbound", failing)
                path, kwargs, _ = webhooks()[1]
                response = client.post(path, **kwargs)  # type: ignore[arg-type]
                assert response.status_code == status and not any(c in response.text for c in CANARIES)

        # ---- the real publish path: a Celery client on the in-memory broker (ids only)
        assert make_enqueuer(broker_client("memory://"))(ids) == len(ids)

        # ---- worker: a failing classification (its exception text holds patient data), then the real one
        settings = Settings(database_url=db_url, model_dir=model_dir(), sweep_after_seconds=0, max_attempts=1)
        ctx = WorkerContext(settings)
        ctx.__dict__["session_factory"] = session_factory
        ctx.__dict__["classifier"] = Classifier(settings.model_dir, threads=1)

        def poisoned(texts: object) -> list[object]:
            raise ValueError(f"cannot classify {texts!r} from {NAME} {PHONE}")

        ctx.predict_override = poisoned  # type: ignore[assignment]
        failed = process_batch(ids, ctx)
        assert failed.failed, "the poisoned batch should leave messages for the sweeper"
        ctx.predict_override = None
        outcome = process_batch(ids, ctx)
        assert outcome.decided + outcome.skipped >= 1
        sweep(ctx, lambda requeue: process_batch(requeue, ctx).decided)  # whatever is left gets decided
        sweep(ctx, lambda requeue: len(requeue))

        # ---- humans: review, label, claim, ack, read
        review = client.get("/v1/review", params={"limit": 500}, headers=bearer("k-review"))
        assert review.status_code == 200 and review.json(), "the silent voicemail waits for review"
        assert any(WORD in json.dumps(item) or item["text"] == "" for item in review.json())
        for item in review.json():
            labelled = client.post(
                f"/v1/review/{item['message_id']}",
                json={"label": "clinical_concern"},
                headers=bearer("k-review"),
            )
            assert labelled.status_code == 200
        claimed = client.post("/v1/queues/clinical/claim", headers=bearer("k-clinical"))
        assert claimed.status_code == 200
        item = claimed.json()
        assert (
            client.post(f"/v1/queues/items/{item['item_id']}/ack", headers=bearer("k-clinical")).status_code
            == 200
        )
        for department in ("billing", "scheduling", "front_desk", "manager"):
            client.post(f"/v1/queues/{department}/claim", headers=bearer("k-admin"))
        texts = [client.get(f"/v1/messages/{i}", headers=bearer("k-admin")).text for i in ids]
        # the canaries really went through: staff see them where they should
        assert (
            any(WORD in t for t in texts) and any(NAME in t for t in texts) and any(PHONE in t for t in texts)
        )

        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "frontdesk_inbound_total" in metrics.text

        with session_factory() as session:
            audit = [store.audit_events(session, i) for i in ids]

    out = capsys.readouterr()
    leaks = []
    for line in all_logs.lines():
        leaks += [(c, line[:300]) for c in CANARIES if c.lower() in line.lower()]
    for w in caught:
        leaks += [(c, f"warning: {w.message}") for c in CANARIES if c.lower() in str(w.message).lower()]
    for stream, text in (
        ("stdout", out.out),
        ("stderr", out.err),
        ("metrics", metrics.text),
        ("audit", repr(audit)),
    ):
        leaks += [(c, stream) for c in CANARIES if c.lower() in text.lower()]
    assert not leaks, leaks[:10]

    # the capture really saw the libraries at DEBUG (else this test would prove nothing)
    loggers = {r.name for r in all_logs.records}
    assert any(name.startswith("sqlalchemy.engine") for name in loggers), loggers
    assert any(name.startswith("worker") for name in loggers), loggers
    assert len(all_logs.records) > 50


@pytest.mark.parametrize("echo", [False, True, "debug"])
def test_engines_log_neither_parameters_nor_rows(all_logs: Everything, db_url: str, echo: object) -> None:
    """router.db.make_engine: SQL statements may be logged, their parameters and result rows never."""
    from sqlalchemy import text

    from router.db import make_engine

    sa_logger = logging.getLogger("sqlalchemy.engine.Engine")
    handlers_before = list(sa_logger.handlers)
    engine = make_engine(db_url, echo=echo)  # type: ignore[arg-type]
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT :v"), {"v": f"{NAME} {PHONE} {WORD}"}).scalar_one()
            assert value == f"{NAME} {PHONE} {WORD}"
            with pytest.raises(Exception) as failure:
                conn.execute(text("SELECT no_such_column FROM messages WHERE text = :v"), {"v": WORD})
    finally:
        engine.dispose()
        for handler in [h for h in sa_logger.handlers if h not in handlers_before]:
            sa_logger.removeHandler(handler)  # echo=True adds a stdout handler for good
    assert WORD not in str(failure.value)  # nor in the exception text a handler might log
    lines = all_logs.lines()
    assert any("SELECT" in line for line in lines)  # the statements themselves were logged
    assert not [line for line in lines if any(c.lower() in line.lower() for c in CANARIES)]
