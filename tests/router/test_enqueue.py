"""Enqueueing ids: several per broker message, gathered off the request path by the API's publisher."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from router import enqueue as enqueue_module
from router.api.app import create_app
from router.enqueue import MAX_IDS_PER_MESSAGE, CoalescingEnqueuer, make_enqueuer
from router.settings import Settings
from router.task_names import CLASSIFY_TASK


class _Sender:
    """Records what a Celery client would publish; ``fail_on`` makes those publishes raise."""

    def __init__(self, fail_on: tuple[int, ...] = ()) -> None:
        self.published: list[list[str]] = []
        self.fail_on = fail_on

    def send_task(self, name: str, args: list[Any] | None = None, **options: Any) -> None:
        assert name == CLASSIFY_TASK and options["queue"] == "q"
        if len(self.published) in self.fail_on:
            self.published.append([])
            raise ConnectionError("broker down")
        self.published.append(list(args or []))


class _Recorder:
    """An enqueue that records each call and can be waited on."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail_first = fail_first
        self.changed = threading.Condition()

    def __call__(self, ids: list[str]) -> int:
        with self.changed:
            self.calls.append(list(ids))
            self.changed.notify_all()
        if self.fail_first and len(self.calls) == 1:
            raise RuntimeError("broker down")
        return len(ids)

    def wait_for(self, ids: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: sum(map(len, self.calls)) >= ids, timeout=10)


def test_ids_are_published_up_to_sixteen_a_message() -> None:
    sender = _Sender()
    ids = [f"m{i}" for i in range(40)]
    assert make_enqueuer(sender, "q")(ids) == 40
    assert [len(p) for p in sender.published] == [16, 16, 8]
    assert [i for p in sender.published for i in p] == ids


def test_a_failed_publish_counts_only_its_own_ids() -> None:
    sender = _Sender(fail_on=(1,))
    assert make_enqueuer(sender, "q")([f"m{i}" for i in range(40)]) == 24


def test_ids_gathered_within_the_linger_share_a_message() -> None:
    recorder = _Recorder()
    coalescer = CoalescingEnqueuer(recorder, linger=30.0)  # only a full message or close sends
    ids = [f"m{i}" for i in range(MAX_IDS_PER_MESSAGE + 4)]
    threads = [threading.Thread(target=coalescer, args=([i],)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.wait_for(MAX_IDS_PER_MESSAGE)  # a full message goes at once, not after the linger
    assert [len(c) for c in recorder.calls] == [MAX_IDS_PER_MESSAGE]
    coalescer.close()  # what is still pending is published on close
    assert [len(c) for c in recorder.calls] == [MAX_IDS_PER_MESSAGE, 4]
    assert sorted(i for c in recorder.calls for i in c) == sorted(ids)


def test_without_linger_an_id_is_published_as_soon_as_the_thread_is_free() -> None:
    recorder = _Recorder()
    coalescer = CoalescingEnqueuer(recorder, linger=0.0)
    try:
        assert coalescer(["a"]) == 1
        recorder.wait_for(1)
        assert recorder.calls == [["a"]]
    finally:
        coalescer.close()


def test_a_failing_publish_does_not_stop_the_publisher(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []

    class Log:  # the module's logger, read directly: the suite's other tests reconfigure logging
        def warning(self, message: str, *args: object) -> None:
            warnings.append(message % args)

    monkeypatch.setattr(enqueue_module, "log", Log())
    recorder = _Recorder(fail_first=True)
    coalescer = CoalescingEnqueuer(recorder, linger=0.0)
    try:
        coalescer(["a"])
        recorder.wait_for(1)
        coalescer(["b"])
        recorder.wait_for(2)
    finally:
        coalescer.close()
    assert recorder.calls == [["a"], ["b"]]
    assert warnings == ["enqueue of 1 message(s) failed (RuntimeError); left for the sweeper"]


def test_after_close_ids_are_published_on_the_callers_thread() -> None:
    recorder = _Recorder()
    coalescer = CoalescingEnqueuer(recorder, linger=30.0)
    coalescer.close()
    assert coalescer(["late"]) == 1
    assert recorder.calls == [["late"]]


def test_the_api_publishes_what_it_holds_when_it_shuts_down(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    recorder = _Recorder()
    settings = Settings(database_url=db_url, api_keys={"k": ["inbound"]})
    app = create_app(settings, session_factory, CoalescingEnqueuer(recorder, linger=30.0))
    with TestClient(app) as client:
        response = client.post(
            "/v1/inbound/form",
            json={"submission_id": "s-1", "message": "Can I move my appointment?"},
            headers={"Authorization": "Bearer k"},
        )
        assert response.status_code == 202
        assert recorder.calls == []  # held for the linger: the 202 did not wait for the broker
    assert recorder.calls == [[response.json()["id"]]]
