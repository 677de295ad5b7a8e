"""Thin helpers over the generated Aetheris stubs (`aetheris-proto`).

* :func:`connect` → :class:`Client` with ``.runtime``, ``.signal`` and ``.admin`` stubs over one
  channel: the API key on every call, retries of unary calls on UNAVAILABLE, native exceptions.
* :class:`AetherisError` and its subclasses (:class:`NotFound`, :class:`InvalidArgument`, …),
  :func:`from_rpc_error`.
* :class:`Worker`, :class:`JobContext`: a minimal worker loop with at-most-once tool calls
  through the ledger and signal waits.
* :func:`verify_chain`: the event hash chain recomputed offline.
"""

from .canonical_json import JsonValue, canonical_json_bytes, canonicalize, parse_json_bytes
from .client import Client, TlsOption, connect
from .errors import (
    Aborted,
    AetherisError,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    error_class,
    from_rpc_error,
)
from .hash_chain import ChainMismatch, chain_hash, find_chain_mismatch, verify_chain
from .job_context import JobContext, SignalResult
from .retry import RetryPolicy
from .worker import RunOutcome, RunResult, Worker
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

__version__ = "0.1.0"

__all__ = [
    "Aborted",
    "AetherisError",
    "AlreadyExists",
    "AttemptHalted",
    "Cancelled",
    "ChainMismatch",
    "Client",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "JobCancelled",
    "JobContext",
    "JobParked",
    "JobWaiting",
    "JsonValue",
    "LeaseLost",
    "NonRetryableError",
    "NondeterminismError",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "RetryPolicy",
    "RunOutcome",
    "RunResult",
    "SignalResult",
    "TlsOption",
    "ToolFailedError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "Worker",
    "canonical_json_bytes",
    "canonicalize",
    "chain_hash",
    "connect",
    "error_class",
    "find_chain_mismatch",
    "from_rpc_error",
    "parse_json_bytes",
    "verify_chain",
]
