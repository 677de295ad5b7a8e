"""Helpers of the end-to-end tests: jobs, events, and waiting with deadlines (never fixed sleeps)."""

from __future__ import annotations

import json
import queue as queue_module
import threading
import time
from typing import Any, Callable, Iterable, List, Optional, Sequence, TypeVar

from aetheris.runtime.v1 import event_pb2, job_pb2, runtime_service_pb2
from google.protobuf import duration_pb2

from aetheris_client import Client

T = TypeVar("T")

TERMINAL = (job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED)


def state_name(state: int) -> str:
    return str(job_pb2.JobState.Name(state))


def wait_for(check: Callable[[], Optional[T]], timeout: float, what: str, interval: float = 0.02) -> T:
    """Polls `check` until it returns something other than None/False, or fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last is not None and last is not False:
            return last  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def get_job(client: Client, job_id: str) -> job_pb2.Job:
    response: runtime_service_pb2.GetJobResponse = client.runtime.GetJob(
        runtime_service_pb2.GetJobRequest(job_id=job_id), timeout=10
    )
    return response.job


def wait_for_state(client: Client, job_id: str, states: Sequence[int], timeout: float = 20.0) -> job_pb2.Job:
    last: List[job_pb2.Job] = []

    def check() -> Optional[job_pb2.Job]:
        job = get_job(client, job_id)
        last[:] = [job]
        return job if job.state in states else None

    try:
        return wait_for(check, timeout, f"job {job_id} to reach {[state_name(s) for s in states]}")
    except AssertionError as error:
        seen = state_name(last[0].state) if last else "nothing"
        raise AssertionError(f"{error}; last state {seen}") from None


def create_job(
    client: Client,
    job_type: str,
    input_value: Any = None,
    *,
    queue: str = "default",
    max_attempts: int = 0,
    initial_backoff_ms: int = 0,
) -> job_pb2.Job:
    request = runtime_service_pb2.CreateJobRequest(
        job_type=job_type, queue=queue, input=json.dumps(input_value).encode()
    )
    if max_attempts:
        request.retry_policy.max_attempts = max_attempts
    if initial_backoff_ms:
        backoff = duration_pb2.Duration()
        backoff.FromMilliseconds(initial_backoff_ms)
        request.retry_policy.initial_backoff.CopyFrom(backoff)
    response: runtime_service_pb2.CreateJobResponse = client.runtime.CreateJob(request, timeout=10)
    return response.job


def append(client: Client, job_id: str, events: Iterable[tuple[str, Any]]) -> runtime_service_pb2.AppendEventsResponse:
    request = runtime_service_pb2.AppendEventsRequest(
        job_id=job_id,
        events=[event_pb2.EventInput(type=type_, payload=json.dumps(payload).encode()) for type_, payload in events],
    )
    response: runtime_service_pb2.AppendEventsResponse = client.runtime.AppendEvents(request, timeout=10)
    return response


def read_events(client: Client, job_id: str) -> List[event_pb2.Event]:
    events: List[event_pb2.Event] = []
    after = 0
    while True:
        page: runtime_service_pb2.ReadEventsResponse = client.runtime.ReadEvents(
            runtime_service_pb2.ReadEventsRequest(job_id=job_id, after_seq=after, limit=1000), timeout=10
        )
        events.extend(page.events)
        if len(page.events) < 1000:
            return events
        after = page.events[-1].seq


def payload(event: event_pb2.Event) -> Any:
    return json.loads(event.payload) if event.payload else None


class StreamReader:
    """Drains a server stream on a background thread into a queue, so a test can wait on it
    with a deadline; `end` is the exception that ended the stream (None: ended OK)."""

    _DONE = object()

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.messages: "queue_module.Queue[Any]" = queue_module.Queue()
        self.ended = threading.Event()
        self.end: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            for message in self.stream:
                self.messages.put(message)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            self.end = error
        finally:
            self.ended.set()
            self.messages.put(self._DONE)

    def next(self, timeout: float) -> Any:
        """The next message; raises AssertionError on timeout or when the stream ended."""
        try:
            message = self.messages.get(timeout=timeout)
        except queue_module.Empty:
            raise AssertionError(f"no stream message within {timeout}s") from None
        if message is self._DONE:
            self.messages.put(self._DONE)
            raise AssertionError(f"the stream ended ({self.end!r})")
        return message

    def cancel(self) -> None:
        self.stream.cancel()
        self.ended.wait(10)
