"""Exceptions of the worker loop.

Two families:

* :class:`AttemptHalted` and its subclasses end the current attempt on purpose (the job parked
  for a signal or a person, the lease lost, the job cancelled). They derive from
  ``BaseException`` so that a handler's ``except Exception`` does not swallow them; the worker
  writes nothing more for the attempt either way.
* Ordinary exceptions (:class:`ToolFailedError`, :class:`NondeterminismError`,
  :class:`NonRetryableError`) fail the attempt or the job.
"""

from __future__ import annotations

from typing import Optional


class AttemptHalted(BaseException):
    """The attempt is over; the handler must stop (do not catch)."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class LeaseLost(AttemptHalted):
    """The server fenced this attempt off (lease expired and swept, or taken over), or the server
    could not be reached before the lease ran out. Nothing more is written for the attempt."""

    def __init__(self, job_id: str, fencing_token: int, detail: str) -> None:
        super().__init__(
            job_id,
            f"job {job_id}: the lease with fencing token {fencing_token} was lost ({detail}); "
            "this attempt must stop, the server retries the job under its retry policy",
        )
        self.fencing_token = fencing_token
        self.detail = detail


class JobCancelled(AttemptHalted):
    """The job was cancelled (CancelJob) while this attempt ran."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id, f"job {job_id} was cancelled while it ran; nothing more is recorded")


class JobWaiting(AttemptHalted):
    """`ctx.await_signal()` found no signal: the server parked the job (no lease, no worker slot).
    It resumes, replaying its history, when the signal is sent or the deadline passes."""

    def __init__(self, job_id: str, call_key: str, signal_name: str) -> None:
        super().__init__(
            job_id,
            f"job {job_id} waits for signal {signal_name!r} (call #{call_key}); the job is parked and this "
            "run of the handler ends here",
        )
        self.call_key = call_key
        self.signal_name = signal_name


class JobParked(AttemptHalted):
    """A non-idempotent tool call is in doubt (an earlier attempt started it and died): the job is
    parked until a person resolves it (SignalService.ResolveInDoubt)."""

    def __init__(self, job_id: str, call_key: str, tool_name: str) -> None:
        super().__init__(
            job_id,
            f"job {job_id}: tool {tool_name!r} (call #{call_key}) may or may not have run in an earlier attempt "
            "and is not declared idempotent; the job is parked until a person resolves the call",
        )
        self.call_key = call_key
        self.tool_name = tool_name


class NonRetryableError(Exception):
    """Raise it (or a subclass) from a handler or a tool to fail the job at once instead of
    retrying it under its retry policy."""


class NondeterminismError(Exception):
    """The handler did not make the same durable calls, in the same order, with the same
    arguments, as the job's recorded history. The job fails (non-retryable, `NONDETERMINISM`)."""

    def __init__(self, job_id: str, call_key: str, requested: str, recorded: Optional[str], detail: str) -> None:
        super().__init__(
            f"job {job_id}: call #{call_key} asked for {requested!r} but the history recorded "
            f"{repr(recorded) if recorded is not None else 'another call'} at this position ({detail}). "
            "Handlers must make the same ctx.tool()/ctx.await_signal() calls in the same order with the "
            "same arguments on every attempt."
        )
        self.job_id = job_id
        self.call_key = call_key
        self.requested = requested
        self.recorded = recorded
        self.detail = detail


class ToolFailedError(Exception):
    """A tool call failed: its function raised in this attempt (the failure was recorded in the
    ledger), or the ledger holds a recorded failure for it."""

    def __init__(
        self,
        job_id: str,
        call_key: str,
        tool_name: str,
        reason: str,
        tool_message: str,
        non_retryable: bool = False,
    ) -> None:
        super().__init__(f"job {job_id}: tool {tool_name!r} (call #{call_key}) failed with {reason}: {tool_message}")
        self.job_id = job_id
        self.call_key = call_key
        self.tool_name = tool_name
        self.reason = reason
        self.tool_message = tool_message
        self.non_retryable = non_retryable
