"""The worker loop against the real server: a crash of the worker process between a recorded
tool call and CompleteJob, and a job parked on a signal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from aetheris.runtime.v1 import job_pb2
from aetheris.signal.v1 import signal_pb2, signal_service_pb2

from aetheris_client import Client, FailedPrecondition, JobContext, RunOutcome, Worker
from conftest import ServerEnv
from support import create_job, get_job, payload, read_events, state_name, wait_for, wait_for_state

CRASH_WORKER = Path(__file__).with_name("crash_worker.py")


def read_effects(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def spawn_worker(server: ServerEnv, queue: str, effects: Path, log: Path) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, str(CRASH_WORKER), server.address, server.worker_key, queue, str(effects), "--lease", "1.5"],
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
    )


def finish(process: "subprocess.Popen[bytes]", log: Path, timeout: float = 40) -> "tuple[int, str]":
    try:
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"worker process did not exit within {timeout}s; its log:\n{log.read_text()}") from None
    return process.returncode, stdout.decode()


def test_worker_crash_resume(server: ServerEnv, admin: Client, queue: str, scratch: Path) -> None:
    effects = scratch / "effects.jsonl"
    job = create_job(admin, "crash-resume", {"order": "A-17"}, queue=queue, max_attempts=3, initial_backoff_ms=100)

    # Attempt 1: two tools run and are recorded, then the process dies (SIGKILL) before the third.
    first_log = scratch / "first.log"
    first = spawn_worker(server, queue, effects, first_log)
    code, _ = finish(first, first_log)
    assert code == -signal.SIGKILL, f"the first worker should have killed itself; log:\n{first_log.read_text()}"
    crashed = read_effects(effects)
    assert [line["tool"] for line in crashed] == ["reserve-stock", "charge-card"]
    after_crash = get_job(admin, job.id)
    assert after_crash.state != job_pb2.JOB_STATE_COMPLETED and after_crash.attempt == 1

    # Attempt 2, in another process: after the lease expires (and the sweeper's backoff), it replays.
    second_log = scratch / "second.log"
    second = spawn_worker(server, queue, effects, second_log)
    code, stdout = finish(second, second_log)
    assert code == 0, f"the second worker failed ({code}): {stdout}\n{second_log.read_text()}"
    assert json.loads(stdout.strip().splitlines()[-1]) == {"job_id": job.id, "outcome": "completed", "attempt": 2}

    done = wait_for_state(admin, job.id, [job_pb2.JOB_STATE_COMPLETED], timeout=10)
    assert done.attempt == 2
    lines = read_effects(effects)
    # Each tool's side effect happened exactly once, with the key `job_id:call_key`.
    assert [line["tool"] for line in lines] == ["reserve-stock", "charge-card", "ship-parcel"]
    assert [line["key"] for line in lines] == [f"{job.id}:1", f"{job.id}:2", f"{job.id}:3"]
    assert [line["pid"] for line in lines] == [first.pid, first.pid, second.pid]
    assert [line["attempt"] for line in lines] == [1, 1, 2]

    output = json.loads(done.output)
    assert output["attempt"] == 2 and output["pid"] == second.pid
    # The completed tools' results were replayed from the ledger (same nonce, first pid), not re-run.
    by_tool = {line["tool"]: line for line in lines}
    assert output["results"] == by_tool

    events = read_events(admin, job.id)
    types = [event.type for event in events]
    assert types.count("aetheris.tool_call.started") == 3
    assert types.count("aetheris.tool_call.finished") == 3
    assert types.count("aetheris.job.leased") == 2
    failed = [payload(event) for event in events if event.type == "aetheris.attempt.failed"]
    assert len(failed) == 1 and "LEASE_EXPIRED" in json.dumps(failed[0]), failed
    assert types[-1] == "aetheris.job.completed"


def test_signal_resumes_parked_job(admin: Client, worker_client: Client, queue: str) -> None:
    runs = {"before": 0, "after": 0}
    outcomes: List[RunOutcome] = []
    # A long poll (20 s): the signal must wake the worker, and stop() must cancel the poll.
    worker = Worker(
        worker_client,
        queue,
        worker_id=f"py-signal-{uuid.uuid4().hex[:6]}",
        lease_seconds=5,
        poll_seconds=20,
        on_result=lambda result: outcomes.append(result.outcome),
    )

    def quote_tool(idempotency_key: str) -> Dict[str, Any]:
        runs["before"] += 1
        return {"cents": 1500}

    def refund_tool(idempotency_key: str) -> Dict[str, Any]:
        runs["after"] += 1
        return {"ok": True}

    @worker.job("await-approval")
    def handler(ctx: JobContext, input_value: Any) -> Dict[str, Any]:
        quote = ctx.tool("quote", input_value, quote_tool)
        approval = ctx.await_signal("approval", timeout=60)
        refund = ctx.tool("refund", {"cents": quote["cents"]}, refund_tool)
        return {
            "quote": quote,
            "approval": {
                "timed_out": approval.timed_out,
                "name": approval.name,
                "payload": approval.payload,
                "signal_id": approval.signal_id,
            },
            "refund": refund,
        }

    errors: List[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        job = create_job(admin, "await-approval", {"order": "B-2"}, queue=queue)
        parked = wait_for_state(admin, job.id, [job_pb2.JOB_STATE_PARKED])
        assert parked.waiting_for.signal_name == "approval"
        assert parked.lease_owner == "" and not parked.HasField("lease_expires_at")
        wait_for(lambda: RunOutcome.WAITING in outcomes, 5, "the worker to report the wait")

        signal_id = str(uuid.uuid4())
        send = signal_service_pb2.SendSignalRequest(
            job_id=job.id,
            name="approval",
            payload=json.dumps({"approved": True, "by": "ada"}).encode(),
            signal_id=signal_id,
        )
        first = admin.signal.SendSignal(send, timeout=10)
        assert first.duplicate is False
        assert first.signal.id == signal_id
        assert first.signal.state == signal_pb2.SIGNAL_STATE_CONSUMED
        assert state_name(first.job_state) == "JOB_STATE_PENDING"

        # The same signal_id again (a retried click): OK, duplicate, the stored signal, nothing new.
        again = admin.signal.SendSignal(send, timeout=10)
        assert again.duplicate is True
        assert again.signal.id == signal_id
        assert again.signal.consumed_by_seq == first.signal.consumed_by_seq
        assert again.signal.payload == first.signal.payload == b'{"approved":true,"by":"ada"}'
        # The same id with another payload is a conflict, never a second signal.
        conflicting = signal_service_pb2.SendSignalRequest()
        conflicting.CopyFrom(send)
        conflicting.payload = b'{"approved":false}'
        with pytest.raises(FailedPrecondition) as caught:
            admin.signal.SendSignal(conflicting, timeout=10)
        assert caught.value.reason == "IDEMPOTENCY_CONFLICT"

        done = wait_for_state(admin, job.id, [job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_FAILED])
    finally:
        stopped_at = time.monotonic()
        worker.stop()
        thread.join(10)
    assert not thread.is_alive() and time.monotonic() - stopped_at < 5, "stop() did not end the long poll"
    assert not errors, errors
    assert state_name(done.state) == "JOB_STATE_COMPLETED", done.last_error
    assert json.loads(done.output) == {
        "quote": {"cents": 1500},
        "approval": {
            "timed_out": False,
            "name": "approval",
            "payload": {"approved": True, "by": "ada"},
            "signal_id": signal_id,
        },
        "refund": {"ok": True},
    }
    assert runs == {"before": 1, "after": 1}
    assert done.attempt == 1  # parking does not spend an attempt
    assert outcomes == [RunOutcome.WAITING, RunOutcome.COMPLETED]

    listed = admin.signal.ListSignals(signal_service_pb2.ListSignalsRequest(job_id=job.id), timeout=10)
    assert [s.id for s in listed.signals] == [signal_id]
    events = read_events(admin, job.id)
    consumed = [event for event in events if event.type == "aetheris.signal.consumed"]
    assert len(consumed) == 1 and consumed[0].seq == first.signal.consumed_by_seq
    assert payload(consumed[0])["signal_id"] == signal_id
