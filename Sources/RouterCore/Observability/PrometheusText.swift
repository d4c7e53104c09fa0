/// Renders ``OperationMetrics`` in the Prometheus text exposition format 0.0.4
/// (content type `text/plain; version=0.0.4; charset=utf-8`).
///
/// Every family has `# HELP` and `# TYPE`; label values escape `\`, `"` and newline; histogram
/// buckets are cumulative and end with `le="+Inf"`, followed by `_sum` and `_count`.
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(_ snapshot: OperationMetrics.Snapshot) -> String {
        var out = ""
        let types = snapshot.operations.keys.sorted()

        func family(_ name: String, _ type: String, _ help: String, _ value: (OperationMetrics.OperationCounters) -> Int) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for op in types {
                out += "\(name){op=\"\(escapeLabelValue(op))\"} \(value(snapshot.operations[op]!))\n"
            }
        }
        family("router_operations_started_total", "counter", "Operations started.") { $0.started }
        family("router_operations_completed_total", "counter", "Operations that completed successfully.") { $0.completed }
        family("router_operations_failed_total", "counter", "Operations whose handler threw.") { $0.failed }
        family("router_operations_timed_out_total", "counter", "Operations ended by their timeout.") { $0.timedOut }
        family("router_operations_cancelled_total", "counter", "Operations cancelled by the client or a closed connection.") {
            $0.cancelled
        }
        family("router_operations_in_flight", "gauge", "Operations currently running.") { $0.inFlight }
        family(
            "router_handlers_overrunning", "gauge",
            "Handlers still running after their request timed out or was cancelled (they ignore cancellation)."
        ) { $0.overrunning }
        family("router_handler_overruns_total", "counter", "Handlers that kept running after their request ended.") {
            $0.overruns
        }
        family("router_operation_bytes_out_total", "counter", "Bytes of messages sent for operations.") { $0.bytesOut }

        let histogram = "router_operation_duration_seconds"
        out += "# HELP \(histogram) Time from request to final message.\n# TYPE \(histogram) histogram\n"
        for op in types {
            let counters = snapshot.operations[op]!
            let label = escapeLabelValue(op)
            var cumulative = 0
            for (index, bound) in OperationMetrics.latencyBuckets.enumerated() {
                cumulative += counters.latencyBucketCounts[index]
                out += "\(histogram)_bucket{op=\"\(label)\",le=\"\(formatNumber(bound))\"} \(cumulative)\n"
            }
            cumulative += counters.latencyBucketCounts[OperationMetrics.latencyBuckets.count]
            out += "\(histogram)_bucket{op=\"\(label)\",le=\"+Inf\"} \(cumulative)\n"
            out += "\(histogram)_sum{op=\"\(label)\"} \(formatNumber(counters.latencySumSeconds))\n"
            out += "\(histogram)_count{op=\"\(label)\"} \(cumulative)\n"
        }

        out += "# HELP router_requests_rejected_total Requests answered with an error before running.\n"
        out += "# TYPE router_requests_rejected_total counter\n"
        for code in snapshot.rejected.keys.sorted() {
            out += "router_requests_rejected_total{code=\"\(escapeLabelValue(code))\"} \(snapshot.rejected[code]!)\n"
        }
        out += "# HELP router_connections_opened_total WebSocket connections opened.\n"
        out += "# TYPE router_connections_opened_total counter\n"
        out += "router_connections_opened_total \(snapshot.connectionsOpened)\n"
        out += "# HELP router_connections_current WebSocket connections open now.\n"
        out += "# TYPE router_connections_current gauge\n"
        out += "router_connections_current \(snapshot.connectionsCurrent)\n"
        let sessions = snapshot.sessions
        func single(_ name: String, _ type: String, _ help: String, _ value: Int) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        single("router_sessions_detached_total", "counter", "Sessions whose connection dropped while resume was possible.", sessions.detached)
        single("router_sessions_resumed_total", "counter", "Detached sessions taken over by a resume.", sessions.resumed)
        single("router_sessions_expired_total", "counter", "Detached sessions whose resume window ran out.", sessions.expired)
        single("router_sessions_detached", "gauge", "Detached sessions waiting for a resume.", sessions.detachedCurrent)
        single("router_replay_buffer_bytes", "gauge", "Bytes held in session replay buffers.", sessions.replayBufferBytes)
        out += "# HELP router_resume_failures_total Resumes refused, by reason.\n"
        out += "# TYPE router_resume_failures_total counter\n"
        for reason in sessions.resumeFailures.keys.sorted() {
            out += "router_resume_failures_total{reason=\"\(escapeLabelValue(reason))\"} \(sessions.resumeFailures[reason]!)\n"
        }
        return out
    }

    /// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
    static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func formatNumber(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(describing: value)
    }
}
