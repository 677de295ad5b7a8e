"""The per-job event hash chain, recomputed offline (docs/hash-chain.md).

    payload_digest = SHA-256(payload)
    hash = SHA-256(prev_hash ‖ "aetheris.event.v1" ‖ u64be(seq) ‖ i64be(recorded_at_us)
                   ‖ job_id[16] ‖ event_id[16] ‖ u32be(len) ‖ tenant ‖ u32be(len) ‖ type
                   ‖ u32be(len) ‖ actor ‖ payload_digest)

with 32 zero bytes as `prev_hash` of seq 1 and the tenant of the API key that read the events.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from typing import Iterable, List, Optional, Protocol

HASH_DOMAIN_TAG = b"aetheris.event.v1"
ZERO_HASH = bytes(32)


class _Timestamp(Protocol):
    seconds: int
    nanos: int


class ChainedEvent(Protocol):
    """What the chain covers: the fields of `aetheris.runtime.v1.Event`."""

    job_id: str
    seq: int
    event_id: str
    type: str
    payload: bytes
    actor: str
    payload_digest: bytes
    prev_hash: bytes
    hash: bytes

    @property
    def recorded_at(self) -> _Timestamp: ...


class ChainMismatch(Exception):
    """The first place where the events and the chain disagree.

    ``problem`` is one of ``SEQ_GAP`` (seqs are not consecutive), ``PREV_HASH_MISMATCH`` (the
    event's `prev_hash` is not the previous event's hash), ``PAYLOAD_DIGEST_MISMATCH`` (the
    payload's SHA-256 differs from `payload_digest`) or ``HASH_MISMATCH`` (the recomputed hash
    differs from `hash`).
    """

    def __init__(self, seq: int, problem: str, expected: bytes = b"", actual: bytes = b"") -> None:
        super().__init__(
            f"event seq {seq}: {problem}"
            + (f" (expected {expected.hex()}, got {actual.hex()})" if expected or actual else "")
        )
        self.seq = seq
        self.problem = problem
        self.expected = expected
        self.actual = actual


def recorded_at_us(event: ChainedEvent) -> int:
    """The event's `recorded_at` in microseconds since the Unix epoch."""
    stamp = event.recorded_at
    return int(stamp.seconds) * 1_000_000 + int(stamp.nanos) // 1000


def chain_hash(prev_hash: bytes, event: ChainedEvent, tenant: str, payload_digest: Optional[bytes] = None) -> bytes:
    """The hash of `event` given its predecessor's hash (`payload_digest` defaults to SHA-256 of the payload)."""
    digest = hashlib.sha256(event.payload).digest() if payload_digest is None else payload_digest
    return hashlib.sha256(
        prev_hash
        + HASH_DOMAIN_TAG
        + struct.pack(">Qq", event.seq, recorded_at_us(event))
        + uuid.UUID(event.job_id).bytes
        + uuid.UUID(event.event_id).bytes
        + _length_prefixed(tenant)
        + _length_prefixed(event.type)
        + _length_prefixed(event.actor)
        + digest
    ).digest()


def find_chain_mismatch(
    tenant: str, events: Iterable[ChainedEvent], *, prev_hash: Optional[bytes] = None
) -> Optional[ChainMismatch]:
    """Like :func:`verify_chain`, but returns the first mismatch (or ``None``) instead of raising."""
    try:
        verify_chain(tenant, events, prev_hash=prev_hash)
    except ChainMismatch as mismatch:
        return mismatch
    return None


def verify_chain(tenant: str, events: Iterable[ChainedEvent], *, prev_hash: Optional[bytes] = None) -> List[bytes]:
    """Recomputes every event's hash and checks it against the server's, in seq order.

    Args:
        tenant: the tenant of the API key that read the events.
        events: consecutive events of one job, from seq 1 unless `prev_hash` is given.
        prev_hash: the hash of the event before the first one (to verify a later segment).

    Returns:
        The recomputed hashes, one per event.

    Raises:
        ChainMismatch: at the first event whose seq, prev_hash, payload digest or hash is wrong.
    """
    hashes: List[bytes] = []
    prev = prev_hash
    expected_seq: Optional[int] = None
    for event in events:
        if expected_seq is None:
            expected_seq = event.seq if prev_hash is not None else 1
            prev = ZERO_HASH if prev_hash is None else prev_hash
        assert prev is not None
        if event.seq != expected_seq:
            raise ChainMismatch(event.seq, "SEQ_GAP")
        if bytes(event.prev_hash) != prev:
            raise ChainMismatch(event.seq, "PREV_HASH_MISMATCH", prev, bytes(event.prev_hash))
        digest = hashlib.sha256(event.payload).digest()
        if digest != bytes(event.payload_digest):
            raise ChainMismatch(event.seq, "PAYLOAD_DIGEST_MISMATCH", digest, bytes(event.payload_digest))
        computed = chain_hash(prev, event, tenant, digest)
        if computed != bytes(event.hash):
            raise ChainMismatch(event.seq, "HASH_MISMATCH", computed, bytes(event.hash))
        hashes.append(computed)
        prev = computed
        expected_seq = event.seq + 1
    return hashes


def _length_prefixed(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data
