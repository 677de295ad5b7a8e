"""The durable operations of one attempt: `ctx.tool()` and `ctx.await_signal()`.

Each call takes the next value of a per-attempt counter as its call key ("1", "2", …): the
call's position in the handler, never its timing or the attempt, exactly like the TypeScript
SDK. A call already recorded in the ledger the lease brought (AcquireJob.tool_calls) is answered
from it without any RPC and without running the tool; otherwise the server's ledger decides
(BeginToolCall / AwaitSignal). The external idempotency key handed to a tool is
``<job_id>:<call_key>``: it never changes across attempts.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Optional

from aetheris.runtime.v1 import job_pb2, runtime_service_pb2, worker_pb2

from .canonical_json import canonical_json_bytes, parse_json_bytes
from .lease import LeaseGuard, duration
from .worker_errors import JobParked, JobWaiting, NondeterminismError, NonRetryableError, ToolFailedError

#: Tool names under this prefix are the runtime's own recorded operations.
RESERVED_PREFIX = "aetheris."
#: The ledger's tool name of a signal wait (recorded by AwaitSignal).
SIGNAL_TOOL = "aetheris.signal"

ToolFn = Callable[[str], Any]
"""A tool: receives the call's external idempotency key, returns a JSON value."""


@dataclass(frozen=True)
class SignalResult:
    """The outcome of `ctx.await_signal()`."""

    timed_out: bool
    name: str
    payload: Any = None
    signal_id: str = ""


class JobContext:
    """What a handler gets: the job's facts and its durable operations."""

    def __init__(
        self,
        lease: LeaseGuard,
        job: job_pb2.Job,
        attempt: int,
        tool_calls: Iterable[worker_pb2.ToolCall],
        log: logging.Logger,
    ) -> None:
        self._lease = lease
        self.job_id: str = job.id
        self.job_type: str = job.job_type
        self.queue: str = job.queue
        #: The attempt this lease runs (1-based).
        self.attempt: int = attempt
        self.fencing_token: int = lease.fencing_token
        self.log = log
        self._recorded: Dict[str, worker_pb2.ToolCall] = {call.call_key: call for call in tool_calls}
        self._counter = 0
        self._counter_lock = threading.Lock()
        #: Set by the first divergence: the job fails with it even if the handler swallows it.
        self.nondeterminism: Optional[NondeterminismError] = None

    @property
    def lease_lost(self) -> threading.Event:
        """Set once the lease is lost or the job cancelled: a long tool may poll it and stop."""
        return self._lease.lost

    def _next_key(self) -> str:
        with self._counter_lock:
            self._counter += 1
            return str(self._counter)

    # -- tools ---------------------------------------------------------------------------------
    def tool(self, name: str, args: Any, fn: ToolFn, *, idempotent: bool = False) -> Any:
        """Runs `fn` at most once for this position of the handler, through the tool ledger.

        Args:
            name: the tool's name (1..128 characters of ``[A-Za-z0-9._:/-]``, not ``aetheris.*``).
            args: the tool's arguments as a JSON value; their canonical digest is recorded, and a
                replay with other arguments is a :class:`NondeterminismError`.
            fn: called with the external idempotency key (``<job_id>:<call_key>``) when the
                ledger says the call must run; returns a JSON value.
            idempotent: the tool is safe to run again with the same idempotency key, so a call
                in doubt after a crash is re-run instead of parking the job for a person.

        Returns:
            The tool's result as JSON (the same value a replay returns). A call recorded before
            (this or an earlier attempt) returns its recorded result without running `fn`.

        Raises:
            ToolFailedError: `fn` raised (the failure is recorded), or a failure was recorded.
            NondeterminismError: the history recorded another tool or other arguments here.
            JobParked: the call is in doubt and not idempotent: the job waits for a person.
            LeaseLost / JobCancelled: the attempt is over.
        """
        if name.startswith(RESERVED_PREFIX):
            raise ValueError(f"tool names starting with {RESERVED_PREFIX!r} are reserved: {name}")
        # Taken before anything can fail or block: the key is the call's position in the handler.
        call_key = self._next_key()
        self._lease.assert_active()
        args_digest = hashlib.sha256(canonical_json_bytes(args)).digest()

        recorded = self._recorded.get(call_key)
        if recorded is not None:
            if recorded.tool_name != name:
                raise self._diverged(call_key, name, recorded.tool_name, f"recorded tool {recorded.tool_name!r}")
            if bytes(recorded.args_digest) != args_digest:
                raise self._diverged(call_key, name, recorded.tool_name, "same tool, different arguments")
            final = recorded.state == worker_pb2.TOOL_CALL_STATE_SUCCEEDED or (
                recorded.state == worker_pb2.TOOL_CALL_STATE_RESOLVED and len(recorded.result) > 0
            )
            if final:
                self.log.debug("job %s: call #%s (%s) replayed from the ledger", self.job_id, call_key, name)
                return parse_json_bytes(recorded.result)

        answer = self._lease.write(
            "BeginToolCall",
            lambda timeout: self._lease.client.runtime.BeginToolCall(
                runtime_service_pb2.BeginToolCallRequest(
                    job_id=self.job_id,
                    fencing_token=self.fencing_token,
                    call_key=call_key,
                    tool_name=name,
                    args_digest=args_digest,
                    idempotent=idempotent,
                ),
                timeout=timeout,
            ),
        )
        decision = answer.decision
        call = answer.call
        key = call.external_idempotency_key or f"{self.job_id}:{call_key}"
        if decision == worker_pb2.TOOL_CALL_DECISION_EXECUTE:
            return self._execute(call_key, name, key, fn)
        if decision == worker_pb2.TOOL_CALL_DECISION_RECORDED:
            return self._recorded_outcome(call_key, name, call)
        if decision == worker_pb2.TOOL_CALL_DECISION_IN_DOUBT:
            if idempotent:
                # The server re-armed the call for this lease: run it again with the same key.
                return self._execute(call_key, name, key, fn)
            parked = JobParked(self.job_id, call_key, name)
            self._lease.halt(parked)
            self.log.warning("job %s: tool call #%s (%s) in doubt: the job is parked", self.job_id, call_key, name)
            raise parked
        if decision == worker_pb2.TOOL_CALL_DECISION_NONDETERMINISM:
            raise self._diverged(call_key, name, call.tool_name or None, answer.detail or "reported by the server")
        raise RuntimeError(
            f"job {self.job_id}: BeginToolCall answered decision {decision} for call #{call_key}, "
            "which this client does not know (is the server newer?)"
        )

    def _execute(self, call_key: str, name: str, idempotency_key: str, fn: ToolFn) -> Any:
        try:
            value = fn(idempotency_key)
        except Exception as error:
            # After a lost lease nothing is recorded: the stop reason wins over the tool's error.
            self._lease.assert_active()
            reason, message = describe_error(error, "TOOL_ERROR")
            self._complete(call_key, error=job_pb2.JobError(reason=reason, message=message))
            raise ToolFailedError(
                self.job_id, call_key, name, reason, message, non_retryable=isinstance(error, NonRetryableError)
            ) from error
        self._lease.assert_active()
        try:
            data = canonical_json_bytes(value)
        except (TypeError, ValueError) as error:
            # The tool ran but its result cannot be recorded: leave the call STARTED (in doubt
            # on a later attempt) rather than record a failure that would let it run again.
            raise ToolFailedError(self.job_id, call_key, name, "RESULT_NOT_JSON", str(error), True) from error
        self._complete(call_key, result=data)
        # The JSON form, exactly what a replay returns.
        return parse_json_bytes(data)

    def _complete(
        self, call_key: str, *, result: Optional[bytes] = None, error: Optional[job_pb2.JobError] = None
    ) -> None:
        request = runtime_service_pb2.CompleteToolCallRequest(
            job_id=self.job_id, fencing_token=self.fencing_token, call_key=call_key
        )
        if error is not None:
            request.error.CopyFrom(error)
        else:
            request.result = result if result is not None else b"null"
        self._lease.write(
            "CompleteToolCall",
            lambda timeout: self._lease.client.runtime.CompleteToolCall(request, timeout=timeout),
        )

    def _recorded_outcome(self, call_key: str, name: str, call: worker_pb2.ToolCall) -> Any:
        if call.HasField("error") and call.state != worker_pb2.TOOL_CALL_STATE_SUCCEEDED:
            raise ToolFailedError(self.job_id, call_key, name, call.error.reason or "TOOL_ERROR", call.error.message)
        return parse_json_bytes(call.result)

    # -- signals -------------------------------------------------------------------------------
    def await_signal(self, name: str, timeout: Optional[float] = None) -> SignalResult:
        """Waits for the signal `name` at this position of the handler.

        Consumes the oldest pending signal of that name, or returns ``timed_out=True`` once
        `timeout` seconds (fixed by the first call at this position) have passed. When no signal
        is there yet the server parks the job (no lease, no worker slot) and this raises
        :class:`JobWaiting`: the handler run ends, and the job is replayed when the signal
        arrives or the deadline passes.
        """
        if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
        call_key = self._next_key()
        self._lease.assert_active()
        # What the server records as the wait's args digest: SHA-256 of canonical {"name":…}.
        args_digest = hashlib.sha256(canonical_json_bytes({"name": name})).digest()

        recorded = self._recorded.get(call_key)
        if recorded is not None:
            if recorded.tool_name != SIGNAL_TOOL:
                raise self._diverged(
                    call_key, SIGNAL_TOOL, recorded.tool_name, f"waits for signal {name!r} where a tool was recorded"
                )
            if bytes(recorded.args_digest) != args_digest:
                raise self._diverged(
                    call_key, SIGNAL_TOOL, recorded.tool_name, f"a wait for another name than {name!r}"
                )
            if recorded.state == worker_pb2.TOOL_CALL_STATE_SUCCEEDED:
                return _signal_result(name, recorded.result)
            # STARTED: the job parked here on an earlier run; ask the server what happened since.

        request = runtime_service_pb2.AwaitSignalRequest(
            job_id=self.job_id, fencing_token=self.fencing_token, call_key=call_key, signal_name=name
        )
        if timeout is not None:
            request.timeout.CopyFrom(duration(math.ceil(timeout * 1000) / 1000))
        answer = self._lease.write(
            "AwaitSignal", lambda rpc_timeout: self._lease.client.runtime.AwaitSignal(request, timeout=rpc_timeout)
        )
        outcome = answer.outcome
        if outcome in (
            runtime_service_pb2.AWAIT_SIGNAL_OUTCOME_RECEIVED,
            runtime_service_pb2.AWAIT_SIGNAL_OUTCOME_TIMED_OUT,
        ):
            return _signal_result(name, answer.call.result)
        if outcome == runtime_service_pb2.AWAIT_SIGNAL_OUTCOME_PARKED:
            waiting = JobWaiting(self.job_id, call_key, name)
            self._lease.halt(waiting)
            self.log.info("job %s: waiting for signal %r (call #%s): parked", self.job_id, name, call_key)
            raise waiting
        if outcome == runtime_service_pb2.AWAIT_SIGNAL_OUTCOME_NONDETERMINISM:
            raise self._diverged(call_key, SIGNAL_TOOL, None, answer.detail or "reported by the server")
        raise RuntimeError(
            f"job {self.job_id}: AwaitSignal answered outcome {outcome} for call #{call_key}, "
            "which this client does not know (is the server newer?)"
        )

    def _diverged(self, call_key: str, requested: str, recorded: Optional[str], detail: str) -> NondeterminismError:
        error = NondeterminismError(self.job_id, call_key, requested, recorded, detail)
        if self.nondeterminism is None:
            self.nondeterminism = error
        return error


def _signal_result(name: str, data: bytes) -> SignalResult:
    """The recorded result of a wait: ``{"name","payload","signal_id"}`` or ``{"timed_out":true}``."""
    result = parse_json_bytes(data)
    if not isinstance(result, dict):
        raise RuntimeError(f"the recorded outcome of a wait for signal {name!r} is not an object: {result!r}")
    if result.get("timed_out") is True:
        return SignalResult(timed_out=True, name=name)
    recorded_name = result.get("name")
    signal_id = result.get("signal_id")
    return SignalResult(
        timed_out=False,
        name=recorded_name if isinstance(recorded_name, str) else name,
        payload=result.get("payload"),
        signal_id=signal_id if isinstance(signal_id, str) else "",
    )


def describe_error(error: BaseException, fallback_reason: str) -> "tuple[str, str]":
    """A recorded failure's (reason, message): the exception's class name, its message."""
    reason = type(error).__name__
    if reason in ("Exception", "BaseException"):
        reason = fallback_reason
    return reason[:128], _truncate_utf16(str(error), 4096)


def _truncate_utf16(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 code units (the server counts JavaScript string length)."""
    if len(text.encode("utf-16-le", "surrogatepass")) // 2 <= limit:
        return text
    out = []
    units = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if units + size > limit:
            break
        out.append(char)
        units += size
    return "".join(out)
