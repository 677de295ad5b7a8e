import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNAL_STATE_UNSPECIFIED: _ClassVar[SignalState]
    SIGNAL_STATE_PENDING: _ClassVar[SignalState]
    SIGNAL_STATE_CONSUMED: _ClassVar[SignalState]
SIGNAL_STATE_UNSPECIFIED: SignalState
SIGNAL_STATE_PENDING: SignalState
SIGNAL_STATE_CONSUMED: SignalState

class Signal(_message.Message):
    __slots__ = ("id", "job_id", "name", "payload", "state", "sent_at", "consumed_at", "consumed_by_seq", "sender")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_AT_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_BY_SEQ_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    id: str
    job_id: str
    name: str
    payload: bytes
    state: SignalState
    sent_at: _timestamp_pb2.Timestamp
    consumed_at: _timestamp_pb2.Timestamp
    consumed_by_seq: int
    sender: str
    def __init__(self, id: _Optional[str] = ..., job_id: _Optional[str] = ..., name: _Optional[str] = ..., payload: _Optional[bytes] = ..., state: _Optional[_Union[SignalState, str]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consumed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consumed_by_seq: _Optional[int] = ..., sender: _Optional[str] = ...) -> None: ...
