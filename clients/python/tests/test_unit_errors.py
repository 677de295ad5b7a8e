"""Error decoding: status code → exception class, ErrorInfo reason/metadata, BadRequest fields."""

from __future__ import annotations

from typing import Any, Iterator, Optional, Tuple

import grpc
import pytest
from aetheris.runtime.v1 import runtime_service_pb2
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from aetheris_client import (
    AetherisError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    connect,
    error_class,
    from_rpc_error,
)
from fake_server import FakeRuntime, FakeServer


def packed(message: Any) -> any_pb2.Any:
    value = any_pb2.Any()
    value.Pack(message)
    return value


def rich_status(code: int, message: str, reason: str, metadata: dict, field: Optional[str] = None) -> status_pb2.Status:
    details = [packed(error_details_pb2.ErrorInfo(reason=reason, domain="aetheris.dev", metadata=metadata))]
    if field is not None:
        details.append(
            packed(
                error_details_pb2.BadRequest(
                    field_violations=[error_details_pb2.BadRequest.FieldViolation(field=field, description=message)]
                )
            )
        )
    return status_pb2.Status(code=code, message=message, details=details)


class FakeRpcError(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """A failed call as grpc hands it over, with chosen code, details and trailer."""

    def __init__(self, code: grpc.StatusCode, details: str, trailer: Tuple[Tuple[str, Any], ...] = ()) -> None:
        self._code, self._details, self._trailer = code, details, trailer

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Tuple[Tuple[str, Any], ...]:
        return self._trailer

    def initial_metadata(self) -> Tuple[Tuple[str, Any], ...]:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


def test_decodes_error_info_and_field_violations() -> None:
    status = rich_status(
        code_pb2.INVALID_ARGUMENT, "job_id: must be a UUID", "INVALID_FIELD", {"field": "job_id"}, "job_id"
    )
    error = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.INVALID_ARGUMENT, status.message, (("grpc-status-details-bin", status.SerializeToString()),)
        )
    )
    assert isinstance(error, InvalidArgument)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.reason, error.domain, dict(error.metadata)) == ("INVALID_FIELD", "aetheris.dev", {"field": "job_id"})
    assert error.field_violations == (FieldViolation("job_id", "job_id: must be a UUID"),)
    assert error.fields == ("job_id",)
    assert error.message == "job_id: must be a UUID"
    assert "INVALID_ARGUMENT/INVALID_FIELD" in str(error)


def test_reads_details_even_when_the_trailer_disagrees_with_the_call() -> None:
    # grpcio-status refuses a trailer whose message differs from the call's; the details still count.
    status = rich_status(code_pb2.NOT_FOUND, "job x not found", "NOT_FOUND", {"resource": "job", "id": "x"})
    error = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.NOT_FOUND, "another message", (("grpc-status-details-bin", status.SerializeToString()),)
        )
    )
    assert isinstance(error, NotFound)
    assert error.reason == "NOT_FOUND" and error.metadata["resource"] == "job"
    assert error.message == "another message"


def test_an_error_without_details_keeps_code_and_message() -> None:
    error = from_rpc_error(FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "no key"))
    assert isinstance(error, Unauthenticated)
    assert (error.reason, error.metadata, error.field_violations, error.message) == ("", {}, (), "no key")
    assert from_rpc_error(error) is error  # idempotent


def test_every_code_has_its_class() -> None:
    for code in grpc.StatusCode:
        cls = error_class(code)
        assert issubclass(cls, AetherisError)
        if code != grpc.StatusCode.OK:
            assert cls is not AetherisError, code
    assert error_class(grpc.StatusCode.PERMISSION_DENIED) is PermissionDenied


@pytest.fixture
def rich_server() -> Iterator[FakeServer]:
    def behaviour(n: int, request: runtime_service_pb2.GetJobRequest, context: grpc.ServicerContext) -> Any:
        context.abort_with_status(
            rpc_status.to_status(
                rich_status(code_pb2.PERMISSION_DENIED, "role reader may not", "PERMISSION_DENIED", {"role": "reader"})
            )
        )

    server = FakeServer(FakeRuntime(behaviour))
    yield server
    server.stop()


def test_calls_through_the_client_raise_decoded_errors(rich_server: FakeServer) -> None:
    with connect(rich_server.address, "aek_x_y") as client:
        with pytest.raises(PermissionDenied) as caught:
            client.runtime.GetJob(runtime_service_pb2.GetJobRequest(job_id="j"), timeout=5)
        assert caught.value.reason == "PERMISSION_DENIED"
        assert caught.value.metadata == {"role": "reader"}
        assert isinstance(caught.value.__cause__, grpc.RpcError)
        future = client.runtime.GetJob.future(runtime_service_pb2.GetJobRequest(job_id="j"), timeout=5)
        assert isinstance(future.exception(), PermissionDenied)
    # The converter gives the same on a raw channel's error.
    with grpc.insecure_channel(rich_server.address) as channel:
        stub = __import__("aetheris.runtime.v1.runtime_service_pb2_grpc", fromlist=["x"]).RuntimeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raw:
            stub.GetJob(runtime_service_pb2.GetJobRequest(job_id="j"), timeout=5)
        decoded = from_rpc_error(raw.value)
        assert isinstance(decoded, PermissionDenied) and decoded.metadata == {"role": "reader"}
