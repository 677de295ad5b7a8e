import datetime

from aetheris.runtime.v1 import job_pb2 as _job_pb2
from aetheris.runtime.v1 import worker_pb2 as _worker_pb2
from aetheris.signal.v1 import signal_pb2 as _signal_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResolutionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOLUTION_KIND_UNSPECIFIED: _ClassVar[ResolutionKind]
    RESOLUTION_KIND_RETRY: _ClassVar[ResolutionKind]
    RESOLUTION_KIND_SKIP: _ClassVar[ResolutionKind]
    RESOLUTION_KIND_FAIL: _ClassVar[ResolutionKind]
RESOLUTION_KIND_UNSPECIFIED: ResolutionKind
RESOLUTION_KIND_RETRY: ResolutionKind
RESOLUTION_KIND_SKIP: ResolutionKind
RESOLUTION_KIND_FAIL: ResolutionKind

class SendSignalRequest(_message.Message):
    __slots__ = ("job_id", "name", "payload", "signal_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    name: str
    payload: bytes
    signal_id: str
    def __init__(self, job_id: _Optional[str] = ..., name: _Optional[str] = ..., payload: _Optional[bytes] = ..., signal_id: _Optional[str] = ...) -> None: ...

class SendSignalResponse(_message.Message):
    __slots__ = ("signal", "duplicate", "job_state")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    JOB_STATE_FIELD_NUMBER: _ClassVar[int]
    signal: _signal_pb2.Signal
    duplicate: bool
    job_state: _job_pb2.JobState
    def __init__(self, signal: _Optional[_Union[_signal_pb2.Signal, _Mapping]] = ..., duplicate: _Optional[bool] = ..., job_state: _Optional[_Union[_job_pb2.JobState, str]] = ...) -> None: ...

class ListSignalsRequest(_message.Message):
    __slots__ = ("job_id", "states", "name", "page_size", "page_token")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    states: _containers.RepeatedScalarFieldContainer[_signal_pb2.SignalState]
    name: str
    page_size: int
    page_token: str
    def __init__(self, job_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_signal_pb2.SignalState, str]]] = ..., name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSignalsResponse(_message.Message):
    __slots__ = ("signals", "next_page_token")
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    signals: _containers.RepeatedCompositeFieldContainer[_signal_pb2.Signal]
    next_page_token: str
    def __init__(self, signals: _Optional[_Iterable[_Union[_signal_pb2.Signal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryResolution(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SkipResolution(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bytes
    def __init__(self, result: _Optional[bytes] = ...) -> None: ...

class FailResolution(_message.Message):
    __slots__ = ("error", "fail_job")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAIL_JOB_FIELD_NUMBER: _ClassVar[int]
    error: _job_pb2.JobError
    fail_job: bool
    def __init__(self, error: _Optional[_Union[_job_pb2.JobError, _Mapping]] = ..., fail_job: _Optional[bool] = ...) -> None: ...

class ResolveInDoubtRequest(_message.Message):
    __slots__ = ("job_id", "call_key", "retry", "skip", "fail", "note", "resolution_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_KEY_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    SKIP_FIELD_NUMBER: _ClassVar[int]
    FAIL_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    call_key: str
    retry: RetryResolution
    skip: SkipResolution
    fail: FailResolution
    note: str
    resolution_id: str
    def __init__(self, job_id: _Optional[str] = ..., call_key: _Optional[str] = ..., retry: _Optional[_Union[RetryResolution, _Mapping]] = ..., skip: _Optional[_Union[SkipResolution, _Mapping]] = ..., fail: _Optional[_Union[FailResolution, _Mapping]] = ..., note: _Optional[str] = ..., resolution_id: _Optional[str] = ...) -> None: ...

class InDoubtResolution(_message.Message):
    __slots__ = ("id", "call_key", "kind", "actor", "note", "resolved_at", "event_seq")
    ID_FIELD_NUMBER: _ClassVar[int]
    CALL_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQ_FIELD_NUMBER: _ClassVar[int]
    id: str
    call_key: str
    kind: ResolutionKind
    actor: str
    note: str
    resolved_at: _timestamp_pb2.Timestamp
    event_seq: int
    def __init__(self, id: _Optional[str] = ..., call_key: _Optional[str] = ..., kind: _Optional[_Union[ResolutionKind, str]] = ..., actor: _Optional[str] = ..., note: _Optional[str] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_seq: _Optional[int] = ...) -> None: ...

class ResolveInDoubtResponse(_message.Message):
    __slots__ = ("call", "job", "resolution", "duplicate")
    CALL_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    call: _worker_pb2.ToolCall
    job: _job_pb2.Job
    resolution: InDoubtResolution
    duplicate: bool
    def __init__(self, call: _Optional[_Union[_worker_pb2.ToolCall, _Mapping]] = ..., job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ..., resolution: _Optional[_Union[InDoubtResolution, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...
