import datetime

from aetheris.forensics.v1 import audit_pb2 as _audit_pb2
from aetheris.forensics.v1 import evidence_pb2 as _evidence_pb2
from aetheris.forensics.v1 import graph_pb2 as _graph_pb2
from aetheris.forensics.v1 import query_pb2 as _query_pb2
from aetheris.runtime.v1 import event_pb2 as _event_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryEventsRequest(_message.Message):
    __slots__ = ("query", "page_size", "page_token", "newest_first", "omit_payloads")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    OMIT_PAYLOADS_FIELD_NUMBER: _ClassVar[int]
    query: _query_pb2.EventQuery
    page_size: int
    page_token: str
    newest_first: bool
    omit_payloads: bool
    def __init__(self, query: _Optional[_Union[_query_pb2.EventQuery, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., newest_first: _Optional[bool] = ..., omit_payloads: _Optional[bool] = ...) -> None: ...

class QueryEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetEvidenceGraphRequest(_message.Message):
    __slots__ = ("job_id", "after_seq", "max_events", "include_payloads")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PAYLOADS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    after_seq: int
    max_events: int
    include_payloads: bool
    def __init__(self, job_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., max_events: _Optional[int] = ..., include_payloads: _Optional[bool] = ...) -> None: ...

class GetEvidenceGraphResponse(_message.Message):
    __slots__ = ("nodes", "edges", "head_seq", "truncated", "next_after_seq")
    NODES_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[_graph_pb2.GraphNode]
    edges: _containers.RepeatedCompositeFieldContainer[_graph_pb2.GraphEdge]
    head_seq: int
    truncated: bool
    next_after_seq: int
    def __init__(self, nodes: _Optional[_Iterable[_Union[_graph_pb2.GraphNode, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[_graph_pb2.GraphEdge, _Mapping]]] = ..., head_seq: _Optional[int] = ..., truncated: _Optional[bool] = ..., next_after_seq: _Optional[int] = ...) -> None: ...

class ExportEvidenceRequest(_message.Message):
    __slots__ = ("selection", "redaction_policy", "include_tool_calls", "include_signals", "chunk_size")
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    REDACTION_POLICY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SIGNALS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    selection: _query_pb2.JobSelector
    redaction_policy: str
    include_tool_calls: bool
    include_signals: bool
    chunk_size: int
    def __init__(self, selection: _Optional[_Union[_query_pb2.JobSelector, _Mapping]] = ..., redaction_policy: _Optional[str] = ..., include_tool_calls: _Optional[bool] = ..., include_signals: _Optional[bool] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class EvidenceChunk(_message.Message):
    __slots__ = ("index", "offset", "data")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    offset: int
    data: bytes
    def __init__(self, index: _Optional[int] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class ExportEvidenceResponse(_message.Message):
    __slots__ = ("chunk", "summary")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    chunk: EvidenceChunk
    summary: _evidence_pb2.EvidencePackageInfo
    def __init__(self, chunk: _Optional[_Union[EvidenceChunk, _Mapping]] = ..., summary: _Optional[_Union[_evidence_pb2.EvidencePackageInfo, _Mapping]] = ...) -> None: ...

class VerifyEvidenceRequest(_message.Message):
    __slots__ = ("data", "check_log_consistency")
    DATA_FIELD_NUMBER: _ClassVar[int]
    CHECK_LOG_CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    check_log_consistency: bool
    def __init__(self, data: _Optional[bytes] = ..., check_log_consistency: _Optional[bool] = ...) -> None: ...

class VerifyEvidenceResponse(_message.Message):
    __slots__ = ("verdict", "package_info")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_INFO_FIELD_NUMBER: _ClassVar[int]
    verdict: _evidence_pb2.Verdict
    package_info: _evidence_pb2.EvidencePackageInfo
    def __init__(self, verdict: _Optional[_Union[_evidence_pb2.Verdict, _Mapping]] = ..., package_info: _Optional[_Union[_evidence_pb2.EvidencePackageInfo, _Mapping]] = ...) -> None: ...

class VerifyJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class VerifyJobResponse(_message.Message):
    __slots__ = ("verdict", "head_seq", "head_hash", "checkpoint")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    verdict: _evidence_pb2.Verdict
    head_seq: int
    head_hash: bytes
    checkpoint: _evidence_pb2.Checkpoint
    def __init__(self, verdict: _Optional[_Union[_evidence_pb2.Verdict, _Mapping]] = ..., head_seq: _Optional[int] = ..., head_hash: _Optional[bytes] = ..., checkpoint: _Optional[_Union[_evidence_pb2.Checkpoint, _Mapping]] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ("position", "tree_size")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    position: _event_pb2.GlobalPosition
    tree_size: int
    def __init__(self, position: _Optional[_Union[_event_pb2.GlobalPosition, _Mapping]] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: _evidence_pb2.Checkpoint
    def __init__(self, checkpoint: _Optional[_Union[_evidence_pb2.Checkpoint, _Mapping]] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("from_tree_size", "to_tree_size")
    FROM_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TO_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    from_tree_size: int
    to_tree_size: int
    def __init__(self, from_tree_size: _Optional[int] = ..., to_tree_size: _Optional[int] = ...) -> None: ...

class GetConsistencyProofResponse(_message.Message):
    __slots__ = ("from_tree_size", "to_tree_size", "from_root_hash", "to_checkpoint", "hashes")
    FROM_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TO_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FROM_ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    TO_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    from_tree_size: int
    to_tree_size: int
    from_root_hash: bytes
    to_checkpoint: _evidence_pb2.Checkpoint
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, from_tree_size: _Optional[int] = ..., to_tree_size: _Optional[int] = ..., from_root_hash: _Optional[bytes] = ..., to_checkpoint: _Optional[_Union[_evidence_pb2.Checkpoint, _Mapping]] = ..., hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("job_id", "seq", "tree_size")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    seq: int
    tree_size: int
    def __init__(self, job_id: _Optional[str] = ..., seq: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetInclusionProofResponse(_message.Message):
    __slots__ = ("proof", "checkpoint")
    PROOF_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    proof: _evidence_pb2.InclusionProof
    checkpoint: _evidence_pb2.Checkpoint
    def __init__(self, proof: _Optional[_Union[_evidence_pb2.InclusionProof, _Mapping]] = ..., checkpoint: _Optional[_Union[_evidence_pb2.Checkpoint, _Mapping]] = ...) -> None: ...

class ListSigningKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSigningKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[_evidence_pb2.SigningKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[_evidence_pb2.SigningKey, _Mapping]]] = ...) -> None: ...

class ListAuditLogRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "actors", "actions", "resource", "outcomes", "request_id", "page_size", "page_token")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTORS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    actors: _containers.RepeatedScalarFieldContainer[str]
    actions: _containers.RepeatedScalarFieldContainer[str]
    resource: str
    outcomes: _containers.RepeatedScalarFieldContainer[_audit_pb2.AuditOutcome]
    request_id: str
    page_size: int
    page_token: str
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actors: _Optional[_Iterable[str]] = ..., actions: _Optional[_Iterable[str]] = ..., resource: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[_audit_pb2.AuditOutcome, str]]] = ..., request_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditLogResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_audit_pb2.AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[_audit_pb2.AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
