#!/usr/bin/env python3
"""A test-only external plugin whose operation stays in flight until the test says so.

Usage: held_plugin.py [OPERATION]   (the operation's message type, default "hold")

A request opens its data.release FIFO (if given), then sends one chunk {"held": true}: once the test sees
that chunk, the operation is surely in flight and its FIFO is open. The operation completes with
{"released": true, "echo": data} when the test writes a line to the FIFO. Without data.release it runs
until cancelled. No sleeps: the FIFO is the signal.
"""
import json
import os
import sys
import threading

operation = sys.argv[1] if len(sys.argv) > 1 else "hold"
output = threading.Lock()
cancelled = set()


def send(message):
    with output:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def wait_then_complete(rid, fd, data):
    # Blocks until the test writes a line (O_RDWR: the open never waited for a writer, the read does).
    with os.fdopen(fd, "rb", buffering=0) as fifo:
        while not fifo.read(1) in (b"\n", b""):
            pass
    if rid not in cancelled:
        send({"type": "result", "id": rid, "data": {"released": True, "echo": data}})


for line in sys.stdin:
    message = json.loads(line)
    kind = message["type"]
    if kind == "describe":
        send({"type": "describe", "operations": [{"type": operation, "timeoutMs": 120000}]})
    elif kind == "request":
        rid, data = message["id"], message.get("data") or {}
        release = data.get("release")
        fd = os.open(release, os.O_RDWR) if release else None
        send({"type": "chunk", "id": rid, "data": {"held": True}})
        if fd is not None:
            threading.Thread(target=wait_then_complete, args=(rid, fd, data), daemon=True).start()
    elif kind == "cancel":
        cancelled.add(message["id"])
        send({"type": "error", "id": message["id"], "code": "cancelled", "message": "cancelled"})
