from aetheris.runtime.v1 import admin_service_pb2 as _admin_service_pb2
from aetheris.runtime.v1 import event_pb2 as _event_pb2
from aetheris.runtime.v1 import job_pb2 as _job_pb2
from aetheris.runtime.v1 import worker_pb2 as _worker_pb2
from aetheris.signal.v1 import signal_pb2 as _signal_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_KIND_UNSPECIFIED: _ClassVar[NodeKind]
    NODE_KIND_JOB: _ClassVar[NodeKind]
    NODE_KIND_EVENT: _ClassVar[NodeKind]
    NODE_KIND_TOOL_CALL: _ClassVar[NodeKind]
    NODE_KIND_SIGNAL: _ClassVar[NodeKind]
    NODE_KIND_ACTOR: _ClassVar[NodeKind]

class EdgeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EDGE_TYPE_UNSPECIFIED: _ClassVar[EdgeType]
    EDGE_TYPE_PART_OF: _ClassVar[EdgeType]
    EDGE_TYPE_FOLLOWS: _ClassVar[EdgeType]
    EDGE_TYPE_WRITTEN_BY: _ClassVar[EdgeType]
    EDGE_TYPE_SENT_BY: _ClassVar[EdgeType]
    EDGE_TYPE_CONSUMED: _ClassVar[EdgeType]
    EDGE_TYPE_RECORDS: _ClassVar[EdgeType]
    EDGE_TYPE_EXECUTED_BY: _ClassVar[EdgeType]
    EDGE_TYPE_RESOLVED_BY: _ClassVar[EdgeType]
    EDGE_TYPE_CAUSED_BY: _ClassVar[EdgeType]
NODE_KIND_UNSPECIFIED: NodeKind
NODE_KIND_JOB: NodeKind
NODE_KIND_EVENT: NodeKind
NODE_KIND_TOOL_CALL: NodeKind
NODE_KIND_SIGNAL: NodeKind
NODE_KIND_ACTOR: NodeKind
EDGE_TYPE_UNSPECIFIED: EdgeType
EDGE_TYPE_PART_OF: EdgeType
EDGE_TYPE_FOLLOWS: EdgeType
EDGE_TYPE_WRITTEN_BY: EdgeType
EDGE_TYPE_SENT_BY: EdgeType
EDGE_TYPE_CONSUMED: EdgeType
EDGE_TYPE_RECORDS: EdgeType
EDGE_TYPE_EXECUTED_BY: EdgeType
EDGE_TYPE_RESOLVED_BY: EdgeType
EDGE_TYPE_CAUSED_BY: EdgeType

class Actor(_message.Message):
    __slots__ = ("id", "api_key_name", "role", "revoked")
    ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    id: str
    api_key_name: str
    role: _admin_service_pb2.Role
    revoked: bool
    def __init__(self, id: _Optional[str] = ..., api_key_name: _Optional[str] = ..., role: _Optional[_Union[_admin_service_pb2.Role, str]] = ..., revoked: _Optional[bool] = ...) -> None: ...

class GraphNode(_message.Message):
    __slots__ = ("id", "kind", "label", "job", "event", "tool_call", "signal", "actor")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: NodeKind
    label: str
    job: _job_pb2.Job
    event: _event_pb2.Event
    tool_call: _worker_pb2.ToolCall
    signal: _signal_pb2.Signal
    actor: Actor
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[NodeKind, str]] = ..., label: _Optional[str] = ..., job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ..., event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., tool_call: _Optional[_Union[_worker_pb2.ToolCall, _Mapping]] = ..., signal: _Optional[_Union[_signal_pb2.Signal, _Mapping]] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ...) -> None: ...

class GraphEdge(_message.Message):
    __slots__ = ("source_id", "target_id", "type")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    target_id: str
    type: EdgeType
    def __init__(self, source_id: _Optional[str] = ..., target_id: _Optional[str] = ..., type: _Optional[_Union[EdgeType, str]] = ...) -> None: ...
