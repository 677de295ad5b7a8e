"""Event streams against the real server: a job's StreamEvents (replay, then follow), the
tenant's SubscribeEvents (live, ordered, resumable), and the hash chain recomputed here."""

from __future__ import annotations

import hashlib
import uuid
from typing import List, Set, Tuple

import pytest
from aetheris.runtime.v1 import event_pb2, job_pb2, runtime_service_pb2

from aetheris_client import ChainMismatch, Client, find_chain_mismatch, verify_chain
from conftest import ServerEnv
from support import StreamReader, append, create_job, payload, read_events, wait_for_state


def position(event: event_pb2.Event) -> Tuple[int, int]:
    return (event.position.transaction_id, event.position.position)


def test_stream_events_replay_then_follow(admin: Client, queue: str) -> None:
    job = create_job(admin, "stream-test", {"n": 0}, queue=queue)
    append(admin, job.id, [("step", {"n": 1}), ("step", {"n": 2}), ("step", {"n": 3})])

    stream = admin.runtime.StreamEvents(
        runtime_service_pb2.StreamEventsRequest(job_id=job.id, after_seq=0, follow=True, max_batch=2), timeout=30
    )
    reader = StreamReader(stream)
    try:
        # Replay: the existing history (created + 3 steps) in batches of at most 2, then caught_up.
        replayed: List[event_pb2.Event] = []
        caught_up_at = None
        while caught_up_at is None:
            message = reader.next(timeout=10)
            assert len(message.events) <= 2
            replayed.extend(message.events)
            if message.caught_up:
                caught_up_at = len(replayed)
        assert [e.seq for e in replayed] == [1, 2, 3, 4]
        assert [e.type for e in replayed] == ["aetheris.job.created", "step", "step", "step"]
        assert [payload(e) for e in replayed[1:]] == [{"n": 1}, {"n": 2}, {"n": 3}]

        # Follow: events appended after the stream opened arrive live, in seq order.
        append(admin, job.id, [("live", {"n": 4})])
        append(admin, job.id, [("live", {"n": 5}), ("live", {"n": 6})])
        followed: List[event_pb2.Event] = []
        while len(followed) < 3:
            message = reader.next(timeout=10)
            assert not message.caught_up
            followed.extend(message.events)
        assert [e.seq for e in followed] == [5, 6, 7]
        assert [payload(e) for e in followed] == [{"n": 4}, {"n": 5}, {"n": 6}]

        # A finished job closes its history: the stream delivers the last event and ends with OK.
        admin.runtime.CancelJob(runtime_service_pb2.CancelJobRequest(job_id=job.id, reason="test over"), timeout=10)
        last = reader.next(timeout=10)
        assert [e.type for e in last.events] == ["aetheris.job.cancelled"] and last.events[0].seq == 8
        assert last.job_state == job_pb2.JOB_STATE_CANCELLED
        assert reader.ended.wait(10), "the stream did not end after the job finished"
        assert reader.end is None, reader.end
    finally:
        reader.cancel()


def test_subscribe_tenant_stream(admin: Client) -> None:
    job_type = f"subscribe-{uuid.uuid4().hex[:8]}"
    request = runtime_service_pb2.SubscribeEventsRequest(follow=True)
    request.filter.job_types.append(job_type)
    reader = StreamReader(admin.runtime.SubscribeEvents(request, timeout=30))
    seen: List[event_pb2.Event] = []
    checkpoints: List[Tuple[int, int]] = []
    try:
        # Caught up with the tenant's history (none of this job type yet) before anything is written.
        # A transaction still open anywhere in the cluster (xids are cluster-wide) holds the
        # visibility horizon back, so checkpoints without `caught_up` may come first.
        while True:
            first = reader.next(timeout=10)
            assert list(first.events) == []
            checkpoints.append((first.checkpoint.transaction_id, first.checkpoint.position))
            if first.caught_up:
                break

        job_a = create_job(admin, job_type, {"job": "a"})
        job_b = create_job(admin, job_type, {"job": "b"})
        append(admin, job_a.id, [("order.placed", {"i": 1}), ("order.paid", {"i": 2})])
        append(admin, job_b.id, [("order.placed", {"i": 3})])
        append(admin, job_a.id, [("order.shipped", {"i": 4})])
        expected = [
            (job_a.id, 1, "aetheris.job.created"),
            (job_b.id, 1, "aetheris.job.created"),
            (job_a.id, 2, "order.placed"),
            (job_a.id, 3, "order.paid"),
            (job_b.id, 2, "order.placed"),
            (job_a.id, 4, "order.shipped"),
        ]
        while len(seen) < len(expected):
            message = reader.next(timeout=10)
            seen.extend(message.events)
            checkpoints.append((message.checkpoint.transaction_id, message.checkpoint.position))
        assert [(e.job_id, e.seq, e.type) for e in seen] == expected
        positions = [position(e) for e in seen]
        assert positions == sorted(positions) and len(set(positions)) == len(positions), positions
        assert all(b >= a for a, b in zip(checkpoints, checkpoints[1:], strict=False)), checkpoints
        # Every event delivered is covered by the last checkpoint received.
        assert checkpoints[-1] >= positions[-1]
    finally:
        reader.cancel()

    # Written while nobody listened; resuming from the checkpoint delivers exactly these.
    append(admin, job_b.id, [("order.paid", {"i": 5})])
    append(admin, job_a.id, [("order.delivered", {"i": 6})])
    resume = runtime_service_pb2.SubscribeEventsRequest(follow=True)
    resume.filter.job_types.append(job_type)
    resume.after.transaction_id, resume.after.position = checkpoints[-1]
    reader = StreamReader(admin.runtime.SubscribeEvents(resume, timeout=30))
    resumed: List[event_pb2.Event] = []
    try:
        while len(resumed) < 2:
            resumed.extend(reader.next(timeout=10).events)
        assert [(e.job_id, e.seq, e.type) for e in resumed] == [
            (job_b.id, 3, "order.paid"),
            (job_a.id, 5, "order.delivered"),
        ]
        assert position(resumed[0]) > positions[-1]
        # Nothing else arrives: earlier events are not redelivered.
        append(admin, job_b.id, [("order.closed", {"i": 7})])
        tail: List[event_pb2.Event] = []
        while not tail:
            tail.extend(reader.next(timeout=10).events)
        assert [(e.job_id, e.seq, e.type) for e in tail] == [(job_b.id, 4, "order.closed")]
    finally:
        reader.cancel()
    delivered: Set[Tuple[str, int]] = {(e.job_id, e.seq) for e in seen + resumed + tail}
    assert len(delivered) == len(seen) + len(resumed) + len(tail)

    # A non-following read from the start replays the same events in the same global order.
    replay = runtime_service_pb2.SubscribeEventsRequest(follow=False)
    replay.filter.job_types.append(job_type)
    everything = [e for message in admin.runtime.SubscribeEvents(replay, timeout=30) for e in message.events]
    assert [(e.job_id, e.seq) for e in everything] == [(e.job_id, e.seq) for e in seen + resumed + tail]


def test_hash_chain_recomputed(server: ServerEnv, admin: Client, queue: str) -> None:
    job = create_job(admin, "chain-test", {"customer": "Zoë", "amount": 12.5}, queue=queue)
    append(admin, job.id, [("note", {"text": "ünïcode ✓ \u2028", "z": 1, "a": [1, 2.0, 1e21]})])
    append(admin, job.id, [("note", None), ("note", "plain string"), ("note", {"nested": {"b": True, "a": None}})])
    append(admin, job.id, [("note", 3.14159), ("note", [])])

    streamed = [
        e
        for message in admin.runtime.StreamEvents(
            runtime_service_pb2.StreamEventsRequest(job_id=job.id, follow=False), timeout=30
        )
        for e in message.events
    ]
    read = read_events(admin, job.id)
    assert [e.SerializeToString() for e in streamed] == [e.SerializeToString() for e in read]
    assert [e.seq for e in streamed] == list(range(1, 8))

    hashes = verify_chain(server.tenant, streamed)
    assert hashes == [bytes(e.hash) for e in streamed]
    assert hashes[-1] == get_head_hash(admin, job.id)
    # The tenant is part of the hash: another tenant's name breaks the first link.
    wrong = find_chain_mismatch(server.tenant + "-x", streamed)
    assert wrong is not None and wrong.seq == 1

    # A copy with one payload byte flipped is caught at exactly that seq.
    tampered = [clone(e) for e in streamed]
    target = tampered[4]
    target.payload = target.payload[:-2] + bytes([target.payload[-2] ^ 0x01]) + target.payload[-1:]
    with pytest.raises(ChainMismatch) as caught:
        verify_chain(server.tenant, tampered)
    assert (caught.value.seq, caught.value.problem) == (5, "PAYLOAD_DIGEST_MISMATCH")
    # Even with a matching digest forged, the chain hash gives it away.
    target.payload_digest = hashlib.sha256(target.payload).digest()
    with pytest.raises(ChainMismatch) as caught:
        verify_chain(server.tenant, tampered)
    assert (caught.value.seq, caught.value.problem) == (5, "HASH_MISMATCH")


def get_head_hash(client: Client, job_id: str) -> bytes:
    job = wait_for_state(client, job_id, [job_pb2.JOB_STATE_PENDING])
    return bytes(job.head_hash)


def clone(event: event_pb2.Event) -> event_pb2.Event:
    copy = event_pb2.Event()
    copy.CopyFrom(event)
    return copy
