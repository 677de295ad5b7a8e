import datetime

from aetheris.runtime.v1 import event_pb2 as _event_pb2
from aetheris.runtime.v1 import job_pb2 as _job_pb2
from aetheris.runtime.v1 import worker_pb2 as _worker_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StuckReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STUCK_REASON_UNSPECIFIED: _ClassVar[StuckReason]
    STUCK_REASON_LEASE_EXPIRED: _ClassVar[StuckReason]
    STUCK_REASON_NO_HEARTBEAT: _ClassVar[StuckReason]
    STUCK_REASON_RETRY_LOOP: _ClassVar[StuckReason]
    STUCK_REASON_TOOL_CALL_IN_DOUBT: _ClassVar[StuckReason]
    STUCK_REASON_WAIT_OVERDUE: _ClassVar[StuckReason]

class AwaitSignalOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AWAIT_SIGNAL_OUTCOME_UNSPECIFIED: _ClassVar[AwaitSignalOutcome]
    AWAIT_SIGNAL_OUTCOME_RECEIVED: _ClassVar[AwaitSignalOutcome]
    AWAIT_SIGNAL_OUTCOME_TIMED_OUT: _ClassVar[AwaitSignalOutcome]
    AWAIT_SIGNAL_OUTCOME_PARKED: _ClassVar[AwaitSignalOutcome]
    AWAIT_SIGNAL_OUTCOME_NONDETERMINISM: _ClassVar[AwaitSignalOutcome]
STUCK_REASON_UNSPECIFIED: StuckReason
STUCK_REASON_LEASE_EXPIRED: StuckReason
STUCK_REASON_NO_HEARTBEAT: StuckReason
STUCK_REASON_RETRY_LOOP: StuckReason
STUCK_REASON_TOOL_CALL_IN_DOUBT: StuckReason
STUCK_REASON_WAIT_OVERDUE: StuckReason
AWAIT_SIGNAL_OUTCOME_UNSPECIFIED: AwaitSignalOutcome
AWAIT_SIGNAL_OUTCOME_RECEIVED: AwaitSignalOutcome
AWAIT_SIGNAL_OUTCOME_TIMED_OUT: AwaitSignalOutcome
AWAIT_SIGNAL_OUTCOME_PARKED: AwaitSignalOutcome
AWAIT_SIGNAL_OUTCOME_NONDETERMINISM: AwaitSignalOutcome

class CreateJobRequest(_message.Message):
    __slots__ = ("job_type", "queue", "input", "idempotency_key", "priority", "retry_policy", "labels", "run_at", "attempt_timeout", "required_capabilities")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    RUN_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    job_type: str
    queue: str
    input: bytes
    idempotency_key: str
    priority: int
    retry_policy: _job_pb2.RetryPolicy
    labels: _containers.ScalarMap[str, str]
    run_at: _timestamp_pb2.Timestamp
    attempt_timeout: _duration_pb2.Duration
    required_capabilities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_type: _Optional[str] = ..., queue: _Optional[str] = ..., input: _Optional[bytes] = ..., idempotency_key: _Optional[str] = ..., priority: _Optional[int] = ..., retry_policy: _Optional[_Union[_job_pb2.RetryPolicy, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., required_capabilities: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateJobResponse(_message.Message):
    __slots__ = ("job", "created")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    created: bool
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "states", "job_type", "queue", "created_after", "created_before", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[_job_pb2.JobState]
    job_type: str
    queue: str
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_job_pb2.JobState, str]]] = ..., job_type: _Optional[str] = ..., queue: _Optional[str] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_job_pb2.Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[_job_pb2.Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class AppendEventsRequest(_message.Message):
    __slots__ = ("job_id", "expected_seq", "events", "fencing_token")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    expected_seq: int
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.EventInput]
    fencing_token: int
    def __init__(self, job_id: _Optional[str] = ..., expected_seq: _Optional[int] = ..., events: _Optional[_Iterable[_Union[_event_pb2.EventInput, _Mapping]]] = ..., fencing_token: _Optional[int] = ...) -> None: ...

class AppendEventsResponse(_message.Message):
    __slots__ = ("first_seq", "last_seq", "last_hash", "duplicate")
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_HASH_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    first_seq: int
    last_seq: int
    last_hash: bytes
    duplicate: bool
    def __init__(self, first_seq: _Optional[int] = ..., last_seq: _Optional[int] = ..., last_hash: _Optional[bytes] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class ReadEventsRequest(_message.Message):
    __slots__ = ("job_id", "after_seq", "limit")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    after_seq: int
    limit: int
    def __init__(self, job_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ReadEventsResponse(_message.Message):
    __slots__ = ("events", "head_seq")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    head_seq: int
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., head_seq: _Optional[int] = ...) -> None: ...

class StreamEventsRequest(_message.Message):
    __slots__ = ("job_id", "after_seq", "follow", "max_batch")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    after_seq: int
    follow: bool
    max_batch: int
    def __init__(self, job_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., follow: _Optional[bool] = ..., max_batch: _Optional[int] = ...) -> None: ...

class StreamEventsResponse(_message.Message):
    __slots__ = ("events", "caught_up", "job_state")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    JOB_STATE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    caught_up: bool
    job_state: _job_pb2.JobState
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., caught_up: _Optional[bool] = ..., job_state: _Optional[_Union[_job_pb2.JobState, str]] = ...) -> None: ...

class SubscribeEventsRequest(_message.Message):
    __slots__ = ("after", "from_end", "follow", "filter", "max_batch")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    FROM_END_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    after: _event_pb2.GlobalPosition
    from_end: bool
    follow: bool
    filter: _event_pb2.EventFilter
    max_batch: int
    def __init__(self, after: _Optional[_Union[_event_pb2.GlobalPosition, _Mapping]] = ..., from_end: _Optional[bool] = ..., follow: _Optional[bool] = ..., filter: _Optional[_Union[_event_pb2.EventFilter, _Mapping]] = ..., max_batch: _Optional[int] = ...) -> None: ...

class SubscribeEventsResponse(_message.Message):
    __slots__ = ("events", "checkpoint", "caught_up")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    checkpoint: _event_pb2.GlobalPosition
    caught_up: bool
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., checkpoint: _Optional[_Union[_event_pb2.GlobalPosition, _Mapping]] = ..., caught_up: _Optional[bool] = ...) -> None: ...

class AcquireJobRequest(_message.Message):
    __slots__ = ("worker_id", "queues", "job_types", "capabilities", "wait", "lease_duration")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    LEASE_DURATION_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    job_types: _containers.RepeatedScalarFieldContainer[str]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    wait: _duration_pb2.Duration
    lease_duration: _duration_pb2.Duration
    def __init__(self, worker_id: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., job_types: _Optional[_Iterable[str]] = ..., capabilities: _Optional[_Iterable[str]] = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., lease_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AcquireJobResponse(_message.Message):
    __slots__ = ("lease", "job", "history", "tool_calls", "trace_parent")
    LEASE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TRACE_PARENT_FIELD_NUMBER: _ClassVar[int]
    lease: _worker_pb2.Lease
    job: _job_pb2.Job
    history: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    tool_calls: _containers.RepeatedCompositeFieldContainer[_worker_pb2.ToolCall]
    trace_parent: str
    def __init__(self, lease: _Optional[_Union[_worker_pb2.Lease, _Mapping]] = ..., job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ..., history: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., tool_calls: _Optional[_Iterable[_Union[_worker_pb2.ToolCall, _Mapping]]] = ..., trace_parent: _Optional[str] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("job_id", "fencing_token", "lease_duration")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LEASE_DURATION_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    lease_duration: _duration_pb2.Duration
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., lease_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("lease_expires_at",)
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    lease_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, lease_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BeginToolCallRequest(_message.Message):
    __slots__ = ("job_id", "fencing_token", "call_key", "tool_name", "args_digest", "idempotent")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CALL_KEY_FIELD_NUMBER: _ClassVar[int]
    TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    call_key: str
    tool_name: str
    args_digest: bytes
    idempotent: bool
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., call_key: _Optional[str] = ..., tool_name: _Optional[str] = ..., args_digest: _Optional[bytes] = ..., idempotent: _Optional[bool] = ...) -> None: ...

class BeginToolCallResponse(_message.Message):
    __slots__ = ("decision", "call", "detail")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    decision: _worker_pb2.ToolCallDecision
    call: _worker_pb2.ToolCall
    detail: str
    def __init__(self, decision: _Optional[_Union[_worker_pb2.ToolCallDecision, str]] = ..., call: _Optional[_Union[_worker_pb2.ToolCall, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class CompleteToolCallRequest(_message.Message):
    __slots__ = ("job_id", "fencing_token", "call_key", "result", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CALL_KEY_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    call_key: str
    result: bytes
    error: _job_pb2.JobError
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., call_key: _Optional[str] = ..., result: _Optional[bytes] = ..., error: _Optional[_Union[_job_pb2.JobError, _Mapping]] = ...) -> None: ...

class CompleteToolCallResponse(_message.Message):
    __slots__ = ("call",)
    CALL_FIELD_NUMBER: _ClassVar[int]
    call: _worker_pb2.ToolCall
    def __init__(self, call: _Optional[_Union[_worker_pb2.ToolCall, _Mapping]] = ...) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "fencing_token", "output")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    output: bytes
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., output: _Optional[bytes] = ...) -> None: ...

class CompleteJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class FailJobRequest(_message.Message):
    __slots__ = ("job_id", "fencing_token", "error", "non_retryable")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    error: _job_pb2.JobError
    non_retryable: bool
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., error: _Optional[_Union[_job_pb2.JobError, _Mapping]] = ..., non_retryable: _Optional[bool] = ...) -> None: ...

class FailJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class ReleaseJobRequest(_message.Message):
    __slots__ = ("job_id", "fencing_token", "delay", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    delay: _duration_pb2.Duration
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class GetSummaryRequest(_message.Message):
    __slots__ = ("window",)
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    window: _duration_pb2.Duration
    def __init__(self, window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class QueueStateCount(_message.Message):
    __slots__ = ("queue", "state", "count")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    queue: str
    state: _job_pb2.JobState
    count: int
    def __init__(self, queue: _Optional[str] = ..., state: _Optional[_Union[_job_pb2.JobState, str]] = ..., count: _Optional[int] = ...) -> None: ...

class GetSummaryResponse(_message.Message):
    __slots__ = ("counts", "oldest_pending_age", "runnable_backlog", "active_workers", "failure_rate", "parked", "parked_waits", "window", "completed_in_window", "failed_in_window", "cancelled_in_window", "as_of")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PENDING_AGE_FIELD_NUMBER: _ClassVar[int]
    RUNNABLE_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_WORKERS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_RATE_FIELD_NUMBER: _ClassVar[int]
    PARKED_FIELD_NUMBER: _ClassVar[int]
    PARKED_WAITS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    FAILED_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[QueueStateCount]
    oldest_pending_age: _duration_pb2.Duration
    runnable_backlog: int
    active_workers: int
    failure_rate: float
    parked: int
    parked_waits: _containers.RepeatedCompositeFieldContainer[ParkedWait]
    window: _duration_pb2.Duration
    completed_in_window: int
    failed_in_window: int
    cancelled_in_window: int
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, counts: _Optional[_Iterable[_Union[QueueStateCount, _Mapping]]] = ..., oldest_pending_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., runnable_backlog: _Optional[int] = ..., active_workers: _Optional[int] = ..., failure_rate: _Optional[float] = ..., parked: _Optional[int] = ..., parked_waits: _Optional[_Iterable[_Union[ParkedWait, _Mapping]]] = ..., window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., completed_in_window: _Optional[int] = ..., failed_in_window: _Optional[int] = ..., cancelled_in_window: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ParkedWait(_message.Message):
    __slots__ = ("job_id", "queue", "signal_name", "tool_call_key", "deadline", "parked_at")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_NAME_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_KEY_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    PARKED_AT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    queue: str
    signal_name: str
    tool_call_key: str
    deadline: _timestamp_pb2.Timestamp
    parked_at: _timestamp_pb2.Timestamp
    def __init__(self, job_id: _Optional[str] = ..., queue: _Optional[str] = ..., signal_name: _Optional[str] = ..., tool_call_key: _Optional[str] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., parked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StuckJob(_message.Message):
    __slots__ = ("job", "reason", "stuck_for", "detail", "stuck_since")
    JOB_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STUCK_FOR_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    STUCK_SINCE_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    reason: StuckReason
    stuck_for: _duration_pb2.Duration
    detail: str
    stuck_since: _timestamp_pb2.Timestamp
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ..., reason: _Optional[_Union[StuckReason, str]] = ..., stuck_for: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., detail: _Optional[str] = ..., stuck_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListStuckJobsRequest(_message.Message):
    __slots__ = ("heartbeat_threshold", "page_size", "page_token", "retry_loop_attempts")
    HEARTBEAT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RETRY_LOOP_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    heartbeat_threshold: _duration_pb2.Duration
    page_size: int
    page_token: str
    retry_loop_attempts: int
    def __init__(self, heartbeat_threshold: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., retry_loop_attempts: _Optional[int] = ...) -> None: ...

class ListStuckJobsResponse(_message.Message):
    __slots__ = ("stuck_jobs", "next_page_token")
    STUCK_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    stuck_jobs: _containers.RepeatedCompositeFieldContainer[StuckJob]
    next_page_token: str
    def __init__(self, stuck_jobs: _Optional[_Iterable[_Union[StuckJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AwaitSignalRequest(_message.Message):
    __slots__ = ("job_id", "fencing_token", "call_key", "signal_name", "timeout")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FENCING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CALL_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_NAME_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fencing_token: int
    call_key: str
    signal_name: str
    timeout: _duration_pb2.Duration
    def __init__(self, job_id: _Optional[str] = ..., fencing_token: _Optional[int] = ..., call_key: _Optional[str] = ..., signal_name: _Optional[str] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AwaitSignalResponse(_message.Message):
    __slots__ = ("outcome", "call", "deadline", "detail")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    outcome: AwaitSignalOutcome
    call: _worker_pb2.ToolCall
    deadline: _timestamp_pb2.Timestamp
    detail: str
    def __init__(self, outcome: _Optional[_Union[AwaitSignalOutcome, str]] = ..., call: _Optional[_Union[_worker_pb2.ToolCall, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...
