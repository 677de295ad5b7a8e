"""Retries of unary calls on UNAVAILABLE, with exponential backoff and jitter.

Only UNAVAILABLE is retried (the server or its database is briefly unreachable, or the server is
draining); every other code is returned at once. Attempts are bounded by
:attr:`RetryPolicy.max_attempts` and by the call's own deadline: no retry starts once its backoff
would end past the deadline, and each attempt gets only the time that remains.

Streaming calls are never retried (resume them from their last position instead).

UNAVAILABLE usually means the request was not processed, but a connection lost mid-call reports
it too, so only calls that are safe to repeat are retried (:func:`safe_to_retry`, the same rule as
the TypeScript and Go clients): reads, Heartbeat, SendSignal (its signal id deduplicates),
CreateJob with an idempotency key, and AppendEvents when every event carries its event id.
"""

from __future__ import annotations

import random
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple

import grpc

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})

_RUNTIME = "/aetheris.runtime.v1.RuntimeService/"
_ALWAYS_SAFE = frozenset(
    {
        _RUNTIME + "GetJob",
        _RUNTIME + "ListJobs",
        _RUNTIME + "ReadEvents",
        _RUNTIME + "GetSummary",
        _RUNTIME + "ListStuckJobs",
        _RUNTIME + "Heartbeat",
        "/aetheris.runtime.v1.AdminService/ListApiKeys",
        "/aetheris.signal.v1.SignalService/SendSignal",
        "/aetheris.signal.v1.SignalService/ListSignals",
    }
)


def safe_to_retry(method: str, request: Any) -> bool:
    """Whether repeating `request` on `method` cannot double its effect."""
    if method in _ALWAYS_SAFE:
        return True
    if method == _RUNTIME + "CreateJob":
        return bool(getattr(request, "idempotency_key", ""))
    if method == _RUNTIME + "AppendEvents":
        events = list(getattr(request, "events", []))
        return bool(events) and all(getattr(event, "event_id", "") for event in events)
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How unary calls are retried on UNAVAILABLE.

    The n-th retry (n = 0, 1, ...) waits ``min(max_backoff, initial_backoff * multiplier**n)``
    seconds, of which the fraction ``jitter`` is random: with the default 0.5 the wait lies
    between half the step and the whole step ("equal jitter").
    """

    max_attempts: int = 5
    """Attempts in all, the first included (1 disables retries)."""
    initial_backoff: float = 0.1
    """Seconds before the first retry (upper bound, before jitter)."""
    max_backoff: float = 3.0
    """Upper bound of any backoff, in seconds."""
    multiplier: float = 2.0
    """Growth factor between retries."""
    jitter: float = 0.5
    """Random fraction of each backoff, 0 (none) .. 1 (full jitter)."""
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)
    """Source of randomness in [0, 1) (tests pass a fixed one)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be >= 1")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValueError("RetryPolicy needs 0 <= initial_backoff <= max_backoff")
        if self.multiplier < 1:
            raise ValueError("RetryPolicy.multiplier must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be within 0..1")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0-based), jitter applied."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** min(retry, 64))
        return ceiling * (1.0 - self.jitter * self.rng())


class CallDetails(NamedTuple):
    """A concrete `grpc.ClientCallDetails` (the one grpc passes in is read-only)."""

    method: str
    timeout: Optional[float]
    metadata: Optional[Sequence[Tuple[str, Any]]]
    credentials: Optional[grpc.CallCredentials]
    wait_for_ready: Optional[bool]
    compression: Optional[grpc.Compression]


def copy_details(details: grpc.ClientCallDetails, **changes: Any) -> "_ClientCallDetails":
    """A copy of `details` with some fields replaced."""
    values = CallDetails(
        method=details.method,
        timeout=details.timeout,
        metadata=details.metadata,
        credentials=details.credentials,
        wait_for_ready=getattr(details, "wait_for_ready", None),
        compression=getattr(details, "compression", None),
    )._replace(**changes)
    return _ClientCallDetails(*values)


class _ClientCallDetails(CallDetails, grpc.ClientCallDetails):  # type: ignore[misc]
    pass


class RetryInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Retries unary-unary calls on UNAVAILABLE under a :class:`RetryPolicy`.

    Works for blocking calls (``stub.Method(req)``, ``.with_call``) and for ``.future()``: the
    returned future settles with the last attempt's outcome, and ``cancel()`` also stops the
    retries.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        if not safe_to_retry(client_call_details.method, request):
            return continuation(client_call_details, request)
        timeout = client_call_details.timeout
        deadline = None if timeout is None else time.monotonic() + timeout

        def invoke(remaining: Optional[float]) -> Any:
            details = client_call_details if remaining is None else copy_details(client_call_details, timeout=remaining)
            return continuation(details, request)

        return RetryingCall(invoke, self.policy, deadline)


class RetryingCall(grpc.Call, grpc.Future):  # type: ignore[misc]
    """The outcome of a retried unary call: a `grpc.Call` and `grpc.Future` that settles with the
    last attempt's outcome."""

    def __init__(
        self,
        invoke: Callable[[Optional[float]], Any],
        policy: RetryPolicy,
        deadline: Optional[float],
    ) -> None:
        self._invoke = invoke
        self._policy = policy
        self._deadline = deadline
        self._lock = threading.Lock()
        self._settled = threading.Event()
        self._current: Any = None
        self._outcome: Any = None
        self._timer: Optional[threading.Timer] = None
        self._cancel_requested = False
        self._cancelled = False
        self._callbacks: List[Callable[[Any], None]] = []
        #: Attempts started so far.
        self.attempts = 0
        self._start(first=True)

    # -- the retry loop, driven by done-callbacks ------------------------------------------
    def _remaining(self) -> Optional[float]:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def _start(self, first: bool = False) -> None:
        with self._lock:
            self._timer = None
            if self._cancel_requested:
                cancelled_between_attempts = True
            else:
                cancelled_between_attempts = False
                self.attempts += 1
        if cancelled_between_attempts:
            self._settle(self._current, cancelled=True)
            return
        try:
            call = self._invoke(self._remaining())
        except Exception as error:  # noqa: BLE001 - reported through the future
            if first:
                raise
            self._settle(_Failed(error), cancelled=False)
            return
        with self._lock:
            self._current = call
        call.add_done_callback(self._attempt_done)

    def _attempt_done(self, call: Any) -> None:
        code = _code_of(call)
        with self._lock:
            cancel_requested = self._cancel_requested
        if code in RETRYABLE_CODES and not cancel_requested and self.attempts < self._policy.max_attempts:
            wait = self._policy.backoff(self.attempts - 1)
            if self._deadline is None or time.monotonic() + wait < self._deadline:
                timer = threading.Timer(wait, self._start)
                timer.daemon = True
                with self._lock:
                    if not self._cancel_requested:
                        self._timer = timer
                        timer.start()
                        return
                    cancel_requested = True
        self._settle(call, cancelled=cancel_requested)

    def _settle(self, outcome: Any, cancelled: bool) -> None:
        with self._lock:
            if self._settled.is_set():
                return
            self._outcome = outcome
            self._cancelled = cancelled
            self._settled.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def _wait(self, timeout: Optional[float]) -> Any:
        if not self._settled.wait(timeout):
            raise grpc.FutureTimeoutError()
        return self._outcome

    # -- grpc.Future -------------------------------------------------------------------------
    def cancel(self) -> bool:
        with self._lock:
            if self._settled.is_set():
                return False
            self._cancel_requested = True
            timer, current = self._timer, self._current
            self._timer = None
        if timer is not None:
            timer.cancel()
            self._settle(current, cancelled=True)
            return True
        if current is not None:
            current.cancel()
        return True

    def cancelled(self) -> bool:
        return self._settled.is_set() and self._cancelled

    def running(self) -> bool:
        return not self._settled.is_set()

    def done(self) -> bool:
        return self._settled.is_set()

    def result(self, timeout: Optional[float] = None) -> Any:
        outcome = self._wait(timeout)
        if self._cancelled:
            raise grpc.FutureCancelledError()
        return outcome.result()

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        outcome = self._wait(timeout)
        if self._cancelled:
            raise grpc.FutureCancelledError()
        exception: Optional[BaseException] = outcome.exception()
        return exception

    def traceback(self, timeout: Optional[float] = None) -> Optional[types.TracebackType]:
        outcome = self._wait(timeout)
        if self._cancelled:
            raise grpc.FutureCancelledError()
        trace: Optional[types.TracebackType] = outcome.traceback()
        return trace

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        with self._lock:
            if not self._settled.is_set():
                self._callbacks.append(fn)
                return
        fn(self)

    # -- grpc.RpcContext / grpc.Call ---------------------------------------------------------
    def is_active(self) -> bool:
        return not self._settled.is_set()

    def time_remaining(self) -> Optional[float]:
        return self._remaining()

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            if self._settled.is_set():
                return False
            self._callbacks.append(lambda _call: callback())
            return True

    def initial_metadata(self) -> Any:
        return _outcome_attr(self._wait(None), "initial_metadata")

    def trailing_metadata(self) -> Any:
        return _outcome_attr(self._wait(None), "trailing_metadata")

    def code(self) -> Optional[grpc.StatusCode]:
        outcome = self._wait(None)
        if self._cancelled:
            return grpc.StatusCode.CANCELLED
        code: Optional[grpc.StatusCode] = _code_of(outcome)
        return code

    def details(self) -> Optional[str]:
        outcome = self._wait(None)
        if self._cancelled and outcome is None:
            return "cancelled"
        details: Optional[str] = _outcome_attr(outcome, "details")
        return details


def _code_of(call: Any) -> Optional[grpc.StatusCode]:
    try:
        code: Optional[grpc.StatusCode] = call.code()
        return code
    except Exception:  # noqa: BLE001 - an outcome that cannot tell is not retried
        return None


def _outcome_attr(outcome: Any, name: str) -> Any:
    if outcome is None:
        return None
    return getattr(outcome, name)()


class _Failed:
    """The outcome of an attempt that could not even start (e.g. the channel was closed)."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def result(self, timeout: Optional[float] = None) -> Any:
        raise self._error

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        return self._error

    def traceback(self, timeout: Optional[float] = None) -> Optional[types.TracebackType]:
        return self._error.__traceback__

    def code(self) -> Optional[grpc.StatusCode]:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> Optional[str]:
        return str(self._error)

    def initial_metadata(self) -> Any:
        return None

    def trailing_metadata(self) -> Any:
        return None
