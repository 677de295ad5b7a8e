import datetime

from aetheris.runtime.v1 import job_pb2 as _job_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ToolCallDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOOL_CALL_DECISION_UNSPECIFIED: _ClassVar[ToolCallDecision]
    TOOL_CALL_DECISION_EXECUTE: _ClassVar[ToolCallDecision]
    TOOL_CALL_DECISION_RECORDED: _ClassVar[ToolCallDecision]
    TOOL_CALL_DECISION_IN_DOUBT: _ClassVar[ToolCallDecision]
    TOOL_CALL_DECISION_NONDETERMINISM: _ClassVar[ToolCallDecision]

class ToolCallState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOOL_CALL_STATE_UNSPECIFIED: _ClassVar[ToolCallState]
    TOOL_CALL_STATE_STARTED: _ClassVar[ToolCallState]
    TOOL_CALL_STATE_SUCCEEDED: _ClassVar[ToolCallState]
    TOOL_CALL_STATE_FAILED: _ClassVar[ToolCallState]
    TOOL_CALL_STATE_IN_DOUBT: _ClassVar[ToolCallState]
    TOOL_CALL_STATE_RESOLVED: _ClassVar[ToolCallState]
TOOL_CALL_DECISION_UNSPECIFIED: ToolCallDecision
TOOL_CALL_DECISION_EXECUTE: ToolCallDecision
TOOL_CALL_DECISION_RECORDED: ToolCallDecision
TOOL_CALL_DECISION_IN_DOUBT: ToolCallDecision
TOOL_CALL_DECISION_NONDETERMINISM: ToolCallDecision
TOOL_CALL_STATE_UNSPECIFIED: ToolCallState
TOOL_CALL_STATE_STARTED: ToolCallState
TOOL_CALL_STATE_SUCCEEDED: ToolCallState
TOOL_CALL_STATE_FAILED: ToolCallState
TOOL_CALL_STATE_IN_DOUBT: ToolCallState
TOOL_CALL_STATE_RESOLVED: ToolCallState

class Lease(_message.Message):
    __slots__ = ("job_id", "fencing_token", "expires_at", "attempt")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    expires_at: _timestamp_pb2.Timestamp
    attempt: int
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("job_id", "call_key", "tool_name", "args_digest", "state", "result", "error", "attempt", "external_idempotency_key", "idempotent", "started_at", "finished_at")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_KEY_FIELD_NUMBER: _ClassVar[int]
    TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    call_key: str
    tool_name: str
    args_digest: bytes
    state: ToolCallState
    result: bytes
    error: _job_pb2.JobError
    attempt: int
    external_idempotency_key: str
    idempotent: bool
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, job_id: _Optional[str] = ..., call_key: _Optional[str] = ..., tool_name: _Optional[str] = ..., args_digest: _Optional[bytes] = ..., state: _Optional[_Union[ToolCallState, str]] = ..., result: _Optional[bytes] = ..., error: _Optional[_Union[_job_pb2.JobError, _Mapping]] = ..., attempt: _Optional[int] = ..., external_idempotency_key: _Optional[str] = ..., idempotent: _Optional[bool] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
