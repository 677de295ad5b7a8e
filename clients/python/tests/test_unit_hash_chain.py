"""The hash chain on a fixed vector computed by the TypeScript reference (src/domain/hash-chain.ts)."""

from __future__ import annotations

import hashlib
from typing import List

import pytest
from aetheris.runtime.v1 import event_pb2

from aetheris_client import ChainMismatch, canonicalize, chain_hash, find_chain_mismatch, verify_chain

JOB_ID = "0190f5a8-1c2d-7e3f-8a9b-0c1d2e3f4a5b"
PAYLOAD_1 = canonicalize(
    {
        "b": [1, 2.5, 1e21, 1e-7, -0.0, 123456789012345680000, 0.000001, 5e-324, 1.7976931348623157e308],
        "a": 'é\u2028\n\u0001"\\',
        "z": None,
        "é": 1,
        "\U0001f600": 2,
        "\ufffd": 3,
    }
).encode()
PAYLOAD_2 = '"ünïcode ✓"'.encode()
# Expected values from the TypeScript implementation (chainHash / payloadDigest).
DIGEST_1 = "483acc73eefbed1bcc1ec0217b20ff4390fd1ef495ce5a4453bebf446c1da485"
HASH_1 = "4083afc1cb6ca28972fb940927842813e1d8c5aa5f890cb3ae738de8a5eb5b6e"
HASH_2 = "2d1c4b6970505f204dbc75581c9e1d644170ce962d594d7b984339ee058748b3"


def vector() -> List[event_pb2.Event]:
    first = event_pb2.Event(
        job_id=JOB_ID,
        seq=1,
        event_id="5b4a3f2e-1d0c-4b9a-8f3e-2d1c0b9a8f7e",
        type="aetheris.job.created",
        payload=PAYLOAD_1,
        actor="key:k1",
        payload_digest=bytes.fromhex(DIGEST_1),
        prev_hash=bytes(32),
        hash=bytes.fromhex(HASH_1),
    )
    first.recorded_at.seconds, first.recorded_at.nanos = 1_700_000_000, 123_456_000
    second = event_pb2.Event(
        job_id=JOB_ID,
        seq=2,
        event_id="00000000-0000-4000-8000-000000000002",
        type="step.done",
        payload=PAYLOAD_2,
        actor="system",
        payload_digest=hashlib.sha256(PAYLOAD_2).digest(),
        prev_hash=bytes.fromhex(HASH_1),
        hash=bytes.fromhex(HASH_2),
    )
    # recorded_at = -1 µs: a negative time exercises the signed encoding.
    second.recorded_at.seconds, second.recorded_at.nanos = -1, 999_999_000
    return [first, second]


def test_fixed_vector_matches_the_reference() -> None:
    events = vector()
    assert hashlib.sha256(PAYLOAD_1).hexdigest() == DIGEST_1
    assert chain_hash(bytes(32), events[0], "acme").hex() == HASH_1
    assert [h.hex() for h in verify_chain("acme", events)] == [HASH_1, HASH_2]
    assert find_chain_mismatch("acme", events) is None


def test_wrong_tenant_breaks_the_first_link() -> None:
    mismatch = find_chain_mismatch("other", vector())
    assert mismatch is not None and (mismatch.seq, mismatch.problem) == (1, "HASH_MISMATCH")


@pytest.mark.parametrize(
    ("field", "problem"),
    [("payload", "PAYLOAD_DIGEST_MISMATCH"), ("actor", "HASH_MISMATCH"), ("prev_hash", "PREV_HASH_MISMATCH")],
)
def test_tampering_is_reported_at_its_seq(field: str, problem: str) -> None:
    events = vector()
    if field == "payload":
        events[1].payload = PAYLOAD_2[:-1] + bytes([PAYLOAD_2[-1] ^ 1])
    elif field == "actor":
        events[1].actor = "key:intruder"
    else:
        events[1].prev_hash = bytes(32)
    with pytest.raises(ChainMismatch) as caught:
        verify_chain("acme", events)
    assert (caught.value.seq, caught.value.problem) == (2, problem)


def test_gaps_and_segments() -> None:
    events = vector()
    with pytest.raises(ChainMismatch) as caught:
        verify_chain("acme", events[1:])
    assert (caught.value.seq, caught.value.problem) == (2, "SEQ_GAP")
    # A later segment verifies given the hash before it.
    assert [h.hex() for h in verify_chain("acme", events[1:], prev_hash=bytes.fromhex(HASH_1))] == [HASH_2]
