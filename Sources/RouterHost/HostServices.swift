import Foundation
import MemoryStore
import RouterCore

/// Why the host could not prepare its shared services.
struct HostStartupError: Error, CustomStringConvertible {
    let description: String
}

enum HostServices {
    /// What ``make(_:logger:metrics:)`` registers: handlers may require these (``OperationHandler/requiredServices``).
    static let providedKeys: Set<ServiceKey> = [ServiceKey(MemoryStore.self)]

    /// The shared services plugins find in `OperationContext.services`: the MemoryStore.
    ///
    /// With `memory.dataDirectory` the store is durable: a torn last record found on open is cut off and
    /// logged with its size; any other damage stops the host before it listens, with the file, offset, record
    /// number, how many valid records follow, and the repair command. Without it the store lives in memory.
    /// The bundled sample memories are loaded (when `memory.loadSamples`) only into a store that never held
    /// data: an in-memory store, or a data directory that had no log file — never after a recovery.
    /// Compaction runs in the background (`memory.compaction*`), logged and exported to `metrics`.
    static func make(_ configuration: RouterConfiguration, logger: Logger, metrics: OperationMetrics = OperationMetrics())
        async throws -> (ServiceRegistry, MemoryStore)
    {
        let memory = configuration.memory
        if memory.backend == "redis" { return try await RedisBackendServices.make(configuration, logger: logger, metrics: metrics) }
        let store: MemoryStore
        let neverHeldData: Bool
        if let directory = memory.dataDirectory {
            let fsync: FsyncPolicy
            switch memory.fsync {
            case "never": fsync = .never
            case "interval": fsync = .interval(.milliseconds(memory.fsyncIntervalMs))
            default: fsync = .always
            }
            let compaction = CompactionPolicy(
                deadRatio: Double(memory.compactionDeadPercent) / 100, minimumBytes: memory.compactionMinBytes,
                enabled: memory.compaction)
            let report: OpenReport
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                (store, report) = try MemoryStore.open(
                    directory: directory, dimension: memory.embeddingDimension, fsync: fsync, compaction: compaction)
            } catch let error as MemoryStoreError where error.code == .corrupt {
                throw HostStartupError(
                    description: "the memory log is damaged: \(error.damage.map(String.init(describing:)) ?? error.message).\n"
                        + "Nothing was changed and the host did not start. To keep every intact record, stop anything "
                        + "using \(directory) and run:\n  router-host repair --data \(directory)\n"
                        + "It copies the log to \(MemoryStore.logFileName).corrupt-<time> first, then reports what it kept and lost.")
            } catch let error as MemoryStoreError {
                throw HostStartupError(description: "cannot open the memory store in \(directory): \(error.message)")
            } catch {
                throw HostStartupError(description: "cannot open the memory store in \(directory): \(error)")
            }
            if let truncation = report.truncation {
                logger.warning(
                    "memory store \(directory): torn tail repaired: cut \(report.bytesTruncated) bytes (an incomplete last record) at \(truncation.reason)")
            }
            if report.newerRecordsSkipped > 0 {
                logger.warning(
                    "memory store \(directory): skipped \(report.newerRecordsSkipped) record(s) written by a newer build (kept in the log; compaction disabled)")
            }
            logger.info("memory store \(directory): \(report.entriesLoaded) entries, fsync \(fsync)")
            neverHeldData = report.created
            observeCompaction(store, logger: logger, metrics: metrics)
        } else {
            store = MemoryStore.inMemory(dimension: memory.embeddingDimension)
            neverHeldData = true
            logger.notice("memory store: in memory only (no --data directory): nothing is kept after exit")
        }
        if memory.loadSamples, neverHeldData, store.count == 0 {
            let samples = try sampleMemories()
            try store.upsert(samples)
            logger.info("loaded \(samples.count) sample memories")
        }
        var services = ServiceRegistry()
        services.register(store)
        return (services, store)
    }

    /// Logs background compactions and exports their gauges on `/metrics`.
    static func observeCompaction(_ store: MemoryStore, logger: Logger, metrics: OperationMetrics) {
        store.onCompaction { event in
            switch event {
            case .started(let logBytes, let deadBytes):
                logger.info("memory store compaction started: log \(logBytes) bytes, \(deadBytes) dead")
            case .completed(let report):
                logger.info(
                    "memory store compacted: \(report.bytesBefore) → \(report.bytesAfter) bytes, \(report.entries) entries, took \(report.duration), writers paused \(report.pause)")
            case .failed(let error):
                logger.error("memory store compaction failed (the old log stays in use): \(error.message)")
            }
        }
        metrics.addCollector { CompactionMetrics.render(store.compactionStatistics) }
    }

    /// Flushes and closes the store (after the router stopped); logs a failure instead of throwing.
    static func close(_ store: MemoryStore, logger: Logger) {
        do {
            try store.close()
            if let directory = store.directory { logger.info("memory store \(directory) synced and closed") }
        } catch {
            logger.error("memory store could not be closed cleanly: \(error.message)")
        }
    }

    /// The bundled sample set (a few hundred assistant memories).
    static func sampleMemories() throws -> [MemoryEntry] {
        guard let url = Bundle.module.url(forResource: "sample-memories", withExtension: "json"),
            let data = FileManager.default.contents(atPath: url.path)
        else {
            throw HostStartupError(description: "the bundled sample memories are missing")
        }
        return try JSONDecoder().decode([MemoryEntry].self, from: data)
    }
}

/// The memory store's compaction gauges in Prometheus text.
enum CompactionMetrics {
    static func render(_ statistics: CompactionStatistics) -> String {
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("memory_store_log_bytes", "gauge", "Size of the memory log file.", "\(statistics.logBytes)")
        metric("memory_store_dead_bytes", "gauge", "Bytes of the log held by superseded or deleted records.", "\(statistics.deadBytes)")
        metric("memory_store_compactions_total", "counter", "Compactions completed.", "\(statistics.completed)")
        metric("memory_store_compaction_failures_total", "counter", "Compactions that failed.", "\(statistics.failed)")
        metric("memory_store_compaction_running", "gauge", "1 while a compaction runs.", statistics.running ? "1" : "0")
        metric(
            "memory_store_compaction_reclaimed_bytes_total", "counter", "Bytes removed from the log by compactions.",
            "\(statistics.bytesReclaimed)")
        if let last = statistics.last {
            metric(
                "memory_store_last_compaction_seconds", "gauge", "Duration of the last compaction.",
                "\(Double(last.duration.components.seconds) + Double(last.duration.components.attoseconds) / 1e18)")
            metric(
                "memory_store_last_compaction_pause_seconds", "gauge", "How long the last compaction blocked writers.",
                "\(Double(last.pause.components.seconds) + Double(last.pause.components.attoseconds) / 1e18)")
        }
        return text
    }
}
