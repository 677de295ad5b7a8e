import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RedactionTarget(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REDACTION_TARGET_UNSPECIFIED: _ClassVar[RedactionTarget]
    REDACTION_TARGET_EVENT_PAYLOAD: _ClassVar[RedactionTarget]
    REDACTION_TARGET_TOOL_CALL_RESULT: _ClassVar[RedactionTarget]
    REDACTION_TARGET_SIGNAL_PAYLOAD: _ClassVar[RedactionTarget]

class RedactionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REDACTION_MODE_UNSPECIFIED: _ClassVar[RedactionMode]
    REDACTION_MODE_DIGEST: _ClassVar[RedactionMode]
    REDACTION_MODE_REMOVE: _ClassVar[RedactionMode]
REDACTION_TARGET_UNSPECIFIED: RedactionTarget
REDACTION_TARGET_EVENT_PAYLOAD: RedactionTarget
REDACTION_TARGET_TOOL_CALL_RESULT: RedactionTarget
REDACTION_TARGET_SIGNAL_PAYLOAD: RedactionTarget
REDACTION_MODE_UNSPECIFIED: RedactionMode
REDACTION_MODE_DIGEST: RedactionMode
REDACTION_MODE_REMOVE: RedactionMode

class RedactionRule(_message.Message):
    __slots__ = ("target", "match", "paths", "mode")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    target: RedactionTarget
    match: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    mode: RedactionMode
    def __init__(self, target: _Optional[_Union[RedactionTarget, str]] = ..., match: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ..., mode: _Optional[_Union[RedactionMode, str]] = ...) -> None: ...

class RedactionPolicy(_message.Message):
    __slots__ = ("name", "description", "rules", "version", "digest", "updated_at", "updated_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    rules: _containers.RepeatedCompositeFieldContainer[RedactionRule]
    version: int
    digest: bytes
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[RedactionRule, _Mapping]]] = ..., version: _Optional[int] = ..., digest: _Optional[bytes] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...
