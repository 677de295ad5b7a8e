"""One attempt's lease: the gate every write of the attempt goes through, and its heartbeats.

Every write carries the fencing token. Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED) are
retried with backoff while the lease lasts; `FAILED_PRECONDITION` / `LEASE_LOST` (or
`JOB_TERMINAL`) halts the attempt, and a halted attempt never writes again, so a zombie worker
cannot write after the server fenced it off.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional, TypeVar

import grpc
from aetheris.runtime.v1 import job_pb2, runtime_service_pb2
from google.protobuf import duration_pb2

from .client import Client
from .errors import AetherisError
from .retry import RetryPolicy
from .worker_errors import AttemptHalted, JobCancelled, LeaseLost

T = TypeVar("T")

_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_WRITE_BACKOFF = RetryPolicy(max_attempts=1_000_000, initial_backoff=0.1, max_backoff=2.0)


def duration(seconds: float) -> duration_pb2.Duration:
    """A protobuf Duration of `seconds` (rounded to milliseconds)."""
    result = duration_pb2.Duration()
    result.FromMilliseconds(max(0, int(round(seconds * 1000))))
    return result


def is_lease_lost(error: BaseException) -> bool:
    """The fencing token is stale, or the job is finished: the attempt must stop writing."""
    return (
        isinstance(error, AetherisError)
        and error.code == grpc.StatusCode.FAILED_PRECONDITION
        and error.reason in ("LEASE_LOST", "JOB_TERMINAL")
    )


class LeaseGuard:
    """The lease of one attempt (job id + fencing token) and its heartbeat thread."""

    def __init__(
        self,
        client: Client,
        job_id: str,
        fencing_token: int,
        lease_seconds: float,
        *,
        received_at: float,
        rpc_timeout: float,
        log: logging.Logger,
    ) -> None:
        self.client = client
        self.job_id = job_id
        self.fencing_token = fencing_token
        self.lease_seconds = lease_seconds
        self.rpc_timeout = rpc_timeout
        self._log = log
        self._lock = threading.Lock()
        # Our own clock's estimate of the lease's end: the lease began at or before we received it.
        self._expires_at = received_at + lease_seconds
        self._halted: Optional[AttemptHalted] = None
        #: Set once the lease is lost or the job cancelled: long-running handlers may poll it.
        self.lost = threading.Event()
        self._heartbeat_stop = threading.Event()
        self._heartbeat_thread: Optional[threading.Thread] = None

    # -- state ---------------------------------------------------------------------------------
    @property
    def halted(self) -> bool:
        """True once no more writes may be made for this attempt."""
        with self._lock:
            return self._halted is not None

    @property
    def halt_reason(self) -> Optional[AttemptHalted]:
        with self._lock:
            return self._halted

    def assert_active(self) -> None:
        """Raises the halt reason when the attempt is halted."""
        reason = self.halt_reason
        if reason is not None:
            raise reason

    def halt(self, reason: AttemptHalted) -> None:
        """Ends the attempt's writes (parked, waiting, finished); the first reason wins."""
        with self._lock:
            if self._halted is None:
                self._halted = reason
        self._heartbeat_stop.set()

    # -- writes --------------------------------------------------------------------------------
    def write(self, rpc: str, call: Callable[[float], T]) -> T:
        """Makes one write (``call(timeout)``), retrying transient failures while the lease lasts."""
        retry = 0
        while True:
            self.assert_active()
            try:
                return call(self.rpc_timeout)
            except AetherisError as error:
                if is_lease_lost(error):
                    raise self.lose(f"{rpc} was rejected: {error.reason}") from error
                if error.code not in _TRANSIENT:
                    raise
                wait = _WRITE_BACKOFF.backoff(retry)
                retry += 1
                with self._lock:
                    expires_at = self._expires_at
                if time.monotonic() + wait >= expires_at:
                    raise self.lose(f"{rpc} could not reach the server before the lease expired") from error
                self._log.warning("worker RPC %s failed transiently (%s); retrying in %.2fs", rpc, error, wait)
                time.sleep(wait)

    def lose(self, detail: str) -> AttemptHalted:
        """Halts the attempt because the server fenced it off; tells a cancellation apart."""
        with self._lock:
            if self._halted is not None:
                return self._halted
        reason: AttemptHalted = (
            JobCancelled(self.job_id) if self._was_cancelled() else LeaseLost(self.job_id, self.fencing_token, detail)
        )
        with self._lock:
            if self._halted is None:
                self._halted = reason
            reason = self._halted
        self._log.warning("job %s: attempt stopped: %s", self.job_id, reason)
        self.lost.set()
        self._heartbeat_stop.set()
        return reason

    def _was_cancelled(self) -> bool:
        try:
            response = self.client.runtime.GetJob(
                runtime_service_pb2.GetJobRequest(job_id=self.job_id), timeout=min(3.0, self.rpc_timeout)
            )
        except Exception:  # noqa: BLE001 - best effort: without an answer the lease is simply lost
            return False
        return bool(response.job.state == job_pb2.JOB_STATE_CANCELLED)

    # -- heartbeats ----------------------------------------------------------------------------
    def start_heartbeats(self, interval: float) -> None:
        """Extends the lease every `interval` seconds until :meth:`stop_heartbeats` or a halt."""

        def beat() -> None:
            while not self._heartbeat_stop.wait(interval):
                sent_at = time.monotonic()
                try:
                    self.write(
                        "Heartbeat",
                        lambda timeout: self.client.runtime.Heartbeat(
                            runtime_service_pb2.HeartbeatRequest(
                                job_id=self.job_id,
                                fencing_token=self.fencing_token,
                                lease_duration=duration(self.lease_seconds),
                            ),
                            timeout=timeout,
                        ),
                    )
                except AttemptHalted:
                    return
                except Exception as error:  # noqa: BLE001 - the next beat tries again
                    self._log.warning(
                        "job %s: heartbeat failed (%s); retrying at the next interval", self.job_id, error
                    )
                    continue
                with self._lock:
                    # Measured from when the request left: the server's clock may differ from ours.
                    self._expires_at = sent_at + self.lease_seconds

        self._heartbeat_thread = threading.Thread(target=beat, name=f"aetheris-heartbeat-{self.job_id}", daemon=True)
        self._heartbeat_thread.start()

    def stop_heartbeats(self) -> None:
        """Stops heartbeats and waits for one in flight, so no heartbeat races the final write."""
        self._heartbeat_stop.set()
        thread = self._heartbeat_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
