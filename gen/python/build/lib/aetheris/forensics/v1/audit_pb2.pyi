import datetime

from aetheris.runtime.v1 import admin_service_pb2 as _admin_service_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_OUTCOME_UNSPECIFIED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_SUCCEEDED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_FAILED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_DENIED: _ClassVar[AuditOutcome]
AUDIT_OUTCOME_UNSPECIFIED: AuditOutcome
AUDIT_OUTCOME_SUCCEEDED: AuditOutcome
AUDIT_OUTCOME_FAILED: AuditOutcome
AUDIT_OUTCOME_DENIED: AuditOutcome

class AuditEntry(_message.Message):
    __slots__ = ("id", "occurred_at", "actor", "role", "action", "resource", "outcome", "status_code", "reason", "request_id", "client_address", "details")
    ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    id: str
    occurred_at: _timestamp_pb2.Timestamp
    actor: str
    role: _admin_service_pb2.Role
    action: str
    resource: str
    outcome: AuditOutcome
    status_code: int
    reason: str
    request_id: str
    client_address: str
    details: bytes
    def __init__(self, id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., role: _Optional[_Union[_admin_service_pb2.Role, str]] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., outcome: _Optional[_Union[AuditOutcome, str]] = ..., status_code: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., client_address: _Optional[str] = ..., details: _Optional[bytes] = ...) -> None: ...
