#!/usr/bin/env python3
"""text_stats: a complete Memory Router external process plugin (Python 3, standard library only).

It serves one operation, `text_stats`: given `data.text`, it counts the words and sentences of
each paragraph (paragraphs are separated by blank lines), streams one chunk per paragraph, reports
progress through three stages, and answers with the totals.

    request data:  {"text": "…", "delayMs": 0}      (delayMs: optional pause per paragraph, to watch
                                                      progress or try cancelling; at most 10000)
    chunk:         {"paragraph": 0, "words": 12, "sentences": 2}
    result:        {"paragraphs": 3, "words": 40, "sentences": 6, "characters": 230,
                    "longestWord": "extraordinary"}

Configure it in the host's config file:

    {"plugins": [{"name": "text-stats", "command": ["python3", "examples/text_stats_plugin.py"],
                  "messageTypes": ["text_stats"]}]}

The protocol (see PLUGINS.md): one JSON object per line on stdin (from the host) and stdout (to
the host); anything for humans goes to stderr. Requests run concurrently, one thread each, so a
`cancel` can reach a request while it works.
"""

import json
import re
import sys
import threading

STAGES = [
    {"name": "reading", "weight": 1},
    {"name": "counting", "weight": 8},
    {"name": "summarizing", "weight": 1},
]

_output_lock = threading.Lock()
_cancel_events = {}  # request id -> threading.Event
_cancel_lock = threading.Lock()


def send(message):
    """Writes one message as one line. Several threads write, so a lock keeps lines whole."""
    line = json.dumps(message, separators=(",", ":"))
    with _output_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(text):
    """Human-readable diagnostics go to stderr; the host logs them with the plugin's name."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class Cancelled(Exception):
    pass


class BadRequest(Exception):
    pass


SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
WORD = re.compile(r"[\w'-]+", re.UNICODE)


def text_stats(request_id, data, cancelled):
    text = data.get("text")
    if not isinstance(text, str):
        raise BadRequest("data.text: expected a string")
    delay = data.get("delayMs", 0)
    if not isinstance(delay, (int, float)) or delay < 0 or delay > 10000:
        raise BadRequest("data.delayMs: expected a number of milliseconds between 0 and 10000")

    def progress(stage, fraction, message=None):
        update = {"type": "progress", "id": request_id, "stage": stage, "fraction": fraction}
        if message is not None:
            update["message"] = message
        send(update)

    progress("reading", 0)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    progress("reading", 1, "%d paragraph(s)" % len(paragraphs))

    totals = {"paragraphs": len(paragraphs), "words": 0, "sentences": 0, "characters": len(text), "longestWord": ""}
    for index, paragraph in enumerate(paragraphs):
        # Waiting on the event (rather than time.sleep) lets a cancel interrupt the pause at once.
        if cancelled.wait(delay / 1000.0) if delay else cancelled.is_set():
            raise Cancelled()
        words = WORD.findall(paragraph)
        sentences = len(SENTENCE_END.findall(paragraph)) or (1 if words else 0)
        totals["words"] += len(words)
        totals["sentences"] += sentences
        for word in words:
            if len(word) > len(totals["longestWord"]):
                totals["longestWord"] = word
        send({"type": "chunk", "id": request_id, "data": {"paragraph": index, "words": len(words), "sentences": sentences}})
        progress("counting", (index + 1) / len(paragraphs))

    progress("summarizing", 1)
    return totals


OPERATIONS = {"text_stats": text_stats}


def run_request(request_id, operation, data):
    cancelled = threading.Event()
    with _cancel_lock:
        _cancel_events[request_id] = cancelled
    try:
        result = OPERATIONS[operation](request_id, data, cancelled)
        send({"type": "result", "id": request_id, "data": result})
    except Cancelled:
        # Acknowledge the cancel: the host discards this, and knows the request is over.
        send({"type": "error", "id": request_id, "code": "cancelled", "message": "request cancelled"})
    except BadRequest as problem:
        send({"type": "error", "id": request_id, "code": "bad_request", "message": str(problem)})
    except Exception as problem:  # never let one request take the plugin down
        log("request %s failed: %r" % (request_id, problem))
        send({"type": "error", "id": request_id, "message": "text_stats failed: %s" % problem})
    finally:
        with _cancel_lock:
            _cancel_events.pop(request_id, None)


def main():
    log("text_stats plugin started")
    workers = []
    for line in sys.stdin:  # ends when the host closes stdin: then exit
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            log("ignoring malformed line: %r" % line[:200])
            continue

        if kind == "describe":
            send({
                "type": "describe",
                "operations": [{"type": "text_stats", "prefix": "stats", "timeoutMs": 30000, "stages": STAGES}],
            })
        elif kind == "request":
            request_id, operation = message.get("id"), message.get("op")
            if operation not in OPERATIONS:
                send({"type": "error", "id": request_id, "message": "unknown operation %r" % operation})
                continue
            data = message.get("data") or {}
            worker = threading.Thread(target=run_request, args=(request_id, operation, data), daemon=True)
            worker.start()
            workers = [w for w in workers if w.is_alive()] + [worker]
        elif kind == "cancel":
            with _cancel_lock:
                event = _cancel_events.get(message.get("id"))
            if event is not None:
                event.set()
        # Unknown message types are ignored, so newer hosts can add messages.
    # stdin closed: the host is shutting down (or gone). Finish what is running, then exit.
    for worker in workers:
        worker.join(timeout=1.5)
    log("stdin closed: exiting")


if __name__ == "__main__":
    main()
