"""Abuse table for issue 11 (run by scripts/abuse-table.sh). Raw sockets, no third-party modules."""
import base64, json, os, resource, socket, struct, subprocess, sys, tempfile, threading, time, zlib

def free_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


BIN = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else free_port()
HOST = "127.0.0.1"


def connect(path="/ws/memory", headers=(), deflate=False, timeout=10):
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
    if deflate:
        extra += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("closed during handshake")
        head += chunk
    status = int(head.split(b" ")[1])
    return s, status, head.decode(errors="replace")


def frame(payload, opcode=1, rsv1=False, declared=None):
    if isinstance(payload, str):
        payload = payload.encode()
    length = len(payload) if declared is None else declared
    first = 0x80 | opcode | (0x40 if rsv1 else 0)
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload)) if len(payload) < 4096 else _mask_fast(payload, mask)
    return header + mask + masked


def _mask_fast(payload, mask):
    n = len(payload)
    value = int.from_bytes(payload, "big") ^ (int.from_bytes((mask * (n // 4 + 1))[:n], "big"))
    return value.to_bytes(n, "big")


def deflated(payload):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]


class Reader:
    """Reads frames from a socket: returns (opcode, payload) or None at EOF/timeout."""
    def __init__(self, s):
        self.s, self.buf = s, b""

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def next(self):
        try:
            if not self._need(2):
                return None
            b0, b1 = self.buf[0], self.buf[1]
            length, offset = b1 & 0x7F, 2
            if length == 126:
                if not self._need(4):
                    return None
                length, offset = struct.unpack("!H", self.buf[2:4])[0], 4
            elif length == 127:
                if not self._need(10):
                    return None
                length, offset = struct.unpack("!Q", self.buf[2:10])[0], 10
            if not self._need(offset + length):
                return None
            payload = self.buf[offset:offset + length]
            self.buf = self.buf[offset + length:]
            if b0 & 0x40:
                payload = zlib.decompress(payload + b"\x00\x00\xff\xff", -15)
            return b0 & 0x0F, payload
        except (socket.timeout, ConnectionError, OSError):
            return None

    def json(self):
        while True:
            f = self.next()
            if f is None:
                return None
            op, payload = f
            if op == 1:
                return json.loads(payload)
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return {"type": "__close__", "code": code, "reason": payload[2:].decode(errors="replace")}
            if op == 9:
                pass


def close_code(reader, timeout=20):
    reader.s.settimeout(timeout)
    while True:
        f = reader.next()
        if f is None:
            return "dropped without close frame"
        if f[0] == 8:
            return struct.unpack("!H", f[1][:2])[0] if len(f[1]) >= 2 else "close without code"


class Bystander(threading.Thread):
    """One well-behaved client: an app-level ping every 10 ms, round trip recorded with its time."""
    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self.errors, self.stop = [], 0, False

    def run(self):
        s, status, _ = connect()
        reader = Reader(s)
        reader.json()  # welcome
        n = 0
        while not self.stop:
            n += 1
            start = time.monotonic()
            try:
                s.sendall(frame(json.dumps({"type": "ping", "id": f"b{n}"})))
                while True:
                    m = reader.json()
                    if m is None:
                        raise RuntimeError("bystander lost its connection")
                    if m.get("type") == "pong" and m.get("id") == f"b{n}":
                        break
                self.samples.append((start, time.monotonic() - start))
            except Exception:
                self.errors += 1
                time.sleep(0.1)
                try:
                    s, status, _ = connect()
                    reader = Reader(s)
                    reader.json()
                except Exception:
                    pass
            time.sleep(0.01)

    def p99(self, since, until):
        values = sorted(d for t, d in self.samples if since <= t <= until)
        if not values:
            return None
        return values[min(len(values) - 1, int(len(values) * 0.99))] * 1000


class RSSWatch(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def rss(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, self.rss())
            except OSError:
                return
            time.sleep(0.02)


# --- attacks: each returns a sentence saying what the server did ---

def lockout():
    socks = []
    for _ in range(300):
        s = socket.create_connection((HOST, PORT))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    time.sleep(6.5)
    closed = 0
    for s in socks:
        s.settimeout(0.5)
        try:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed += 1
                    break
                data += chunk
        except (socket.timeout, ConnectionError):
            if isinstance(sys.exc_info()[1], ConnectionError):
                closed += 1
        s.close()
    return f"300 idle /healthz clients: {closed} closed by the server after closeTimeout"


def unknown_ids():
    s, _, _ = connect()
    r = Reader(s)
    r.json()
    ids = [f"missing-{i}" for i in range(300_000)]
    start = time.monotonic()
    for k in range(3):
        s.sendall(frame(json.dumps({"type": "context_compress", "id": f"c{k}", "timeout": 1000,
                                    "data": {"memoryIds": ids, "budgetTokens": 100}})))
    codes = []
    while len(codes) < 3:
        m = r.json()
        if m is None:
            break
        if m.get("type") == "error":
            codes.append(m["code"])
    msg = m.get("message", "") if m else ""
    return f"3 × 300 000 unknown ids: {', '.join(codes)} in {int((time.monotonic()-start)*1000)} ms ({msg[:60]})"


def huge_query():
    s, _, _ = connect()
    r = Reader(s)
    r.json()
    q = " ".join(f"t{i}" for i in range(1_000_000))
    start = time.monotonic()
    s.sendall(frame(json.dumps({"type": "memory_search", "id": "q", "timeout": 1000, "data": {"query": q}})))
    m = r.json()
    while m and m.get("type") != "error" and not m.get("type", "").endswith("_complete"):
        m = r.json()
    return f"1 M-term search: {m.get('code') if m else None} in {int((time.monotonic()-start)*1000)} ms"


def ping_flood():
    s, _, _ = connect()
    s.setblocking(False)
    end, sent = time.monotonic() + 5, 0
    f = frame(b"x" * 100, opcode=9) * 100
    while time.monotonic() < end:
        try:
            sent += s.send(f)
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            break
    s.close()
    return f"ping flood, never reading: {sent >> 20} MiB of pings accepted in 5 s (TCP backpressure, one pending pong)"


def amplification():
    s, status, head = connect(deflate=True)
    if "permessage-deflate" not in head:
        return "deflate not negotiated"
    r = Reader(s)
    r.json()
    body = json.dumps({"type": "nope", "id": "x", "data": {"pad": "a" * ((16 << 20) - 100)}}).encode()
    f = frame(deflated(body), rsv1=True)
    start = time.monotonic()
    t = threading.Thread(target=lambda: [s.sendall(f) for _ in range(120)], daemon=True)
    t.start()
    answered = 0
    s.settimeout(120)
    while answered < 120:
        m = r.json()
        if m is None:
            break
        if m.get("code") == "unknown_operation":
            answered += 1
    return f"120 × 16 KB deflated → 16 MB each: {answered} answered (unknown_operation) in {time.monotonic()-start:.1f} s, read as the session caught up"


def never_reading(path):
    s, _, _ = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    end, sent = time.monotonic() + 40, 0
    if path == "/ws/echo":
        payload = frame(b"y" * (1 << 20), opcode=2)
    else:
        payload = b"".join(frame(json.dumps({"type": "memory_search", "id": f"n{i}", "data": {"query": "tea coffee project", "limit": 1000}})) for i in range(16))
    outcome = "still open after 40 s"
    while time.monotonic() < end:
        try:
            sent += s.send(payload)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError as e:
            outcome = f"closed by the server ({e.__class__.__name__})"
            break
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                outcome = "closed by the server"
                break
        except BlockingIOError:
            pass
        except OSError:
            outcome = "reset by the server"
            break
    s.close()
    return f"never-reading peer on {path}: sent {sent >> 20} MiB, {outcome}"


def tiny_flood():
    s, _, _ = connect()
    r = Reader(s)
    r.json()
    f = frame('{"type":"ping"}') * 1000
    sent = 0
    stopper = {"stop": False}

    def pump():
        nonlocal sent
        try:
            while not stopper["stop"]:
                s.sendall(f)
                sent += 1000
        except OSError:
            pass
    threading.Thread(target=pump, daemon=True).start()
    limited, pongs, start = 0, 0, time.monotonic()
    s.settimeout(20)
    while True:
        m = r.json()
        if m is None:
            result = "dropped"
            break
        if m.get("type") == "__close__":
            result = f"closed {m['code']}"
            break
        if m.get("code") == "rate_limited":
            limited += 1
        elif m.get("type") == "pong":
            pongs += 1
        if time.monotonic() - start > 15:
            result = "still open"
            break
    stopper["stop"] = True
    return f"tiny-message flood (rate limit): {pongs} pongs, {limited} rate_limited, then {result} after {time.monotonic()-start:.1f} s"


def declared_2gib():
    s, _, _ = connect()
    r = Reader(s)
    r.json()
    s.sendall(frame(b"", opcode=2, declared=2 << 30)[:14])
    return f"2 GiB declared frame: close {close_code(r)}"


def deflate_bomb():
    s, status, head = connect(deflate=True)
    r = Reader(s)
    r.json()
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = b""
    chunk = b"\0" * (1 << 20)
    for _ in range(1024):
        data += c.compress(chunk)
    data += c.flush(zlib.Z_SYNC_FLUSH)
    try:
        s.sendall(frame(data[:-4], rsv1=True))
    except ConnectionError:
        pass  # the server may close before the whole frame is sent; its close frame is already in our buffer
    return f"1 GiB deflate bomb ({len(data) >> 10} KiB on the wire): close {close_code(r)}"


def count_final_replies(s, r, expected):
    """Reads until `expected` final replies (errors or *_complete) or a close; returns them counted by kind."""
    counts, done = {}, 0
    s.settimeout(30)
    while done < expected:
        m = r.json()
        if m is None or m.get("type") == "__close__":
            counts["closed"] = 1
            break
        if m.get("type") == "error" or m.get("type", "").endswith("_complete"):
            key = m.get("code", m.get("type"))
            counts[key] = counts.get(key, 0) + 1
            done += 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))


def same_id():
    s, _, _ = connect()
    r = Reader(s)
    r.json()
    s.sendall(b"".join(frame('{"type":"memory_search","id":"same","data":{"query":"tea"}}') for _ in range(10_000)))
    return "10 000 requests with one id: " + count_final_replies(s, r, 10_000)


def burst():
    s, _, _ = connect()
    r = Reader(s)
    r.json()
    s.sendall(b"".join(frame(json.dumps({"type": "memory_search", "id": f"r{i}", "data": {"query": "tea"}})) for i in range(2000)))
    return "burst of 2 000 requests: " + count_final_replies(s, r, 2000)


def slowloris():
    socks = []
    for _ in range(1000):
        try:
            s = socket.create_connection((HOST, PORT))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            break
    time.sleep(4)
    got408 = 0
    for s in socks:
        s.settimeout(1)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 408"):
                got408 += 1
        except OSError:
            pass
        s.close()
    return f"slowloris, {len(socks)} connections: {got408} got 408 after handshakeTimeout"


def rate_limited_server():
    """The tiny-message flood against a second router-host whose rate limit this client can exceed
    (messagesPerSecond 2000, burst 1000): one client here cannot outrun the default of 50 000/s."""
    global PORT
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"server": {"host": HOST, "port": PORT + 1, "echoPath": "/ws/echo"}, "limits": {"messagesPerSecond": 2000, "messageBurst": 1000},
               "logging": {"level": "error"}}, config)
    config.close()
    other = subprocess.Popen([BIN, "--config", config.name], stderr=subprocess.DEVNULL)
    main_port = PORT
    try:
        PORT = main_port + 1
        time.sleep(0.5)
        if other.poll() is not None:
            return f"could not start the second router-host on port {PORT}"
        for _ in range(200):
            try:
                socket.create_connection((HOST, PORT)).close()
                break
            except OSError:
                time.sleep(0.05)
        return tiny_flood().replace("tiny-message flood (rate limit)", "flood over 2 000/s (own server)")
    finally:
        PORT = main_port
        other.terminate()
        other.wait(timeout=30)
        os.unlink(config.name)


def descriptors(pid):
    """Lowers the running server's RLIMIT_NOFILE to what it uses plus 64 (prlimit on its pid), opens
    400 connections so accept4 fails with EMFILE, then frees them and times a new client's welcome."""
    used = len(os.listdir(f"/proc/{pid}/fd"))
    original = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (used + 64, original[1]))
    held = []
    try:
        for _ in range(400):
            try:
                s = socket.create_connection((HOST, PORT), timeout=2)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                held.append(s)
            except OSError:
                break
        time.sleep(2)  # the bystander keeps pinging on its open connection meanwhile
        at_limit = len(os.listdir(f"/proc/{pid}/fd"))
        opened = len(held)
        answered = 0
        for s in held:
            s.settimeout(0.2)
            try:
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    answered += 1
            except OSError:
                pass
        for s in held:
            s.close()
        held = []
        start = time.monotonic()
        recovered = None
        while time.monotonic() - start < 15:
            try:
                c, status, _ = connect(timeout=2)
                c.settimeout(2)
                if status == 101 and (Reader(c).json() or {}).get("type") == "welcome":
                    recovered = time.monotonic() - start
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            time.sleep(0.05)
        after = f"a new client got its welcome {recovered * 1000:.0f} ms after they closed" if recovered is not None else "no new client served within 15 s"
        return (f"RLIMIT_NOFILE {used + 64} ({used} in use): {opened} connections, {answered} answered, "
                f"the rest waited in the backlog at {at_limit} fds (EMFILE, accepts backed off); {after}")
    finally:
        for s in held:
            s.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, original)


def origin():
    s, status, _ = connect(headers=[("Origin", "http://evil.example")])
    return f"cross-site upgrade (Origin: http://evil.example): {status}"


def port_sharing(config):
    p = subprocess.run([BIN, "--config", config], capture_output=True, text=True, timeout=20)
    line = (p.stderr.strip().splitlines() or ["?"])[-1]
    return f"second router-host on the same port: exit {p.returncode} ({line[:70]})"


def main():
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"server": {"host": HOST, "port": PORT, "echoPath": "/ws/echo", "handshakeTimeoutMs": 3000, "closeTimeoutMs": 5000},
               "limits": {"slowConsumerTimeoutMs": 5000, "maxConnectionsPerAddress": 0},
               "logging": {"level": "error"}}, config)
    config.close()
    server = subprocess.Popen([BIN, "--config", config.name], stderr=subprocess.DEVNULL)
    for _ in range(200):
        if server.poll() is not None:
            sys.exit(f"router-host exited with {server.returncode} (port {PORT} in use?)")
        try:
            socket.create_connection((HOST, PORT)).close()
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.5)
    if server.poll() is not None:
        sys.exit(f"router-host exited with {server.returncode}: port {PORT} is taken by another process")
    rss = RSSWatch(server.pid)
    rss.start()
    bystander = Bystander()
    bystander.start()
    time.sleep(3)
    idle = bystander.p99(0, time.monotonic())
    attacks = [
        ("1 lockout after HTTP answers", lockout),
        ("2 quadratic unknown ids", unknown_ids),
        ("2 1 M-term query", huge_query),
        ("3 ping flood", ping_flood),
        ("4 compressed amplification", amplification),
        ("5 never-reading peer, echo", lambda: never_reading("/ws/echo")),
        ("  never-reading peer, router", lambda: never_reading("/ws/memory")),
        ("6 port sharing", lambda: port_sharing(config.name)),
        ("7 burst over 1 024", burst),
        ("8 cross-site hijack", origin),
        ("  slowloris", slowloris),
        ("  tiny-message flood (default limit)", tiny_flood),
        ("  rate-limit flood", rate_limited_server),
        ("  2 GiB declared frame", declared_2gib),
        ("  deflate bomb", deflate_bomb),
        ("  10 000 requests, same id", same_id),
        ("  descriptors exhausted", lambda: descriptors(server.pid)),
    ]
    print(f"load: {open('/proc/loadavg').read().strip()}   cores: {os.cpu_count()}")
    print(f"idle bystander p99: {idle:.2f} ms")
    print(f"| attack | what the server did | bystander p99 during (idle) | peak RSS |")
    print(f"|---|---|---|---|")
    for name, attack in attacks:
        time.sleep(1)
        rss.peak = rss.rss()
        start = time.monotonic()
        try:
            outcome = attack()
        except Exception as e:
            outcome = f"attack failed: {e!r}"
        end = time.monotonic()
        p99 = bystander.p99(start, end)
        p99_text = f"{p99:.1f} ms" if p99 is not None else "no sample"
        print(f"| {name} | {outcome} | {p99_text} ({idle:.1f} ms) | {rss.peak >> 20} MiB |", flush=True)
    bystander.stop = True
    rss.stop = True
    print(f"bystander errors (lost connection or no answer): {bystander.errors}")
    server.terminate()
    server.wait(timeout=30)
    os.unlink(config.name)


main()
