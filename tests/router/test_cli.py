"""The stable CLI, run as a user runs it: a subprocess of the installed ``frontdesk`` entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FRONTDESK = shutil.which("frontdesk") or str(Path(sys.executable).parent / "frontdesk")


def run(
    *args: str, stdin: str = "", cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FRONTDESK, *args], input=stdin, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def test_classify_contract_end_to_end() -> None:
    lines = [
        {"text": "need to move my cleaning thursday to next week, mornings are best"},
        "not json",
        {"text": ""},
        {"text": "Why was I charged $382? I already paid my copay at the desk.", "channel": "sms"},
        {
            "text": (
                "Are you taking new patients? We just moved here."
                "\n\nOn Mon, Jan 6 Front Desk wrote:\n> thanks"
            ),
            "channel": "email",
            "subject": "new patient",
        },
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    result = run("classify", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["label"] == "appointment_request" and out[0]["route"] in ("scheduling", "review")
    assert "error" in out[1] and "error" in out[2]
    assert out[3]["label"] == "billing_inquiry"
    assert out[4]["label"] == "new_patient_inquiry"
    assert set(out[0]) == {"label", "confidence", "scores", "route", "needs_review"}


def test_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "10/10 messages decided" in result.stdout
    for channel in ("email", "web_form", "sms", "voicemail"):
        assert channel in result.stdout
    assert "red_flag" in result.stdout and "no_transcript" in result.stdout


def test_eval_writes_a_report(tmp_path: Path) -> None:
    data = tmp_path / "few.jsonl"
    rows = [
        {"text": "need to reschedule my appointment to friday", "label": "appointment_request"},
        {"text": "question about a charge on my statement", "label": "billing_inquiry"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run("eval", "--data", str(data), "--report", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    assert "accuracy=" in result.stdout and "macro-F1" in result.stdout
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["n"] == 2
    assert (tmp_path / "report" / "confusion_matrix.png").stat().st_size > 0


@pytest.mark.parametrize(
    "command", ["train", "serve", "worker", "migrate", "bench", "export-reviewed", "beat"]
)
def test_every_documented_command_exists(command: str) -> None:
    assert run(command, "--help").returncode == 0


def test_worker_refuses_an_unknown_pool(tmp_path: Path) -> None:
    result = run("worker", "--pool", "gevent-please", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "pool must be threads, solo or prefork" in result.stderr
    assert not (tmp_path / "frontdesk.db").exists()  # refused before touching the database


@pytest.mark.parametrize(
    ("option", "env", "expected"), [([], None, 32), ([], "5", 5), (["--batch-size", "3"], "5", 3)]
)
def test_classify_forms_its_calls_as_the_worker_does(
    option: list[str], env: str | None, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """int8 activations are quantized per ONNX Runtime call: the CLI takes the worker's call size
    (FRONTDESK_INFERENCE_BATCH_SIZE) unless told otherwise. In-process, to see the calls."""
    from typer.testing import CliRunner

    from models.classifier import Classifier
    from router.cli import app
    from router.settings import get_settings

    seen: list[int] = []
    real_predict = Classifier.predict

    def recording(self: Classifier, texts: list[str], batch_size: int = 0) -> object:
        seen.append(batch_size)
        return real_predict(self, texts, batch_size=batch_size)

    monkeypatch.setattr(Classifier, "predict", recording)
    if env is None:
        monkeypatch.delenv("FRONTDESK_INFERENCE_BATCH_SIZE", raising=False)
    else:
        monkeypatch.setenv("FRONTDESK_INFERENCE_BATCH_SIZE", env)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["classify", *option], input='{"text": "can I book a cleaning?"}\n')
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[0])["label"] == "appointment_request"
    assert seen == [expected]
