"""`connect()`: the generated stubs over one channel, with the API key, retries and native errors."""

from __future__ import annotations

import types
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Type, Union

import grpc
from aetheris.runtime.v1 import admin_service_pb2_grpc, runtime_service_pb2_grpc
from aetheris.signal.v1 import signal_service_pb2_grpc

from .interceptors import BearerAuthInterceptor, NativeErrorInterceptor
from .retry import RetryInterceptor, RetryPolicy

TlsOption = Union[None, bool, bytes, grpc.ChannelCredentials]
"""``None``/``False``: plaintext. ``True``: TLS with the system's root certificates. ``bytes``: TLS
with these PEM root certificates. A ``grpc.ChannelCredentials``: used as is."""

DEFAULT_RETRY = RetryPolicy()

_DEFAULT_OPTIONS: Sequence[Tuple[str, Any]] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
)


class Client:
    """The generated stubs of one server, sharing one channel and one API key.

    ``runtime`` (`RuntimeServiceStub`: jobs, events, streams, the worker protocol), ``signal``
    (`SignalServiceStub`) and ``admin`` (`AdminServiceStub`) are the generated stubs: call them
    with the generated request messages. Failed calls raise
    :class:`~aetheris_client.errors.AetherisError` subclasses; unary calls are retried on
    UNAVAILABLE under the client's :class:`~aetheris_client.retry.RetryPolicy`.
    """

    def __init__(self, address: str, channel: grpc.Channel, raw_channel: grpc.Channel) -> None:
        self.address = address
        #: The intercepted channel the stubs use (auth, native errors, retries).
        self.channel = channel
        self._raw_channel = raw_channel
        self.runtime: runtime_service_pb2_grpc.RuntimeServiceStub = runtime_service_pb2_grpc.RuntimeServiceStub(channel)
        self.signal: signal_service_pb2_grpc.SignalServiceStub = signal_service_pb2_grpc.SignalServiceStub(channel)
        self.admin: admin_service_pb2_grpc.AdminServiceStub = admin_service_pb2_grpc.AdminServiceStub(channel)

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        self._raw_channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[types.TracebackType],
    ) -> None:
        self.close()


def connect(
    address: str,
    api_key: str,
    *,
    tls: TlsOption = None,
    retry: Optional[RetryPolicy] = DEFAULT_RETRY,
    metadata: Optional[Mapping[str, str]] = None,
    options: Sequence[Tuple[str, Any]] = (),
) -> Client:
    """Connects to an Aetheris server at ``host:port``.

    Args:
        address: ``host:port`` of the server.
        api_key: the bearer token (``aek_<id>_<secret>``) sent as ``authorization: Bearer …``.
        tls: see :data:`TlsOption`; plaintext only when it is ``None`` or ``False``.
        retry: retries of unary calls on UNAVAILABLE; ``None`` disables them.
        metadata: extra metadata sent with every call.
        options: extra gRPC channel options.
    """
    if not address:
        raise ValueError("address is required (host:port)")
    channel_options = list(_DEFAULT_OPTIONS) + list(options)
    credentials = _channel_credentials(tls)
    raw = (
        grpc.insecure_channel(address, options=channel_options)
        if credentials is None
        else grpc.secure_channel(address, credentials, options=channel_options)
    )
    # The first interceptor is the outermost: errors are translated after the last retry, and
    # every attempt carries the key.
    interceptors: List[Any] = [NativeErrorInterceptor()]
    if retry is not None:
        interceptors.append(RetryInterceptor(retry))
    interceptors.append(BearerAuthInterceptor(api_key, metadata))
    return Client(address, grpc.intercept_channel(raw, *interceptors), raw)


def _channel_credentials(tls: TlsOption) -> Optional[grpc.ChannelCredentials]:
    if tls is None or tls is False:
        return None
    if tls is True:
        return grpc.ssl_channel_credentials()
    if isinstance(tls, (bytes, bytearray)):
        return grpc.ssl_channel_credentials(root_certificates=bytes(tls))
    if isinstance(tls, grpc.ChannelCredentials):
        return tls
    raise TypeError("tls must be None, a bool, PEM root certificates (bytes) or grpc.ChannelCredentials")
