"""Fixtures of the suite. The end-to-end tests need a running server, described by environment
variables (test/helpers/external-suite.ts sets them); a missing variable FAILS those tests, it
never skips them."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from aetheris_client import Client, connect

REQUIRED_ENV = (
    "AETHERIS_ADDRESS",
    "AETHERIS_TENANT",
    "AETHERIS_API_KEY",
    "AETHERIS_WORKER_KEY",
    "AETHERIS_READER_KEY",
    "AETHERIS_OTHER_TENANT_KEY",
    "AETHERIS_E2E_TMP",
)


@dataclass(frozen=True)
class ServerEnv:
    address: str
    tenant: str
    admin_key: str
    worker_key: str
    reader_key: str
    other_tenant_key: str
    tmp: Path


@pytest.fixture(scope="session")
def server() -> ServerEnv:
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        pytest.fail(
            "the end-to-end tests need a running server: set "
            + ", ".join(missing)
            + " (from /work/main: npx vitest run test/clients/python.e2e.test.ts does)",
            pytrace=False,
        )
    tmp = Path(os.environ["AETHERIS_E2E_TMP"])
    if not tmp.is_dir():
        pytest.fail(f"AETHERIS_E2E_TMP={tmp} is not a directory", pytrace=False)
    return ServerEnv(
        address=os.environ["AETHERIS_ADDRESS"],
        tenant=os.environ["AETHERIS_TENANT"],
        admin_key=os.environ["AETHERIS_API_KEY"],
        worker_key=os.environ["AETHERIS_WORKER_KEY"],
        reader_key=os.environ["AETHERIS_READER_KEY"],
        other_tenant_key=os.environ["AETHERIS_OTHER_TENANT_KEY"],
        tmp=tmp,
    )


@pytest.fixture(scope="session")
def admin(server: ServerEnv) -> Iterator[Client]:
    with connect(server.address, server.admin_key) as client:
        yield client


@pytest.fixture(scope="session")
def worker_client(server: ServerEnv) -> Iterator[Client]:
    with connect(server.address, server.worker_key) as client:
        yield client


@pytest.fixture(scope="session")
def reader(server: ServerEnv) -> Iterator[Client]:
    with connect(server.address, server.reader_key) as client:
        yield client


@pytest.fixture(scope="session")
def other_tenant(server: ServerEnv) -> Iterator[Client]:
    with connect(server.address, server.other_tenant_key) as client:
        yield client


@pytest.fixture
def queue(request: pytest.FixtureRequest) -> str:
    """A queue of this test's own, so no other test's worker can lease its jobs."""
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", request.node.name)[:80]
    return f"py.{name}.{uuid.uuid4().hex[:8]}"


@pytest.fixture
def scratch(server: ServerEnv, request: pytest.FixtureRequest) -> Path:
    """A directory of this test's own inside AETHERIS_E2E_TMP."""
    path = server.tmp / f"{request.node.name}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path
