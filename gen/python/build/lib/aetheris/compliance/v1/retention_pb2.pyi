import datetime

from aetheris.forensics.v1 import query_pb2 as _query_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RetentionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETENTION_ACTION_UNSPECIFIED: _ClassVar[RetentionAction]
    RETENTION_ACTION_DELETE: _ClassVar[RetentionAction]
    RETENTION_ACTION_ARCHIVE: _ClassVar[RetentionAction]

class LegalHoldState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEGAL_HOLD_STATE_UNSPECIFIED: _ClassVar[LegalHoldState]
    LEGAL_HOLD_STATE_ACTIVE: _ClassVar[LegalHoldState]
    LEGAL_HOLD_STATE_RELEASED: _ClassVar[LegalHoldState]
RETENTION_ACTION_UNSPECIFIED: RetentionAction
RETENTION_ACTION_DELETE: RetentionAction
RETENTION_ACTION_ARCHIVE: RetentionAction
LEGAL_HOLD_STATE_UNSPECIFIED: LegalHoldState
LEGAL_HOLD_STATE_ACTIVE: LegalHoldState
LEGAL_HOLD_STATE_RELEASED: LegalHoldState

class RetentionRule(_message.Message):
    __slots__ = ("job_type", "keep_for", "action")
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    KEEP_FOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    job_type: str
    keep_for: _duration_pb2.Duration
    action: RetentionAction
    def __init__(self, job_type: _Optional[str] = ..., keep_for: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., action: _Optional[_Union[RetentionAction, str]] = ...) -> None: ...

class RetentionPolicy(_message.Message):
    __slots__ = ("rules", "version", "updated_at", "updated_by")
    RULES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[RetentionRule]
    version: int
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, rules: _Optional[_Iterable[_Union[RetentionRule, _Mapping]]] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class RetentionRun(_message.Message):
    __slots__ = ("id", "dry_run", "policy_version", "actor", "started_at", "finished_at", "jobs_eligible", "jobs_skipped_legal_hold", "jobs_deleted", "jobs_archived", "jobs_failed", "events_removed", "tool_calls_removed", "signals_removed", "sample_job_ids", "more_remaining")
    ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    JOBS_ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    JOBS_SKIPPED_LEGAL_HOLD_FIELD_NUMBER: _ClassVar[int]
    JOBS_DELETED_FIELD_NUMBER: _ClassVar[int]
    JOBS_ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    JOBS_FAILED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    MORE_REMAINING_FIELD_NUMBER: _ClassVar[int]
    id: str
    dry_run: bool
    policy_version: int
    actor: str
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    jobs_eligible: int
    jobs_skipped_legal_hold: int
    jobs_deleted: int
    jobs_archived: int
    jobs_failed: int
    events_removed: int
    tool_calls_removed: int
    signals_removed: int
    sample_job_ids: _containers.RepeatedScalarFieldContainer[str]
    more_remaining: bool
    def __init__(self, id: _Optional[str] = ..., dry_run: _Optional[bool] = ..., policy_version: _Optional[int] = ..., actor: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., jobs_eligible: _Optional[int] = ..., jobs_skipped_legal_hold: _Optional[int] = ..., jobs_deleted: _Optional[int] = ..., jobs_archived: _Optional[int] = ..., jobs_failed: _Optional[int] = ..., events_removed: _Optional[int] = ..., tool_calls_removed: _Optional[int] = ..., signals_removed: _Optional[int] = ..., sample_job_ids: _Optional[_Iterable[str]] = ..., more_remaining: _Optional[bool] = ...) -> None: ...

class LegalHold(_message.Message):
    __slots__ = ("id", "case_id", "reason", "selector", "state", "matched_jobs", "placed_by", "placed_at", "released_by", "released_at", "release_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_JOBS_FIELD_NUMBER: _ClassVar[int]
    PLACED_BY_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    RELEASED_BY_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AT_FIELD_NUMBER: _ClassVar[int]
    RELEASE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    case_id: str
    reason: str
    selector: _query_pb2.JobSelector
    state: LegalHoldState
    matched_jobs: int
    placed_by: str
    placed_at: _timestamp_pb2.Timestamp
    released_by: str
    released_at: _timestamp_pb2.Timestamp
    release_reason: str
    def __init__(self, id: _Optional[str] = ..., case_id: _Optional[str] = ..., reason: _Optional[str] = ..., selector: _Optional[_Union[_query_pb2.JobSelector, _Mapping]] = ..., state: _Optional[_Union[LegalHoldState, str]] = ..., matched_jobs: _Optional[int] = ..., placed_by: _Optional[str] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., released_by: _Optional[str] = ..., released_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., release_reason: _Optional[str] = ...) -> None: ...
