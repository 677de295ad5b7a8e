import datetime

from aetheris.compliance.v1 import redaction_pb2 as _redaction_pb2
from aetheris.compliance.v1 import report_pb2 as _report_pb2
from aetheris.compliance.v1 import retention_pb2 as _retention_pb2
from aetheris.forensics.v1 import query_pb2 as _query_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListReportTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListReportTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[_report_pb2.ReportTemplate]
    def __init__(self, templates: _Optional[_Iterable[_Union[_report_pb2.ReportTemplate, _Mapping]]] = ...) -> None: ...

class GenerateReportRequest(_message.Message):
    __slots__ = ("template_id", "start_time", "end_time", "parameters", "content_type", "request_id")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    parameters: _containers.ScalarMap[str, str]
    content_type: str
    request_id: str
    def __init__(self, template_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., content_type: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GenerateReportResponse(_message.Message):
    __slots__ = ("report_id", "state", "duplicate")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    state: _report_pb2.ReportState
    duplicate: bool
    def __init__(self, report_id: _Optional[str] = ..., state: _Optional[_Union[_report_pb2.ReportState, str]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("report_id",)
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    def __init__(self, report_id: _Optional[str] = ...) -> None: ...

class GetReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _report_pb2.Report
    def __init__(self, report: _Optional[_Union[_report_pb2.Report, _Mapping]] = ...) -> None: ...

class ListReportsRequest(_message.Message):
    __slots__ = ("template_id", "states", "page_size", "page_token")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    states: _containers.RepeatedScalarFieldContainer[_report_pb2.ReportState]
    page_size: int
    page_token: str
    def __init__(self, template_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_report_pb2.ReportState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReportsResponse(_message.Message):
    __slots__ = ("reports", "next_page_token")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[_report_pb2.Report]
    next_page_token: str
    def __init__(self, reports: _Optional[_Iterable[_Union[_report_pb2.Report, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRetentionPolicyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRetentionPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: _retention_pb2.RetentionPolicy
    def __init__(self, policy: _Optional[_Union[_retention_pb2.RetentionPolicy, _Mapping]] = ...) -> None: ...

class SetRetentionPolicyRequest(_message.Message):
    __slots__ = ("rules", "expected_version")
    RULES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[_retention_pb2.RetentionRule]
    expected_version: int
    def __init__(self, rules: _Optional[_Iterable[_Union[_retention_pb2.RetentionRule, _Mapping]]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetRetentionPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: _retention_pb2.RetentionPolicy
    def __init__(self, policy: _Optional[_Union[_retention_pb2.RetentionPolicy, _Mapping]] = ...) -> None: ...

class RunRetentionRequest(_message.Message):
    __slots__ = ("dry_run", "max_jobs")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    MAX_JOBS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    max_jobs: int
    def __init__(self, dry_run: _Optional[bool] = ..., max_jobs: _Optional[int] = ...) -> None: ...

class RunRetentionResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _retention_pb2.RetentionRun
    def __init__(self, run: _Optional[_Union[_retention_pb2.RetentionRun, _Mapping]] = ...) -> None: ...

class GetRedactionPolicyRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetRedactionPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: _redaction_pb2.RedactionPolicy
    def __init__(self, policy: _Optional[_Union[_redaction_pb2.RedactionPolicy, _Mapping]] = ...) -> None: ...

class SetRedactionPolicyRequest(_message.Message):
    __slots__ = ("name", "description", "rules", "expected_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    rules: _containers.RepeatedCompositeFieldContainer[_redaction_pb2.RedactionRule]
    expected_version: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[_redaction_pb2.RedactionRule, _Mapping]]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetRedactionPolicyResponse(_message.Message):
    __slots__ = ("policy", "created")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    policy: _redaction_pb2.RedactionPolicy
    created: bool
    def __init__(self, policy: _Optional[_Union[_redaction_pb2.RedactionPolicy, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListRedactionPoliciesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRedactionPoliciesResponse(_message.Message):
    __slots__ = ("policies", "next_page_token")
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[_redaction_pb2.RedactionPolicy]
    next_page_token: str
    def __init__(self, policies: _Optional[_Iterable[_Union[_redaction_pb2.RedactionPolicy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PlaceLegalHoldRequest(_message.Message):
    __slots__ = ("selector", "reason", "case_id", "request_id")
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    selector: _query_pb2.JobSelector
    reason: str
    case_id: str
    request_id: str
    def __init__(self, selector: _Optional[_Union[_query_pb2.JobSelector, _Mapping]] = ..., reason: _Optional[str] = ..., case_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class PlaceLegalHoldResponse(_message.Message):
    __slots__ = ("hold", "duplicate")
    HOLD_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    hold: _retention_pb2.LegalHold
    duplicate: bool
    def __init__(self, hold: _Optional[_Union[_retention_pb2.LegalHold, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class ReleaseLegalHoldRequest(_message.Message):
    __slots__ = ("hold_id", "reason")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    reason: str
    def __init__(self, hold_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseLegalHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: _retention_pb2.LegalHold
    def __init__(self, hold: _Optional[_Union[_retention_pb2.LegalHold, _Mapping]] = ...) -> None: ...

class ListLegalHoldsRequest(_message.Message):
    __slots__ = ("states", "case_id", "job_id", "page_size", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[_retention_pb2.LegalHoldState]
    case_id: str
    job_id: str
    page_size: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[_retention_pb2.LegalHoldState, str]]] = ..., case_id: _Optional[str] = ..., job_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLegalHoldsResponse(_message.Message):
    __slots__ = ("holds", "next_page_token")
    HOLDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    holds: _containers.RepeatedCompositeFieldContainer[_retention_pb2.LegalHold]
    next_page_token: str
    def __init__(self, holds: _Optional[_Iterable[_Union[_retention_pb2.LegalHold, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
