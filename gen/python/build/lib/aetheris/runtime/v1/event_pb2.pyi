import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GlobalPosition(_message.Message):
    __slots__ = ("transaction_id", "position")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    transaction_id: int
    position: int
    def __init__(self, transaction_id: _Optional[int] = ..., position: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("job_id", "seq", "position", "event_id", "type", "payload", "actor", "recorded_at", "payload_digest", "prev_hash", "hash")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_DIGEST_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    seq: int
    position: GlobalPosition
    event_id: str
    type: str
    payload: bytes
    actor: str
    recorded_at: _timestamp_pb2.Timestamp
    payload_digest: bytes
    prev_hash: bytes
    hash: bytes
    def __init__(self, job_id: _Optional[str] = ..., seq: _Optional[int] = ..., position: _Optional[_Union[GlobalPosition, _Mapping]] = ..., event_id: _Optional[str] = ..., type: _Optional[str] = ..., payload: _Optional[bytes] = ..., actor: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payload_digest: _Optional[bytes] = ..., prev_hash: _Optional[bytes] = ..., hash: _Optional[bytes] = ...) -> None: ...

class EventInput(_message.Message):
    __slots__ = ("event_id", "type", "payload")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: str
    payload: bytes
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., payload: _Optional[bytes] = ...) -> None: ...

class EventFilter(_message.Message):
    __slots__ = ("event_types", "job_ids", "job_types")
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPES_FIELD_NUMBER: _ClassVar[int]
    event_types: _containers.RepeatedScalarFieldContainer[str]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    job_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, event_types: _Optional[_Iterable[str]] = ..., job_ids: _Optional[_Iterable[str]] = ..., job_types: _Optional[_Iterable[str]] = ...) -> None: ...
