"""Native exceptions for Aetheris errors.

Every server error carries a gRPC status code and, in the `grpc-status-details-bin` trailer, a
`google.rpc.ErrorInfo` (domain `aetheris.dev`, a reason such as `LEASE_LOST`, metadata such as
`job_id`) and, for INVALID_ARGUMENT, a `google.rpc.BadRequest` naming the field
(docs/errors.md). :func:`from_rpc_error` decodes them into an :class:`AetherisError` subclass
chosen by the status code. Calls made through :func:`aetheris_client.connect` raise these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple, Type

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "aetheris.dev"
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """One entry of a `google.rpc.BadRequest`: the offending request field and why."""

    field: str
    description: str


class AetherisError(Exception):
    """An error answered by the server (or the transport), decoded.

    Attributes:
        code: the gRPC status code.
        reason: the `ErrorInfo.reason` (e.g. `NOT_FOUND`, `LEASE_LOST`); empty when the error
            carried no ErrorInfo (e.g. a transport failure).
        metadata: the `ErrorInfo.metadata` (`job_id`, `field`, `actual_seq`...).
        field_violations: the `BadRequest` field violations (INVALID_ARGUMENT).
        message: the status message.
        domain: the `ErrorInfo.domain` (`aetheris.dev` for the server's own errors).
        rpc_error: the original `grpc.RpcError`, when decoded from one.
    """

    code: grpc.StatusCode
    reason: str
    metadata: Mapping[str, str]
    field_violations: Tuple[FieldViolation, ...]
    message: str
    domain: str
    rpc_error: Optional[grpc.RpcError]

    def __init__(
        self,
        code: grpc.StatusCode,
        reason: str = "",
        metadata: Optional[Mapping[str, str]] = None,
        field_violations: Sequence[FieldViolation] = (),
        message: str = "",
        *,
        domain: str = "",
        rpc_error: Optional[grpc.RpcError] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.field_violations = tuple(field_violations)
        self.message = message
        self.domain = domain
        self.rpc_error = rpc_error

    @property
    def fields(self) -> Tuple[str, ...]:
        """The names of the offending fields (from the field violations)."""
        return tuple(violation.field for violation in self.field_violations)

    def __str__(self) -> str:
        head = f"{self.code.name}"
        if self.reason:
            head += f"/{self.reason}"
        return f"{head}: {self.message}" if self.message else head

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.name}, reason={self.reason!r}, "
            f"metadata={dict(self.metadata)!r}, field_violations={list(self.field_violations)!r}, "
            f"message={self.message!r})"
        )


class Cancelled(AetherisError):
    """CANCELLED: the caller cancelled the call."""


class Unknown(AetherisError):
    """UNKNOWN."""


class InvalidArgument(AetherisError):
    """INVALID_ARGUMENT / INVALID_FIELD: see `field_violations`; nothing was written."""


class DeadlineExceeded(AetherisError):
    """DEADLINE_EXCEEDED."""


class NotFound(AetherisError):
    """NOT_FOUND: the resource does not exist or belongs to another tenant (indistinguishable)."""


class AlreadyExists(AetherisError):
    """ALREADY_EXISTS."""


class PermissionDenied(AetherisError):
    """PERMISSION_DENIED: the key's role does not allow the call."""


class ResourceExhausted(AetherisError):
    """RESOURCE_EXHAUSTED."""


class FailedPrecondition(AetherisError):
    """FAILED_PRECONDITION: `LEASE_LOST`, `JOB_TERMINAL`, `IDEMPOTENCY_CONFLICT`..."""


class Aborted(AetherisError):
    """ABORTED: e.g. `WRONG_EXPECTED_SEQ`; re-read and retry."""


class OutOfRange(AetherisError):
    """OUT_OF_RANGE."""


class Unimplemented(AetherisError):
    """UNIMPLEMENTED."""


class Internal(AetherisError):
    """INTERNAL: see `metadata['error_id']` in the server log."""


class Unavailable(AetherisError):
    """UNAVAILABLE: the server or its database cannot be reached; retry with backoff."""


class DataLoss(AetherisError):
    """DATA_LOSS."""


class Unauthenticated(AetherisError):
    """UNAUTHENTICATED: no, malformed, unknown or revoked API key."""


_BY_CODE: Dict[grpc.StatusCode, Type[AetherisError]] = {
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNKNOWN: Unknown,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}


def error_class(code: grpc.StatusCode) -> Type[AetherisError]:
    """The exception class raised for a status code (:class:`AetherisError` for OK/unknown codes)."""
    return _BY_CODE.get(code, AetherisError)


def from_rpc_error(error: grpc.RpcError) -> AetherisError:
    """Decodes a `grpc.RpcError` (a failed call) into the matching :class:`AetherisError` subclass.

    An error already decoded is returned as is. Details that cannot be decoded are ignored: the
    result then has the status code and message only.
    """
    if isinstance(error, AetherisError):
        return error
    code = _call_attr(error, "code") or grpc.StatusCode.UNKNOWN
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    message = _call_attr(error, "details") or ""
    status = _rich_status(error)
    reason = ""
    domain = ""
    metadata: Dict[str, str] = {}
    violations: list[FieldViolation] = []
    if status is not None:
        message = message or status.message
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and not reason:
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations.extend(
                    FieldViolation(field=v.field, description=v.description) for v in bad_request.field_violations
                )
    return error_class(code)(code, reason, metadata, violations, str(message), domain=domain, rpc_error=error)


def _call_attr(error: grpc.RpcError, name: str) -> object:
    method = getattr(error, name, None)
    if not callable(method):
        return None
    try:
        return method()
    except Exception:  # pragma: no cover - defensive: a Call that cannot answer
        return None


def _rich_status(error: grpc.RpcError) -> Optional[status_pb2.Status]:
    """The `google.rpc.Status` of the trailer, checked by grpcio-status when it can be."""
    if not callable(getattr(error, "trailing_metadata", None)):
        return None
    try:
        decoded = rpc_status.from_call(error)
        if decoded is not None:
            return decoded
    except ValueError:
        # grpcio-status refuses a trailer whose code/message differ from the call's; the details
        # are still worth reading.
        pass
    except Exception:  # pragma: no cover - defensive
        return None
    for key, value in _call_attr(error, "trailing_metadata") or ():  # type: ignore[attr-defined]
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status()
            try:
                status.ParseFromString(value)
            except Exception:
                return None
            return status
    return None
