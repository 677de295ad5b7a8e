"""A worker process for test_worker_crash_resume.

Runs one job of type `crash-resume` from the given queue. Its handler calls three tools through
the ledger; each tool appends one JSON line to the side-effect file (tool, idempotency key, pid,
attempt, a random nonce) and returns what it wrote. On the first attempt the process SIGKILLs
itself right after the second tool's CompleteToolCall returned, before the third tool and
before CompleteJob. Exits 0 once it completed a job, 1 when none came within --wait seconds.

    python crash_worker.py ADDRESS API_KEY QUEUE EFFECTS_FILE [--lease 1.5] [--wait 30]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import time
from typing import Any, Callable, Dict

from aetheris_client import JobContext, RunOutcome, Worker, connect

JOB_TYPE = "crash-resume"
TOOLS = ("reserve-stock", "charge-card", "ship-parcel")
CRASH_AFTER = "charge-card"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("api_key")
    parser.add_argument("queue")
    parser.add_argument("effects")
    parser.add_argument("--lease", type=float, default=1.5)
    parser.add_argument("--wait", type=float, default=30.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=f"[worker {os.getpid()}] %(message)s")

    client = connect(args.address, args.api_key)
    worker = Worker(client, args.queue, worker_id=f"py-crash-worker-{os.getpid()}", lease_seconds=args.lease)

    def side_effect(ctx: JobContext, tool: str) -> Callable[[str], Dict[str, Any]]:
        def run(idempotency_key: str) -> Dict[str, Any]:
            line = {
                "tool": tool,
                "key": idempotency_key,
                "pid": os.getpid(),
                "attempt": ctx.attempt,
                "nonce": secrets.token_hex(8),
            }
            with open(args.effects, "a", encoding="utf-8") as effects:
                effects.write(json.dumps(line) + "\n")
                effects.flush()
                os.fsync(effects.fileno())
            return line

        return run

    @worker.job(JOB_TYPE)
    def handler(ctx: JobContext, input_value: Any) -> Dict[str, Any]:
        results: Dict[str, Any] = {}
        for tool in TOOLS:
            results[tool] = ctx.tool(tool, {"order": input_value["order"], "tool": tool}, side_effect(ctx, tool))
            if tool == CRASH_AFTER and ctx.attempt == 1:
                # CompleteToolCall of this tool has returned; CompleteJob has not been sent.
                os.kill(os.getpid(), signal.SIGKILL)
        return {"results": results, "pid": os.getpid(), "attempt": ctx.attempt}

    deadline = time.monotonic() + args.wait
    try:
        while time.monotonic() < deadline:
            outcome = worker.run_once(poll_seconds=min(5.0, max(0.0, deadline - time.monotonic())))
            if outcome is None:
                continue
            print(json.dumps({"job_id": outcome.job_id, "outcome": outcome.outcome.value, "attempt": outcome.attempt}))
            return 0 if outcome.outcome == RunOutcome.COMPLETED else 1
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
