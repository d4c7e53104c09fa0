#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/Corpus/ (run by hand; the output is committed).

Every seed starts with the configuration bytes its target reads first (see Fuzz/Targets/*.swift),
followed by real protocol bytes: handshakes as browsers and our clients send them, masked,
fragmented and permessage-deflate frames, client messages from DESIGN §4. The log seed is written
by MemoryStore itself (make-log.swift, see scripts/fuzz.sh seeds).
"""
import os, struct, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Corpus")


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


# --- HTTP request heads ([config: limits][cut step] head) ---------------------------------------
heads = {
    "chrome-upgrade": b"GET /ws/memory HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nConnection: Upgrade\r\nPragma: no-cache\r\n"
    b"Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/131.0.0.0 Safari/537.36\r\nUpgrade: websocket\r\nOrigin: http://127.0.0.1:8765\r\nSec-WebSocket-Version: 13\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    "router-client-upgrade": b"GET /ws/memory?token=secret HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_max_window_bits=10\r\n\r\n",
    "bearer-upgrade-then-frame": b"GET /ws/echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
    b"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer secret\r\n\r\n"
    b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
    "curl-healthz": b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
    "lb-http10": b"HEAD /healthz HTTP/1.0\r\n\r\n",
    "metrics-bare-lf": b"GET /metrics HTTP/1.1\nHost: x\nAuthorization: Bearer t\n\n",
    "two-origins": b"GET /ws/memory HTTP/1.1\r\nHost: a:1\r\nOrigin: http://a:1\r\nOrigin: http://evil.example\r\n"
    b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "folded-header": b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n",
    "absolute-target": b"GET http://127.0.0.1:8765/dashboard/ HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n\r\n",
}
for name, head in heads.items():
    write("http-head", name, bytes([0x03 | 0x70, 7]) + head)


# --- WebSocket frames ([config][chunk size][chunk size] wire) -----------------------------------
def frame(opcode, payload, fin=True, rsv1=False, key=b"\x37\xfa\x21\x3d", length_form=None):
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if length_form == 127 or n > 0xFFFF:
        header = bytes([first, 0x80 | 127]) + struct.pack(">Q", n)
    elif length_form == 126 or n > 125:
        header = bytes([first, 0x80 | 126]) + struct.pack(">H", n)
    else:
        header = bytes([first, 0x80 | n])
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + masked


def deflate_message(text, compressor):
    data = compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


search = b'{"type":"memory_search","id":"r1","data":{"query":"coffee","limit":10}}'
plain = 0x0C | 0x20  # no compression, frames up to 65536, messages up to 4000
compressed = 0x01 | 0x0C | 0x20
frames = {
    "text": (plain, frame(0x1, search)),
    "fragmented-text-with-ping": (plain, frame(0x1, search[:20], fin=False) + frame(0x9, b"hb") + frame(0x0, search[20:50], fin=False) + frame(0x0, search[50:])),
    "binary-126": (plain, frame(0x2, bytes(range(200)), length_form=126)),
    "binary-127-form": (plain, frame(0x2, b"abc", length_form=127)),
    "utf8-split-in-fragments": (plain, frame(0x1, "caf\u00e9 \u2615".encode()[:4], fin=False) + frame(0x0, "caf\u00e9 \u2615".encode()[4:])),
    "pong-then-close": (plain, frame(0xA, b"") + frame(0x8, struct.pack(">H", 1000) + b"bye")),
    "close-no-status": (plain, frame(0x8, b"")),
}
c = zlib.compressobj(6, zlib.DEFLATED, -15)
first = deflate_message(search, c)
second = deflate_message(search, c)  # refers back to the first message (context takeover)
frames["deflate-two-messages-context"] = (compressed, frame(0x1, first, rsv1=True) + frame(0x1, second, rsv1=True))
c = zlib.compressobj(6, zlib.DEFLATED, -15)
body = deflate_message(b'{"type":"memory_upsert","data":{"entries":[' + b'{"id":"m","text":"' + b"la " * 300 + b'"}]}}', c)
frames["deflate-fragmented"] = (compressed, frame(0x1, body[:10], fin=False, rsv1=True) + frame(0x9, b"x") + frame(0x0, body[10:]))
c = zlib.compressobj(9, zlib.DEFLATED, -15)
bomb = c.compress(b"\0" * 100_000) + c.flush(zlib.Z_SYNC_FLUSH)
frames["deflate-bomb"] = (compressed, frame(0x2, bomb[:-4], rsv1=True))
c = zlib.compressobj(6, zlib.DEFLATED, -15)
final = c.compress(b'{"type":"ping"}') + c.flush(zlib.Z_FINISH)  # a BFINAL block (RFC 7692 §7.2.3.4)
frames["deflate-bfinal"] = (compressed | 0x02, frame(0x1, final, rsv1=True))
for name, (config, wire) in frames.items():
    write("frames", name, bytes([config, 0, 5]) + wire)

# --- UTF-8 ([three chunk sizes] text) -------------------------------------------------------------
for name, text in {
    "ascii": b"memory_search",
    "mixed": "caf\u00e9 \u2615 \U0001F600 \u00df\u4e2d".encode(),
    "overlong": b"\xc0\xaf",
    "surrogate": b"\xed\xa0\x80",
    "too-large": b"\xf4\x90\x80\x80",
    "truncated": "\U0001F600".encode()[:3],
}.items():
    write("utf8", name, bytes([1, 2, 3]) + text)


# --- permessage-deflate payloads ([config][frame size][frame size] payload) ------------------------
def raw_deflate(data, level=6, wbits=15, flush=zlib.Z_SYNC_FLUSH):
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(flush)
    return out[:-4] if flush == zlib.Z_SYNC_FLUSH else out


inflate_seeds = {
    "json": (0x06 | 0x40, raw_deflate(search)),
    "window-9": (0x00 | 0x40, raw_deflate(b"hello hello hello hello" * 20, wbits=9)),
    "stored-block": (0x06 | 0x50, raw_deflate(os.urandom(0) + bytes(range(256)) * 2, level=0)),
    "bfinal": (0x06 | 0x40, raw_deflate(b"end of stream", flush=zlib.Z_FINISH)),
    "bomb-over-limit": (0x06 | 0x30, raw_deflate(b"\0" * 200_000, level=9)),
    "empty-message": (0x06 | 0x40, b"\x00"),
}
for name, (config, payload) in inflate_seeds.items():
    write("inflate", name, bytes([config, 7, 0]) + payload)

# --- Sec-WebSocket-Extensions ([config] lines separated by LF) -------------------------------------
for name, value in {
    "chrome": b"permessage-deflate; client_max_window_bits",
    "firefox": b"permessage-deflate",
    "router-client": b"permessage-deflate; client_max_window_bits; server_max_window_bits=10",
    "quoted-and-lists": b'permessage-deflate; client_max_window_bits="10"; server_no_context_takeover, x-webkit-deflate-frame\npermessage-deflate',
    "no-context-takeover": b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9",
    "server-response": b"permessage-deflate; server_max_window_bits=10; client_max_window_bits=12",
}.items():
    write("extension-header", name, bytes([0x3F]) + value)

# --- client messages (the message bytes as sent) ---------------------------------------------------
for name, message in {
    "search": search,
    "search-timeout": b'{"type":"memory_search","id":"q-7","data":{"query":"project deadline","limit":5,"tags":["work"],"since":"2024-01-01T00:00:00Z"},"timeout":1500}',
    "upsert": b'{"type":"memory_upsert","id":"u1","data":{"entries":[{"id":"mem-1","text":"likes \\"dark\\" roast \\u2615","tags":["preference"],"embedding":[0.125,-1e-3,3.5E2]}]}}',
    "context-compress": b'{"type":"context_compress","data":{"memoryIds":["mem-1","mem-2"],"maxTokens":200}}',
    "cancel": b'{"type":"cancel","id":"r1"}',
    "ping": b'{"type":"ping","id":42}',
    "resume": b'{"type":"resume","session":"s-1f2e","token":"tok","lastSeq":17}',
    "ack": b'{"type":"ack","seq":100}',
    "nested-and-null": b' {"type":"memory_stream","id":null,"data":{"a":[[],{},[null,true,false]],"b":-0.0}} ',
    "not-an-object": b'["type","ping"]',
    "bad-id": b'{"type":"memory_search","id":7}',
}.items():
    write("client-message", name, message)
