"""A tiny in-process gRPC server on loopback that plays a scripted RuntimeService.GetJob (and a
StreamEvents), for unit tests of retries, auth metadata and error decoding."""

from __future__ import annotations

import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, List, Optional, Tuple

import grpc
from aetheris.runtime.v1 import job_pb2, runtime_service_pb2

Behaviour = Callable[[int, runtime_service_pb2.GetJobRequest, grpc.ServicerContext], runtime_service_pb2.GetJobResponse]


@dataclass
class Recorded:
    at: float
    metadata: Tuple[Tuple[str, Any], ...]
    time_remaining: Optional[float]


@dataclass
class FakeRuntime:
    """Answers GetJob with `behaviour(n, request, context)` for the n-th call (0-based)."""

    behaviour: Behaviour
    calls: List[Recorded] = field(default_factory=list)
    stream_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_job(self, request: runtime_service_pb2.GetJobRequest, context: grpc.ServicerContext) -> Any:
        with self.lock:
            n = len(self.calls)
            self.calls.append(
                Recorded(time.monotonic(), tuple(context.invocation_metadata()), context.time_remaining())
            )
        return self.behaviour(n, request, context)

    def stream_events(
        self, request: runtime_service_pb2.StreamEventsRequest, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        with self.lock:
            self.stream_calls += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "stream unavailable")
        yield runtime_service_pb2.StreamEventsResponse()  # pragma: no cover - abort raises


def fail_times(count: int, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> Behaviour:
    """Fails the first `count` calls with `code`, then answers a job."""

    def behaviour(n: int, request: runtime_service_pb2.GetJobRequest, context: grpc.ServicerContext) -> Any:
        if n < count:
            context.abort(code, f"scripted failure {n + 1}")
        return runtime_service_pb2.GetJobResponse(job=job_pb2.Job(id=request.job_id, job_type="fake"))

    return behaviour


class FakeServer:
    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handler = grpc.method_handlers_generic_handler(
            "aetheris.runtime.v1.RuntimeService",
            {
                "GetJob": grpc.unary_unary_rpc_method_handler(
                    runtime.get_job,
                    request_deserializer=runtime_service_pb2.GetJobRequest.FromString,
                    response_serializer=runtime_service_pb2.GetJobResponse.SerializeToString,
                ),
                "StreamEvents": grpc.unary_stream_rpc_method_handler(
                    runtime.stream_events,
                    request_deserializer=runtime_service_pb2.StreamEventsRequest.FromString,
                    response_serializer=runtime_service_pb2.StreamEventsResponse.SerializeToString,
                ),
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)
