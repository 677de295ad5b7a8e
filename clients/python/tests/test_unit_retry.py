"""Retries on UNAVAILABLE (exponential backoff + jitter, bounded, deadline-aware) and the bearer
key, against an in-process gRPC server on loopback that fails a scripted number of times."""

from __future__ import annotations

import time
from typing import Iterator

import grpc
import pytest
from aetheris.runtime.v1 import runtime_service_pb2

from aetheris_client import (
    Client,
    DeadlineExceeded,
    FailedPrecondition,
    NotFound,
    RetryPolicy,
    Unavailable,
    connect,
)
from fake_server import FakeRuntime, FakeServer, fail_times

JOB = "7d5e8c1a-0000-4000-8000-000000000001"


def request() -> runtime_service_pb2.GetJobRequest:
    return runtime_service_pb2.GetJobRequest(job_id=JOB)


def fixed(initial: float, max_attempts: int = 5, max_backoff: float = 10.0) -> RetryPolicy:
    """No jitter: backoffs are exactly initial × 2^n."""
    return RetryPolicy(max_attempts=max_attempts, initial_backoff=initial, max_backoff=max_backoff, jitter=0.0)


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(fail_times(0))


@pytest.fixture
def fake(runtime: FakeRuntime) -> Iterator[FakeServer]:
    server = FakeServer(runtime)
    yield server
    server.stop()


def client_for(fake: FakeServer, retry: "RetryPolicy | None") -> Client:
    return connect(fake.address, "aek_test_secret", retry=retry, metadata={"x-extra": "1"})


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    no_random = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0, rng=lambda: 0.0)
    all_random = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0, rng=lambda: 0.999999)
    assert [round(no_random.backoff(n), 6) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    # Equal jitter (0.5): never below half the step.
    assert [round(all_random.backoff(n), 3) for n in range(5)] == [0.05, 0.1, 0.2, 0.4, 0.5]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_retries_unavailable_then_succeeds_with_the_key_on_every_attempt(
    runtime: FakeRuntime, fake: FakeServer
) -> None:
    runtime.behaviour = fail_times(2)
    with client_for(fake, fixed(0.05)) as client:
        response = client.runtime.GetJob(request(), timeout=10)
    assert response.job.id == JOB
    assert len(runtime.calls) == 3
    for call in runtime.calls:
        metadata = dict(call.metadata)
        assert metadata["authorization"] == "Bearer aek_test_secret"
        assert metadata["x-extra"] == "1"
    gaps = [b.at - a.at for a, b in zip(runtime.calls, runtime.calls[1:], strict=False)]
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095, gaps  # 0.05 then 0.1 (no jitter)


def test_gives_up_after_max_attempts(runtime: FakeRuntime, fake: FakeServer) -> None:
    runtime.behaviour = fail_times(100)
    with client_for(fake, fixed(0.01, max_attempts=3)) as client:
        with pytest.raises(Unavailable) as caught:
            client.runtime.GetJob(request(), timeout=10)
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert caught.value.message == "scripted failure 3"
    assert isinstance(caught.value.rpc_error, grpc.RpcError)
    assert len(runtime.calls) == 3


@pytest.mark.parametrize(
    ("code", "error"),
    [(grpc.StatusCode.NOT_FOUND, NotFound), (grpc.StatusCode.FAILED_PRECONDITION, FailedPrecondition)],
)
def test_never_retries_other_codes(runtime: FakeRuntime, fake: FakeServer, code: grpc.StatusCode, error: type) -> None:
    runtime.behaviour = fail_times(1, code)
    with client_for(fake, fixed(0.01)) as client:
        with pytest.raises(error):
            client.runtime.GetJob(request(), timeout=10)
    assert len(runtime.calls) == 1


def test_no_retry_starts_past_the_deadline(runtime: FakeRuntime, fake: FakeServer) -> None:
    runtime.behaviour = fail_times(100)
    with client_for(fake, fixed(0.3, max_attempts=10)) as client:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            client.runtime.GetJob(request(), timeout=0.5)
        elapsed = time.monotonic() - started
    # Attempt 1 at 0, attempt 2 after 0.3 s; the next backoff (0.6 s) would end past the deadline.
    assert len(runtime.calls) == 2
    assert elapsed < 0.8  # a third attempt could not start before 0.9 s
    # The second attempt only got the time that remained.
    remaining = runtime.calls[1].time_remaining
    assert remaining is not None and remaining < 0.25


def test_an_attempt_that_runs_out_of_time_is_not_retried(runtime: FakeRuntime, fake: FakeServer) -> None:
    def slow(n: int, req: runtime_service_pb2.GetJobRequest, context: grpc.ServicerContext) -> object:
        time.sleep(0.5)
        return runtime_service_pb2.GetJobResponse()

    runtime.behaviour = slow
    with client_for(fake, fixed(0.01)) as client:
        with pytest.raises(DeadlineExceeded):
            client.runtime.GetJob(request(), timeout=0.2)
    assert len(runtime.calls) == 1


def test_futures_are_retried_and_cancellable(runtime: FakeRuntime, fake: FakeServer) -> None:
    runtime.behaviour = fail_times(2)
    with client_for(fake, fixed(0.02)) as client:
        future = client.runtime.GetJob.future(request(), timeout=10)
        assert future.result(timeout=10).job.id == JOB
        assert future.code() == grpc.StatusCode.OK
        assert len(runtime.calls) == 3

        runtime.calls.clear()
        runtime.behaviour = fail_times(100)
        # The first attempt fails at once; the retry waits 5 s: cancel during the backoff.
        slow = client_for(fake, fixed(5.0))
        try:
            future = slow.runtime.GetJob.future(request(), timeout=30)
            started = time.monotonic()
            deadline = started + 5
            while not runtime.calls and time.monotonic() < deadline:
                time.sleep(0.01)
            assert future.cancel()
            with pytest.raises(grpc.FutureCancelledError):
                future.result(timeout=5)
            assert time.monotonic() - started < 2
            assert future.cancelled()
            assert len(runtime.calls) == 1
        finally:
            slow.close()


def test_retry_none_makes_one_attempt(runtime: FakeRuntime, fake: FakeServer) -> None:
    runtime.behaviour = fail_times(1)
    with client_for(fake, None) as client:
        with pytest.raises(Unavailable):
            client.runtime.GetJob(request(), timeout=10)
    assert len(runtime.calls) == 1


def test_streams_are_not_retried_and_raise_native_errors(runtime: FakeRuntime, fake: FakeServer) -> None:
    with client_for(fake, fixed(0.01)) as client:
        stream = client.runtime.StreamEvents(runtime_service_pb2.StreamEventsRequest(job_id=JOB), timeout=10)
        with pytest.raises(Unavailable) as caught:
            list(stream)
    assert caught.value.message == "stream unavailable"
    assert runtime.stream_calls == 1


def test_only_calls_safe_to_repeat_are_retried() -> None:
    from aetheris.runtime.v1 import event_pb2

    from aetheris_client.retry import safe_to_retry

    runtime = "/aetheris.runtime.v1.RuntimeService/"
    assert safe_to_retry(runtime + "GetJob", request())
    assert safe_to_retry("/aetheris.signal.v1.SignalService/SendSignal", None)
    assert not safe_to_retry(runtime + "CreateJob", runtime_service_pb2.CreateJobRequest(job_type="x"))
    assert safe_to_retry(runtime + "CreateJob", runtime_service_pb2.CreateJobRequest(idempotency_key="order-1"))
    keyed = event_pb2.EventInput(event_id=JOB, type="t")
    unkeyed = event_pb2.EventInput(type="t")
    assert safe_to_retry(runtime + "AppendEvents", runtime_service_pb2.AppendEventsRequest(events=[keyed]))
    assert not safe_to_retry(runtime + "AppendEvents", runtime_service_pb2.AppendEventsRequest(events=[keyed, unkeyed]))
    assert not safe_to_retry(runtime + "CompleteJob", runtime_service_pb2.CompleteJobRequest())
