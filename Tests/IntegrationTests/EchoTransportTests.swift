import Foundation
import RouterClient
import RouterCore
import Testing

@Suite("Transport over loopback: echo endpoint, real sockets, real zlib")
struct EchoTransportTests {
    @Test func echoesTextAndBinaryMessages() async throws {
        try await withEchoServer { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
            try client.send(text: "héllo wörld")
            #expect(try await client.next() == .text("héllo wörld"))
            let binary = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try client.send(binary: binary)
            #expect(try await client.next() == .binary(binary))
            try client.send(text: "")
            #expect(try await client.next() == .text(""))
        }
    }

    @Test func manyMessagesInOneWriteAreAllEchoedInOrder() async throws {
        try await withEchoServer { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
            var batch: [UInt8] = []
            for index in 0..<500 {
                batch += FrameEncoder.encode(
                    WebSocketFrame(opcode: .text, payload: Array("message \(index)".utf8)), maskingKey: (1, 2, 3, 4))
            }
            try client.sendRaw(batch)
            for index in 0..<500 {
                #expect(try await client.next() == .text("message \(index)"))
            }
        }
    }

    @Test func fragmentedMessageWithInterleavedPingIsReassembled() async throws {
        try await withEchoServer { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
            try client.send(frame: WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)))
            try client.send(frame: WebSocketFrame(opcode: .ping, payload: [7, 7]))
            try client.send(frame: WebSocketFrame(fin: true, opcode: .continuation, payload: Array("lo".utf8)))
            #expect(try await client.next() == .pong([7, 7]))
            #expect(try await client.next() == .text("Hello"))
        }
    }

    @Test func closeHandshakeEchoesTheCodeAndTheServerDropsTCP() async throws {
        try await withEchoServer { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
            try client.close(code: 1000, reason: "bye")
            #expect(try await client.next() == .close(code: 1000, reason: ""))
            #expect(try await client.next() == .disconnected)
        }
    }

    @Test(arguments: [
        ("unmasked frame", [0x81, 0x02, 0x68, 0x69] as [UInt8], UInt16(1002)),
        ("reserved opcode", [0x83, 0x80, 1, 2, 3, 4], 1002),
        ("RSV2 without extension", [0xA1, 0x80, 1, 2, 3, 4], 1002),
        ("fragmented ping", [0x09, 0x80, 1, 2, 3, 4], 1002),
        ("oversized frame header only", [0x82, 0xFF, 0, 0, 0, 0, 0x10, 0, 0, 0, 1, 2, 3, 4], 1009),
        ("invalid UTF-8", [0x81, 0x82, 0, 0, 0, 0, 0xC0, 0xAF], 1007),
        ("close code 1005 on the wire", [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xED], 1002),
    ])
    func protocolViolationsCloseWithTheRightCode(name: String, bytes: [UInt8], code: UInt16) async throws {
        try await withEchoServer { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
            try client.sendRaw(bytes)
            let event = try await client.next()
            guard case .close(let received, _) = event else {
                Issue.record("\(name): expected a close frame, got \(String(describing: event))")
                return
            }
            #expect(received == code, "\(name)")
            #expect(try await client.next() == .disconnected)
        }
    }

    @Test func oversizedMessageAcrossFramesClosesWith1009() async throws {
        try await withEchoServer({ $0.maxMessageBytes = 1000 }) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
            try client.send(frame: WebSocketFrame(fin: false, opcode: .binary, payload: [UInt8](repeating: 1, count: 600)))
            try client.send(frame: WebSocketFrame(fin: true, opcode: .continuation, payload: [UInt8](repeating: 1, count: 600)))
            #expect(try await client.next() == .close(code: 1009, reason: "message exceeds the limit of 1000 bytes"))
        }
    }

    @Test func permessageDeflateRoundTripsWithRealZlib() async throws {
        try await withEchoServer({ $0.perMessageDeflate.threshold = 64 }) { server in
            let client = try WebSocketClient.connect(
                port: server.port, path: "/ws/echo", options: { var o = WebSocketClient.Options(); o.offerDeflate = true; return o }())
            #expect(client.usesDeflate)
            let text = String(repeating: "memory router compresses large payloads. ", count: 5000)
            try client.send(text: text)
            #expect(try await client.next() == .text(text))
            try client.send(text: "short", compress: false)
            #expect(try await client.next() == .text("short"))
        }
    }

    @Test func decompressionBombClosesWith1009() async throws {
        try await withEchoServer({ $0.maxMessageBytes = 1 << 20 }) { server in
            let client = try WebSocketClient.connect(
                port: server.port, path: "/ws/echo", options: { var o = WebSocketClient.Options(); o.offerDeflate = true; return o }())
            // 64 MiB of zeros compresses to about 64 KiB.
            try client.send(binary: [UInt8](repeating: 0, count: 64 << 20))
            let event = try await client.next(timeout: .seconds(30))
            guard case .close(let code, _) = event else {
                Issue.record("expected close, got \(String(describing: event))")
                return
            }
            #expect(code == 1009)
        }
    }

    @Test func serverPingsAndClosesASilentPeer() async throws {
        try await withEchoServer({
            $0.heartbeatInterval = .milliseconds(100)
            $0.heartbeatTimeout = .milliseconds(100)
        }) { server in
            var options = WebSocketClient.Options()
            options.answerPings = false
            // Taken before connecting: the server counts silence from its last read, the upgrade request,
            // which comes before `connect` returns.
            let start = ContinuousClock.now
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo", options: options)
            #expect(try await client.next() == .ping([]))
            var closeCode: UInt16?
            var closeReason = ""
            while let event = try await client.next() {
                if case .close(let code, let reason) = event {
                    closeCode = code
                    closeReason = reason
                    break
                }
            }
            #expect(closeCode == 1001)
            #expect(closeReason.hasPrefix("heartbeat timeout"))
            #expect(ContinuousClock.now - start >= .milliseconds(200))
        }
    }

    @Test func aPeerThatAnswersPingsStaysConnected() async throws {
        try await withEchoServer({
            // Silence is allowed for 500 ms; the client stays 1.2 s, answering pings only (the margin
            // covers a pong delayed on a loaded machine or under ThreadSanitizer).
            $0.heartbeatInterval = .milliseconds(100)
            $0.heartbeatTimeout = .milliseconds(400)
        }) { server in
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
            var pings = 0
            while pings < 12 {
                if case .ping = try await client.next() { pings += 1 }
            }
            try client.send(text: "still here")
            var echoed = false
            while !echoed {
                let event = try await client.next()
                if event == .text("still here") { echoed = true }
                if case .close = event { break }
            }
            #expect(echoed)
        }
    }

    @Test func handshakeTimeoutClosesASlowlorisConnection() async throws {
        try await withEchoServer({ $0.handshakeTimeout = .milliseconds(200) }) { server in
            let start = ContinuousClock.now
            let response = try rawExchange(port: server.port, Array("GET /ws/echo HTTP/1.1\r\nHost: x\r\n".utf8))
            #expect(response.text.hasPrefix("HTTP/1.1 408"))
            #expect(ContinuousClock.now - start < .seconds(3))
        }
    }

    @Test func healthzAndUnknownPathsOverPlainHTTP() async throws {
        try await withEchoServer { server in
            let health = try rawExchange(port: server.port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(health.text.hasPrefix("HTTP/1.1 200"))
            #expect(health.text.contains(#"{"status":"ok"}"#))
            let missing = try rawExchange(port: server.port, Array("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(missing.text.hasPrefix("HTTP/1.1 404"))
        }
    }

    @Test(arguments: [
        ("Sec-WebSocket-Version", "8", "426"),
        ("Sec-WebSocket-Key", "short", "400"),
        ("Upgrade", "h2c", "400"),
    ])
    func badUpgradesAreRejectedWithTheirStatus(header: String, value: String, status: String) async throws {
        try await withEchoServer { server in
            let response = try rawExchange(port: server.port, upgradeRequest(overriding: [header: value]))
            #expect(response.text.hasPrefix("HTTP/1.1 \(status)"), "\(header): \(value) → \(response.text)")
        }
    }

    @Test func originAllowlistAndBearerToken() async throws {
        try await withEchoServer({
            $0.handshakePolicy = WebSocketHandshakePolicy(allowedOrigins: ["http://good.example"], bearerToken: "s3cret")
        }) { server in
            let badOrigin = try rawExchange(
                port: server.port, upgradeRequest(overriding: ["Origin": "http://evil.example", "Authorization": "Bearer s3cret"]))
            #expect(badOrigin.text.hasPrefix("HTTP/1.1 403"))
            let noToken = try rawExchange(port: server.port, upgradeRequest(overriding: ["Origin": "http://good.example"]))
            #expect(noToken.text.hasPrefix("HTTP/1.1 401"))
            var options = WebSocketClient.Options()
            options.headers = [("Origin", "http://good.example")]
            let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo?token=s3cret", options: options)
            try client.send(text: "authorized")
            #expect(try await client.next() == .text("authorized"))
        }
    }

    @Test func manyConcurrentClientsAcrossLoops() async throws {
        try await withEchoServer { server in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for clientIndex in 0..<40 {
                    group.addTask {
                        let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
                        for message in 0..<50 {
                            try client.send(text: "\(clientIndex)/\(message)")
                            #expect(try await client.next() == .text("\(clientIndex)/\(message)"))
                        }
                        try client.close()
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.totalConnections == 40)
        }
    }

    @Test func shutdownClosesOpenConnectionsWith1001() async throws {
        var configuration = TransportConfiguration()
        configuration.port = 0
        configuration.echoPath = "/ws/echo"
        let server = try WebSocketServer.start(configuration)
        let client = try WebSocketClient.connect(port: server.port, path: "/ws/echo")
        try client.send(text: "x")
        #expect(try await client.next() == .text("x"))
        async let stopped: Void = server.shutdown(drainTimeout: .seconds(2))
        let event = try await client.next()
        #expect(event == .close(code: 1001, reason: "server shutting down"))
        try client.close(code: 1001)
        await stopped
        #expect(server.openConnections == 0)
    }
}
