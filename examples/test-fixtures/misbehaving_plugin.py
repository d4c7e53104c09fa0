#!/usr/bin/env python3
"""A test-only external plugin that misbehaves on purpose. Usage: misbehaving_plugin.py MODE

Every mode serves `<mode>_op`, answering {"pid": <its pid>, "echo": data} unless told otherwise:
  crash           data.crash: sends progress, then exits with status 3 mid-request
  hang            data.hang: hangs (sleeps, ignoring stdin and cancel) until killed
  malformed       wraps every answer in malformed or unexpected lines, which the host must ignore
  bad_describe    answers describe with garbage only, then exits with status 2
  silent          never answers describe
  partial         describes partial_op but not missing_op
  exit_early      exits with status 1 before reading anything
"""
import json
import os
import sys
import time

mode = sys.argv[1]
op = mode + "_op"


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def raw(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if mode == "exit_early":
    sys.stderr.write("exit_early: refusing to start\n")
    sys.exit(1)

for line in sys.stdin:
    message = json.loads(line)
    kind = message["type"]
    if kind == "describe":
        if mode == "bad_describe":
            raw("this is not json")
            raw('{"type":"describe","operations":[{"prefix":"no type"}]}')
            sys.exit(2)
        if mode == "silent":
            continue
        if mode == "malformed":
            raw("garbage before describe")
        stages = [{"name": "working", "weight": 1}]
        send({"type": "describe", "operations": [{"type": op, "timeoutMs": 20000, "stages": stages}]})
    elif kind == "request":
        rid, data = message["id"], message.get("data") or {}
        if mode == "crash" and data.get("crash"):
            send({"type": "progress", "id": rid, "stage": "working", "fraction": 0.5})
            sys.stderr.write("crash: exiting with status 3\n")
            sys.stderr.flush()
            os._exit(3)
        if mode == "hang" and data.get("hang"):
            sys.stderr.write("hang: sleeping\n")
            sys.stderr.flush()
            time.sleep(3600)
        if mode == "malformed":
            raw("not json at all")
            raw("[1, 2, 3]")
            raw('{"no_type": true}')
            raw('{"type": "teleport", "id": "%s"}' % rid)
            raw('{"type": "progress", "id": "%s", "fraction": 0.5}' % rid)  # no stage
            raw('{"type": "chunk", "id": "%s", "data": [1]}' % rid)  # data not an object
            raw('{"type": "result", "id": "nobody", "data": {}}')  # unknown id
            raw('{"type": "result", "data": {}}')  # no id
            raw("")
        send({"type": "progress", "id": rid, "stage": "working", "fraction": 1})
        send({"type": "chunk", "id": rid, "data": {"part": 1}})
        send({"type": "result", "id": rid, "data": {"pid": os.getpid(), "echo": data}})
    elif kind == "cancel":
        send({"type": "error", "id": message["id"], "code": "cancelled", "message": "cancelled"})
