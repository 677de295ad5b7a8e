import datetime

from aetheris.forensics.v1 import evidence_pb2 as _evidence_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_STATE_UNSPECIFIED: _ClassVar[ReportState]
    REPORT_STATE_PENDING: _ClassVar[ReportState]
    REPORT_STATE_RUNNING: _ClassVar[ReportState]
    REPORT_STATE_SUCCEEDED: _ClassVar[ReportState]
    REPORT_STATE_FAILED: _ClassVar[ReportState]
REPORT_STATE_UNSPECIFIED: ReportState
REPORT_STATE_PENDING: ReportState
REPORT_STATE_RUNNING: ReportState
REPORT_STATE_SUCCEEDED: ReportState
REPORT_STATE_FAILED: ReportState

class ReportParameter(_message.Message):
    __slots__ = ("name", "description", "required", "default_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    required: bool
    default_value: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ..., default_value: _Optional[str] = ...) -> None: ...

class ReportTemplate(_message.Message):
    __slots__ = ("id", "version", "title", "description", "parameters", "content_types")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    title: str
    description: str
    parameters: _containers.RepeatedCompositeFieldContainer[ReportParameter]
    content_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[ReportParameter, _Mapping]]] = ..., content_types: _Optional[_Iterable[str]] = ...) -> None: ...

class ReportBasis(_message.Message):
    __slots__ = ("checkpoint", "jobs_examined", "events_examined", "tool_calls_examined", "signals_examined", "audit_entries_examined")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    JOBS_EXAMINED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_EXAMINED_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_EXAMINED_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_EXAMINED_FIELD_NUMBER: _ClassVar[int]
    AUDIT_ENTRIES_EXAMINED_FIELD_NUMBER: _ClassVar[int]
    checkpoint: _evidence_pb2.Checkpoint
    jobs_examined: int
    events_examined: int
    tool_calls_examined: int
    signals_examined: int
    audit_entries_examined: int
    def __init__(self, checkpoint: _Optional[_Union[_evidence_pb2.Checkpoint, _Mapping]] = ..., jobs_examined: _Optional[int] = ..., events_examined: _Optional[int] = ..., tool_calls_examined: _Optional[int] = ..., signals_examined: _Optional[int] = ..., audit_entries_examined: _Optional[int] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("id", "template_id", "template_version", "state", "start_time", "end_time", "parameters", "content_type", "content", "content_sha256", "basis", "requested_by", "created_at", "completed_at", "error")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    template_id: str
    template_version: int
    state: ReportState
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    parameters: _containers.ScalarMap[str, str]
    content_type: str
    content: bytes
    content_sha256: bytes
    basis: ReportBasis
    requested_by: str
    created_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    error: _status_pb2.Status
    def __init__(self, id: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., state: _Optional[_Union[ReportState, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., content_sha256: _Optional[bytes] = ..., basis: _Optional[_Union[ReportBasis, _Mapping]] = ..., requested_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
