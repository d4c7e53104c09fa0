import Foundation
import Testing

@testable import RouterCore

@Suite struct PrometheusTextTests {
    @Test func rendersCountersGaugesAndACumulativeHistogram() {
        let metrics = OperationMetrics()
        metrics.connectionOpened()
        metrics.connectionOpened()
        metrics.connectionClosed()
        metrics.operationStarted("memory_search")
        metrics.operationStarted("memory_search")
        metrics.operationStarted("memory_search")
        metrics.operationFinished("memory_search", outcome: .completed, duration: .milliseconds(30))
        metrics.operationFinished("memory_search", outcome: .timedOut, duration: .seconds(200))
        metrics.bytesSent("memory_search", count: 120)
        metrics.requestRejected(code: "overloaded")
        let text = metrics.prometheusText()
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "# TYPE router_operations_started_total counter",
            #"router_operations_started_total{op="memory_search"} 3"#,
            #"router_operations_completed_total{op="memory_search"} 1"#,
            #"router_operations_timed_out_total{op="memory_search"} 1"#,
            #"router_operations_failed_total{op="memory_search"} 0"#,
            #"router_operations_in_flight{op="memory_search"} 1"#,
            #"router_operation_bytes_out_total{op="memory_search"} 120"#,
            "# TYPE router_operation_duration_seconds histogram",
            #"router_operation_duration_seconds_bucket{op="memory_search",le="0.025"} 0"#,
            #"router_operation_duration_seconds_bucket{op="memory_search",le="0.05"} 1"#,
            #"router_operation_duration_seconds_bucket{op="memory_search",le="120"} 1"#,
            #"router_operation_duration_seconds_bucket{op="memory_search",le="+Inf"} 2"#,
            #"router_operation_duration_seconds_sum{op="memory_search"} 200.03"#,
            #"router_operation_duration_seconds_count{op="memory_search"} 2"#,
            #"router_requests_rejected_total{code="overloaded"} 1"#,
            "router_connections_opened_total 2",
            "router_connections_current 1",
        ] {
            #expect(lines.contains(expected), "missing line: \(expected)")
        }
        // Every sample line belongs to a family announced with HELP and TYPE.
        let families = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        for line in lines where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            let family = name.replacing(/_(bucket|sum|count)$/, with: "")
            #expect(families.contains(Substring(family)) || families.contains(name), "\(line)")
        }
        #expect(text.hasSuffix("\n"))
    }

    @Test func escapesLabelValues() {
        #expect(PrometheusText.escapeLabelValue("a\\b\"c\nd") == #"a\\b\"c\nd"#)
        let metrics = OperationMetrics()
        metrics.operationStarted("we\"ird")
        #expect(metrics.prometheusText().contains(#"router_operations_started_total{op="we\"ird"} 1"#))
    }
}

private final class Capture: LogHandler, @unchecked Sendable {
    let lock = NSLock()
    var records: [LogRecord] = []
    func log(_ record: LogRecord) { lock.withLock { records.append(record) } }
}

@Suite struct LoggerTests {
    /// A request's logger carries `op.id` and `op.type` in every record and in `metadata`, without copying
    /// the session's metadata until then; later edits keep them.
    @Test func aRequestLoggerAddsItsKeysToEveryRecord() {
        let capture = Capture()
        var session = Logger(label: "t", level: .debug, handler: capture)
        session[metadataKey: "session.id"] = "s1"
        var request = session.forRequest(id: "r7", type: "memory_search")
        #expect(session[metadataKey: "op.id"] == nil)
        #expect(request.metadata == ["session.id": "s1", "op.id": "r7", "op.type": "memory_search"])
        request.info("one", metadata: ["k": "v"])
        request[metadataKey: "extra"] = "x"
        request.info("two")
        let records = capture.lock.withLock { capture.records }
        #expect(records.map(\.metadata) == [
            ["session.id": "s1", "op.id": "r7", "op.type": "memory_search", "k": "v"],
            ["session.id": "s1", "op.id": "r7", "op.type": "memory_search", "extra": "x"],
        ])
    }

    @Test func levelsAndMetadataAreValues() {
        let capture = Capture()
        var logger1 = Logger(label: "t", level: .debug, handler: capture)
        logger1[metadataKey: "session.id"] = "s1"
        var logger2 = logger1
        logger2.logLevel = .error
        logger2[metadataKey: "op.id"] = "r1"
        #expect(logger1.logLevel == .debug)
        #expect(logger1[metadataKey: "op.id"] == nil)

        var evaluated = false
        logger2.info({ evaluated = true; return "dropped" }())
        #expect(!evaluated, "a disabled level must not evaluate its message")
        logger1.debug("kept", metadata: ["k": "v"])
        #expect(capture.records.count == 1)
        #expect(capture.records.first?.metadata == ["session.id": "s1", "k": "v"])
    }

    @Test func rendersTextAndJSONLines() throws {
        let record = LogRecord(
            timestamp: Date(timeIntervalSince1970: 0), level: .notice, label: "router", message: "timed \"out\"",
            metadata: ["op.id": "r1"])
        let text = String(decoding: StderrLogHandler.render(record, format: .text), as: UTF8.self)
        #expect(text == #"1970-01-01T00:00:00.000Z notice router: timed "out" op.id=r1"#)
        let json = try JSONValue(jsonBytes: StderrLogHandler.render(record, format: .json))
        #expect(json["message"] == .string(#"timed "out""#))
        #expect(json["level"] == .string("notice"))
        #expect(json["metadata"] == .object(["op.id": .string("r1")]))
    }

    /// Levels order from most verbose to most severe, as declared; a logger passes its level and above.
    @Test func levelsOrderAsDeclared() {
        let levels = Logger.Level.allCases
        for (index, level) in levels.enumerated() {
            for (otherIndex, other) in levels.enumerated() {
                #expect((level < other) == (index < otherIndex), "\(level) < \(other)")
            }
        }
        #expect(levels.first == .trace && levels.last == .critical)
    }
}
