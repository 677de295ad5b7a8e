"""Client interceptors: the bearer API key on every call, and native exceptions.

:class:`BearerAuthInterceptor` adds ``authorization: Bearer <key>`` (and any extra metadata) to
every call. :class:`NativeErrorInterceptor` turns a failed call's `grpc.RpcError` into the
matching :class:`~aetheris_client.errors.AetherisError` subclass: a blocking unary call raises
it, a future's ``result()`` raises it (``exception()`` returns it), and a server stream raises it
from iteration. The original error stays available as ``error.rpc_error`` and ``__cause__``.
"""

from __future__ import annotations

import types
from typing import Any, Callable, Iterator, List, Mapping, Optional, Sequence, Tuple

import grpc

from .errors import AetherisError, from_rpc_error
from .retry import copy_details


class BearerAuthInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds the API key (and fixed extra metadata) to every call."""

    def __init__(self, api_key: str, extra: Optional[Mapping[str, str]] = None) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        self._metadata: List[Tuple[str, str]] = [("authorization", f"Bearer {api_key}")]
        self._metadata.extend((key.lower(), value) for key, value in (extra or {}).items())

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        existing: Sequence[Tuple[str, Any]] = tuple(details.metadata or ())
        names = {key for key, _ in self._metadata}
        kept = [(key, value) for key, value in existing if key not in names]
        return copy_details(details, metadata=kept + self._metadata)

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


class NativeErrorInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Raises :class:`~aetheris_client.errors.AetherisError` subclasses instead of `grpc.RpcError`."""

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return NativeErrorCall(continuation(details, request))

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return NativeErrorStream(continuation(details, request))

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any, requests: Any) -> Any:
        return NativeErrorCall(continuation(details, requests))

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: Any, requests: Any) -> Any:
        return NativeErrorStream(continuation(details, requests))


def _native(error: Optional[BaseException]) -> Optional[BaseException]:
    if isinstance(error, grpc.RpcError) and not isinstance(error, AetherisError):
        return from_rpc_error(error)
    return error


class _CallDelegate(grpc.Call):  # type: ignore[misc]
    """The `grpc.Call` methods, answered by the wrapped call `self._call`."""

    _call: Any

    def cancel(self) -> bool:
        return bool(self._call.cancel())

    def is_active(self) -> bool:
        return bool(self._call.is_active())

    def time_remaining(self) -> Optional[float]:
        remaining: Optional[float] = self._call.time_remaining()
        return remaining

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return bool(self._call.add_callback(callback))

    def initial_metadata(self) -> Any:
        return self._call.initial_metadata()

    def trailing_metadata(self) -> Any:
        return self._call.trailing_metadata()

    def code(self) -> Optional[grpc.StatusCode]:
        code: Optional[grpc.StatusCode] = self._call.code()
        return code

    def details(self) -> Optional[str]:
        details: Optional[str] = self._call.details()
        return details


class NativeErrorCall(_CallDelegate, grpc.Future):  # type: ignore[misc]
    """A unary call's outcome whose failure is an :class:`AetherisError`."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def result(self, timeout: Optional[float] = None) -> Any:
        try:
            return self._call.result(timeout)
        except grpc.RpcError as error:
            native = _native(error)
            assert native is not None
            raise native from error

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        return _native(self._call.exception(timeout))

    def traceback(self, timeout: Optional[float] = None) -> Optional[types.TracebackType]:
        trace: Optional[types.TracebackType] = self._call.traceback(timeout)
        return trace

    def cancelled(self) -> bool:
        return bool(self._call.cancelled())

    def running(self) -> bool:
        return bool(self._call.running())

    def done(self) -> bool:
        return bool(self._call.done())

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        self._call.add_done_callback(lambda _inner: fn(self))


class NativeErrorStream(_CallDelegate, Iterator[Any]):  # type: ignore[misc]
    """A server stream whose failure, raised from iteration, is an :class:`AetherisError`."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> "NativeErrorStream":
        return self

    def __next__(self) -> Any:
        try:
            return next(self._call)
        except grpc.RpcError as error:
            native = _native(error)
            assert native is not None
            raise native from error

    def __getattr__(self, name: str) -> Any:
        # Anything else the underlying call offers (done(), result() of a future stream...).
        return getattr(self._call, name)
