"""Error mapping against the real server: status codes, ErrorInfo reasons, field violations."""

from __future__ import annotations

import uuid

import grpc
import pytest
from aetheris.runtime.v1 import runtime_service_pb2

from aetheris_client import Client, InvalidArgument, NotFound, PermissionDenied, Unauthenticated, connect
from conftest import ServerEnv
from support import create_job


def test_error_mapping(server: ServerEnv, admin: Client, reader: Client, other_tenant: Client, queue: str) -> None:
    # Unknown job: NOT_FOUND / NOT_FOUND naming the resource.
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as not_found:
        admin.runtime.GetJob(runtime_service_pb2.GetJobRequest(job_id=unknown), timeout=10)
    assert not_found.value.code == grpc.StatusCode.NOT_FOUND
    assert not_found.value.reason == "NOT_FOUND"
    assert not_found.value.domain == "aetheris.dev"
    assert dict(not_found.value.metadata) == {"resource": "job", "id": unknown}

    # Malformed argument: INVALID_ARGUMENT / INVALID_FIELD with the field in the BadRequest.
    with pytest.raises(InvalidArgument) as invalid:
        admin.runtime.GetJob(runtime_service_pb2.GetJobRequest(job_id="not-a-uuid"), timeout=10)
    assert invalid.value.reason == "INVALID_FIELD"
    assert invalid.value.fields == ("job_id",)
    assert invalid.value.metadata["field"] == "job_id"
    assert invalid.value.field_violations[0].description
    with pytest.raises(InvalidArgument) as invalid_type:
        admin.runtime.CreateJob(runtime_service_pb2.CreateJobRequest(job_type="bad type!", queue=queue), timeout=10)
    assert invalid_type.value.fields == ("job_type",)

    # The reader role may read but not write.
    job = create_job(admin, "errors-test", {"x": 1}, queue=queue)
    assert reader.runtime.GetJob(runtime_service_pb2.GetJobRequest(job_id=job.id), timeout=10).job.id == job.id
    with pytest.raises(PermissionDenied) as denied:
        reader.runtime.CreateJob(runtime_service_pb2.CreateJobRequest(job_type="errors-test", queue=queue), timeout=10)
    assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert denied.value.reason == "PERMISSION_DENIED"
    assert denied.value.metadata.get("role") == "reader", denied.value.metadata

    # Another tenant's key sees this tenant's job exactly as a job that does not exist.
    with pytest.raises(NotFound) as foreign:
        other_tenant.runtime.GetJob(runtime_service_pb2.GetJobRequest(job_id=job.id), timeout=10)
    assert foreign.value.reason == not_found.value.reason
    assert dict(foreign.value.metadata) == {"resource": "job", "id": job.id}

    # A key the server does not know.
    with connect(server.address, "aek_unknown_secret") as stranger:
        with pytest.raises(Unauthenticated) as unauthenticated:
            stranger.runtime.GetJob(runtime_service_pb2.GetJobRequest(job_id=job.id), timeout=10)
    assert unauthenticated.value.reason == "UNAUTHENTICATED"
