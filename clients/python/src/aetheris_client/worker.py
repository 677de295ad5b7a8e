"""A minimal worker loop: lease jobs of one queue and run their handlers, one job at a time.

    worker = Worker(client, "refunds", lease_seconds=30)

    @worker.job("refund-agent")
    def refund(ctx: JobContext, input: dict) -> dict:
        order = ctx.tool("lookup-order", {"id": input["order"]}, lambda key: shop.get(input["order"]))
        approval = ctx.await_signal("approval", timeout=24 * 3600)
        ...
        return {"refunded": True}

    worker.run()   # until worker.stop()

Each attempt: AcquireJob (long poll) → heartbeats on a background thread while the handler runs
→ exactly one final write (CompleteJob, or FailJob), unless the attempt was halted (lease lost,
job cancelled, parked for a signal or a person), in which case nothing more is written. The
handler re-runs from the start on every attempt; calls already recorded in the ledger are
answered from it (see :mod:`aetheris_client.job_context`).
"""

from __future__ import annotations

import enum
import logging
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, TypeVar

import grpc
from aetheris.runtime.v1 import job_pb2, runtime_service_pb2

from .canonical_json import canonical_json_bytes, parse_json_bytes
from .client import Client
from .errors import AetherisError, Cancelled
from .job_context import JobContext, describe_error
from .lease import LeaseGuard, duration
from .retry import RetryPolicy
from .worker_errors import (
    AttemptHalted,
    JobCancelled,
    JobParked,
    JobWaiting,
    LeaseLost,
    NondeterminismError,
    NonRetryableError,
    ToolFailedError,
)

Handler = Callable[[JobContext, Any], Any]
"""A job handler: ``fn(ctx, input) -> output``; input and output are JSON values."""
H = TypeVar("H", bound=Handler)

_NAME = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")
_FATAL = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)
_POLL_BACKOFF = RetryPolicy(max_attempts=1_000_000, initial_backoff=0.2, max_backoff=5.0)


class RunOutcome(str, enum.Enum):
    """How one attempt ended, from this worker's point of view."""

    COMPLETED = "completed"
    """CompleteJob succeeded."""
    FAILED = "failed"
    """FailJob made the job FAILED (non-retryable, or attempts spent)."""
    RETRYING = "retrying"
    """FailJob made the job RETRYING: another attempt follows after the backoff."""
    WAITING = "waiting"
    """The handler waits for a signal: the job is PARKED."""
    PARKED = "parked"
    """A tool call is in doubt: the job is PARKED for a person."""
    LEASE_LOST = "lease_lost"
    """The server fenced this attempt off; nothing more was written."""
    CANCELLED = "cancelled"
    """The job was cancelled while it ran."""
    RELEASED = "released"
    """The job was given back without spending an attempt (no handler, or the worker stopped)."""
    WRITE_FAILED = "write_failed"
    """The final write failed for another reason; the lease will expire and the server retries."""


@dataclass(frozen=True)
class RunResult:
    """What :meth:`Worker.run_once` did with the job it leased."""

    job_id: str
    job_type: str
    attempt: int
    outcome: RunOutcome
    output: Any = None
    """The handler's output (COMPLETED)."""
    error: Optional[BaseException] = None
    """What the handler raised, or why the attempt stopped."""


class Worker:
    """Leases jobs of one queue and runs the registered handlers, one at a time."""

    def __init__(
        self,
        client: Client,
        queue: str = "default",
        worker_id: Optional[str] = None,
        lease_seconds: float = 30.0,
        *,
        heartbeat_seconds: Optional[float] = None,
        poll_seconds: float = 10.0,
        capabilities: Sequence[str] = (),
        rpc_timeout: float = 10.0,
        logger: Optional[logging.Logger] = None,
        on_result: Optional[Callable[[RunResult], None]] = None,
    ) -> None:
        """
        Args:
            client: from :func:`aetheris_client.connect`, with a worker (or admin) key.
            queue: the task queue to take jobs from.
            worker_id: a stable, unique name of this worker process (default: host:pid:random).
            lease_seconds: lease length, 1..600; heartbeats extend it while a handler runs.
            heartbeat_seconds: heartbeat interval (default: a third of the lease).
            poll_seconds: AcquireJob long-poll length, 0..60 (also how long :meth:`stop` may wait).
            capabilities: capabilities this worker offers (jobs may require some).
            rpc_timeout: time limit of one worker write.
            logger: default ``logging.getLogger("aetheris_client.worker")``.
            on_result: called with each attempt's :class:`RunResult` (metrics, tests).
        """
        self.client = client
        self.queue = queue
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds if heartbeat_seconds is not None else lease_seconds / 3
        self.poll_seconds = poll_seconds
        self.capabilities = list(capabilities)
        self.rpc_timeout = rpc_timeout
        self.log = logger or logging.getLogger("aetheris_client.worker")
        self._on_result = on_result
        self._handlers: Dict[str, Handler] = {}
        self._stopping = threading.Event()
        self._polling_lock = threading.Lock()
        self._polling: Optional[grpc.Future] = None
        if not _NAME.match(queue):
            raise ValueError(f"queue must be 1..128 characters of [A-Za-z0-9._:/-]: {queue!r}")
        if not 1 <= len(self.worker_id) <= 128:
            raise ValueError("worker_id must be 1..128 characters")
        if not 1 <= lease_seconds <= 600:
            raise ValueError("lease_seconds must be within 1..600")
        if not 0 < self.heartbeat_seconds < lease_seconds:
            raise ValueError("heartbeat_seconds must be > 0 and below lease_seconds")
        if not 0 <= poll_seconds <= 60:
            raise ValueError("poll_seconds must be within 0..60")

    # -- registration --------------------------------------------------------------------------
    def register(self, job_type: str, handler: Handler) -> None:
        """Registers the handler of a job type."""
        if not _NAME.match(job_type):
            raise ValueError(f"job type must be 1..128 characters of [A-Za-z0-9._:/-]: {job_type!r}")
        if job_type in self._handlers:
            raise ValueError(f"a handler for job type {job_type!r} is already registered")
        self._handlers[job_type] = handler

    def job(self, job_type: str) -> Callable[[H], H]:
        """Decorator form of :meth:`register`."""

        def decorate(handler: H) -> H:
            self.register(job_type, handler)
            return handler

        return decorate

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        """Leases and runs jobs until :meth:`stop`. Transient failures are retried with backoff;
        raises when the server refuses the worker for good (bad key, role or options)."""
        failures = 0
        while not self._stopping.is_set():
            try:
                self.run_once()
                failures = 0
            except AetherisError as error:
                if error.code in _FATAL:
                    raise
                wait = _POLL_BACKOFF.backoff(failures)
                failures += 1
                self.log.warning("AcquireJob failed (%s); retrying in %.2fs", error, wait)
                self._stopping.wait(wait)

    def stop(self) -> None:
        """Stops polling (cancelling a long poll in flight). A job that is running finishes first."""
        self._stopping.set()
        with self._polling_lock:
            polling = self._polling
        if polling is not None:
            polling.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run_once(self, poll_seconds: Optional[float] = None) -> Optional[RunResult]:
        """Leases at most one job (long-polling up to `poll_seconds`) and runs it to the end of
        the attempt. Returns ``None`` when nothing was leased."""
        if not self._handlers:
            raise RuntimeError("register at least one handler before running the worker")
        if self._stopping.is_set():
            return None
        acquired = self._acquire(self.poll_seconds if poll_seconds is None else poll_seconds)
        if acquired is None:
            return None
        received_at = time.monotonic()
        if self._stopping.is_set():
            self._give_back(acquired.lease.job_id, acquired.lease.fencing_token, "worker stopping")
            return None
        result = self._run_attempt(acquired, received_at)
        if self._on_result is not None:
            self._on_result(result)
        return result

    def _acquire(self, poll_seconds: float) -> Optional[runtime_service_pb2.AcquireJobResponse]:
        request = runtime_service_pb2.AcquireJobRequest(
            worker_id=self.worker_id,
            queues=[self.queue],
            job_types=sorted(self._handlers),
            capabilities=self.capabilities,
            wait=duration(poll_seconds),
            lease_duration=duration(self.lease_seconds),
        )
        future = self.client.runtime.AcquireJob.future(request, timeout=poll_seconds + self.rpc_timeout)
        with self._polling_lock:
            self._polling = future
        if self._stopping.is_set():
            future.cancel()
        try:
            response: runtime_service_pb2.AcquireJobResponse = future.result()
        except (grpc.FutureCancelledError, Cancelled):
            if self._stopping.is_set():
                return None
            raise
        finally:
            with self._polling_lock:
                self._polling = None
        if not response.HasField("lease"):
            return None
        return response

    def _give_back(self, job_id: str, fencing_token: int, reason: str) -> None:
        try:
            self.client.runtime.ReleaseJob(
                runtime_service_pb2.ReleaseJobRequest(job_id=job_id, fencing_token=fencing_token, reason=reason),
                timeout=self.rpc_timeout,
            )
        except AetherisError as error:
            self.log.warning("job %s: could not release a lease won while stopping: %s", job_id, error)

    # -- one attempt ---------------------------------------------------------------------------
    def _run_attempt(self, acquired: runtime_service_pb2.AcquireJobResponse, received_at: float) -> RunResult:
        job = acquired.job
        lease_msg = acquired.lease
        attempt = int(lease_msg.attempt)
        lease = LeaseGuard(
            self.client,
            lease_msg.job_id,
            int(lease_msg.fencing_token),
            self.lease_seconds,
            received_at=received_at,
            rpc_timeout=self.rpc_timeout,
            log=self.log,
        )

        def result(outcome: RunOutcome, output: Any = None, error: Optional[BaseException] = None) -> RunResult:
            return RunResult(lease_msg.job_id, job.job_type, attempt, outcome, output, error)

        handler = self._handlers.get(job.job_type)
        if handler is None:
            self.log.warning("job %s: no handler for job type %r; releasing it", job.id, job.job_type)
            self._final_write(lease, "ReleaseJob", self._release_request(lease, 5.0, "no handler registered"))
            return result(RunOutcome.RELEASED)

        ctx = JobContext(lease, job, attempt, acquired.tool_calls, self.log)
        lease.start_heartbeats(self.heartbeat_seconds)
        returned = False
        output: Any = None
        raised: Optional[BaseException] = None
        try:
            output = handler(ctx, parse_json_bytes(job.input))
            returned = True
        except AttemptHalted as halted:
            raised = halted
        except Exception as error:  # noqa: BLE001 - the handler's failure fails the attempt
            raised = error
        finally:
            lease.stop_heartbeats()

        halt = lease.halt_reason
        if halt is not None:
            self.log.info("job %s: attempt ended without a final write (%s)", job.id, type(halt).__name__)
            return result(_halted_outcome(halt), error=halt)
        if isinstance(raised, AttemptHalted):
            # Raised by the handler itself without a halt recorded: treat as lease lost.
            return result(RunOutcome.LEASE_LOST, error=raised)

        if ctx.nondeterminism is not None:
            error_msg = job_pb2.JobError(reason="NONDETERMINISM", message=str(ctx.nondeterminism)[:4096])
            return self._fail(lease, result, error_msg, True, ctx.nondeterminism)
        if returned:
            try:
                data = canonical_json_bytes(output)
            except (TypeError, ValueError) as error:
                error_msg = job_pb2.JobError(reason="OUTPUT_NOT_JSON", message=str(error)[:4096])
                return self._fail(lease, result, error_msg, True, error)
            request = runtime_service_pb2.CompleteJobRequest(
                job_id=lease.job_id, fencing_token=lease.fencing_token, output=data
            )
            outcome = self._final_write(lease, "CompleteJob", request)
            if outcome is None:
                return result(RunOutcome.COMPLETED, output=parse_json_bytes(data))
            return result(outcome, error=lease.halt_reason)
        assert raised is not None
        reason, message = describe_error(raised, "HANDLER_ERROR")
        return self._fail(
            lease, result, job_pb2.JobError(reason=reason, message=message), _non_retryable(raised), raised
        )

    def _fail(
        self,
        lease: LeaseGuard,
        result: Callable[..., RunResult],
        error: job_pb2.JobError,
        non_retryable: bool,
        cause: BaseException,
    ) -> RunResult:
        self.log.info("job %s: handler failed (%s, non_retryable=%s)", lease.job_id, error.reason, non_retryable)
        request = runtime_service_pb2.FailJobRequest(
            job_id=lease.job_id, fencing_token=lease.fencing_token, error=error, non_retryable=non_retryable
        )
        response: Dict[str, Any] = {}
        outcome = self._final_write(lease, "FailJob", request, response)
        if outcome is not None:
            return result(outcome, error=cause)
        failed = response.get("job")
        state = failed.state if failed is not None else job_pb2.JOB_STATE_FAILED
        return result(RunOutcome.FAILED if state == job_pb2.JOB_STATE_FAILED else RunOutcome.RETRYING, error=cause)

    def _release_request(self, lease: LeaseGuard, delay: float, reason: str) -> runtime_service_pb2.ReleaseJobRequest:
        return runtime_service_pb2.ReleaseJobRequest(
            job_id=lease.job_id, fencing_token=lease.fencing_token, delay=duration(delay), reason=reason
        )

    def _final_write(
        self, lease: LeaseGuard, rpc: str, request: Any, response_out: Optional[Dict[str, Any]] = None
    ) -> Optional[RunOutcome]:
        """Makes the attempt's one final write. Returns ``None`` on success, else the outcome."""
        method = getattr(self.client.runtime, rpc)
        try:
            response = lease.write(rpc, lambda timeout: method(request, timeout=timeout))
            if response_out is not None:
                response_out["job"] = response.job
            self.log.info("job %s: attempt finished with %s", lease.job_id, rpc)
            return None
        except AttemptHalted as halted:
            self.log.warning("job %s: %s refused: %s", lease.job_id, rpc, halted)
            return _halted_outcome(halted)
        except AetherisError as error:
            self.log.error(
                "job %s: %s failed (%s); the lease will expire and the server retries", lease.job_id, rpc, error
            )
            return RunOutcome.WRITE_FAILED
        finally:
            # Whatever happened, this attempt writes nothing more.
            lease.halt(LeaseLost(lease.job_id, lease.fencing_token, "the attempt is over"))


def _halted_outcome(halt: AttemptHalted) -> RunOutcome:
    if isinstance(halt, JobWaiting):
        return RunOutcome.WAITING
    if isinstance(halt, JobParked):
        return RunOutcome.PARKED
    if isinstance(halt, JobCancelled):
        return RunOutcome.CANCELLED
    return RunOutcome.LEASE_LOST


def _non_retryable(error: BaseException) -> bool:
    return isinstance(error, (NonRetryableError, NondeterminismError)) or (
        isinstance(error, ToolFailedError) and error.non_retryable
    )
