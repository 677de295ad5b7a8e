import datetime

from aetheris.runtime.v1 import event_pb2 as _event_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SigningKeyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNING_KEY_STATE_UNSPECIFIED: _ClassVar[SigningKeyState]
    SIGNING_KEY_STATE_ACTIVE: _ClassVar[SigningKeyState]
    SIGNING_KEY_STATE_RETIRED: _ClassVar[SigningKeyState]
    SIGNING_KEY_STATE_REVOKED: _ClassVar[SigningKeyState]

class FindingCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINDING_CODE_UNSPECIFIED: _ClassVar[FindingCode]
    FINDING_CODE_MALFORMED: _ClassVar[FindingCode]
    FINDING_CODE_MISSING_FILE: _ClassVar[FindingCode]
    FINDING_CODE_UNEXPECTED_FILE: _ClassVar[FindingCode]
    FINDING_CODE_HASH_MISMATCH: _ClassVar[FindingCode]
    FINDING_CODE_CHAIN_BROKEN: _ClassVar[FindingCode]
    FINDING_CODE_HEAD_MISMATCH: _ClassVar[FindingCode]
    FINDING_CODE_COUNT_MISMATCH: _ClassVar[FindingCode]
    FINDING_CODE_BAD_SIGNATURE: _ClassVar[FindingCode]
    FINDING_CODE_UNKNOWN_KEY: _ClassVar[FindingCode]
    FINDING_CODE_KEY_REVOKED: _ClassVar[FindingCode]
    FINDING_CODE_PROOF_INVALID: _ClassVar[FindingCode]
    FINDING_CODE_LEDGER_MISMATCH: _ClassVar[FindingCode]
    FINDING_CODE_LOG_INCONSISTENT: _ClassVar[FindingCode]
    FINDING_CODE_WRONG_TENANT: _ClassVar[FindingCode]
SIGNING_KEY_STATE_UNSPECIFIED: SigningKeyState
SIGNING_KEY_STATE_ACTIVE: SigningKeyState
SIGNING_KEY_STATE_RETIRED: SigningKeyState
SIGNING_KEY_STATE_REVOKED: SigningKeyState
FINDING_CODE_UNSPECIFIED: FindingCode
FINDING_CODE_MALFORMED: FindingCode
FINDING_CODE_MISSING_FILE: FindingCode
FINDING_CODE_UNEXPECTED_FILE: FindingCode
FINDING_CODE_HASH_MISMATCH: FindingCode
FINDING_CODE_CHAIN_BROKEN: FindingCode
FINDING_CODE_HEAD_MISMATCH: FindingCode
FINDING_CODE_COUNT_MISMATCH: FindingCode
FINDING_CODE_BAD_SIGNATURE: FindingCode
FINDING_CODE_UNKNOWN_KEY: FindingCode
FINDING_CODE_KEY_REVOKED: FindingCode
FINDING_CODE_PROOF_INVALID: FindingCode
FINDING_CODE_LEDGER_MISMATCH: FindingCode
FINDING_CODE_LOG_INCONSISTENT: FindingCode
FINDING_CODE_WRONG_TENANT: FindingCode

class Checkpoint(_message.Message):
    __slots__ = ("tenant", "tree_size", "root_hash", "position", "signed_at", "key_id", "signed_body", "signature")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    tree_size: int
    root_hash: bytes
    position: _event_pb2.GlobalPosition
    signed_at: _timestamp_pb2.Timestamp
    key_id: str
    signed_body: bytes
    signature: bytes
    def __init__(self, tenant: _Optional[str] = ..., tree_size: _Optional[int] = ..., root_hash: _Optional[bytes] = ..., position: _Optional[_Union[_event_pb2.GlobalPosition, _Mapping]] = ..., signed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ..., signed_body: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SigningKey(_message.Message):
    __slots__ = ("key_id", "algorithm", "public_key", "state", "activated_at", "deactivated_at")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    algorithm: str
    public_key: bytes
    state: SigningKeyState
    activated_at: _timestamp_pb2.Timestamp
    deactivated_at: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., algorithm: _Optional[str] = ..., public_key: _Optional[bytes] = ..., state: _Optional[_Union[SigningKeyState, str]] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deactivated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("leaf_index", "tree_size", "leaf_hash", "hashes")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class EvidenceCounts(_message.Message):
    __slots__ = ("files", "jobs", "events", "redacted_events", "tool_calls", "signals")
    FILES_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REDACTED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    files: int
    jobs: int
    events: int
    redacted_events: int
    tool_calls: int
    signals: int
    def __init__(self, files: _Optional[int] = ..., jobs: _Optional[int] = ..., events: _Optional[int] = ..., redacted_events: _Optional[int] = ..., tool_calls: _Optional[int] = ..., signals: _Optional[int] = ...) -> None: ...

class EvidencePackageInfo(_message.Message):
    __slots__ = ("package_id", "created_at", "package_sha256", "size_bytes", "chunk_count", "manifest_sha256", "signature_key_id", "signature", "checkpoint", "counts", "redaction_policy", "redaction_policy_version")
    PACKAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    REDACTION_POLICY_FIELD_NUMBER: _ClassVar[int]
    REDACTION_POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    package_id: str
    created_at: _timestamp_pb2.Timestamp
    package_sha256: bytes
    size_bytes: int
    chunk_count: int
    manifest_sha256: bytes
    signature_key_id: str
    signature: bytes
    checkpoint: Checkpoint
    counts: EvidenceCounts
    redaction_policy: str
    redaction_policy_version: int
    def __init__(self, package_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., package_sha256: _Optional[bytes] = ..., size_bytes: _Optional[int] = ..., chunk_count: _Optional[int] = ..., manifest_sha256: _Optional[bytes] = ..., signature_key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., counts: _Optional[_Union[EvidenceCounts, _Mapping]] = ..., redaction_policy: _Optional[str] = ..., redaction_policy_version: _Optional[int] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("code", "path", "job_id", "seq", "message", "expected", "actual")
    CODE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_FIELD_NUMBER: _ClassVar[int]
    code: FindingCode
    path: str
    job_id: str
    seq: int
    message: str
    expected: str
    actual: str
    def __init__(self, code: _Optional[_Union[FindingCode, str]] = ..., path: _Optional[str] = ..., job_id: _Optional[str] = ..., seq: _Optional[int] = ..., message: _Optional[str] = ..., expected: _Optional[str] = ..., actual: _Optional[str] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("ok", "findings", "findings_omitted", "verified")
    OK_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_OMITTED_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    findings_omitted: int
    verified: EvidenceCounts
    def __init__(self, ok: _Optional[bool] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., findings_omitted: _Optional[int] = ..., verified: _Optional[_Union[EvidenceCounts, _Mapping]] = ...) -> None: ...
