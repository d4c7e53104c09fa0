import Foundation
import MemoryStore
import RouterCore

/// Why the host could not prepare its shared services.
struct HostStartupError: Error, CustomStringConvertible {
    let description: String
}

enum HostServices {
    /// The shared services plugins find in `OperationContext.services`: the MemoryStore.
    /// With `memory.dataDirectory` the store is durable (a torn tail found on open is reported in the log);
    /// without it the store lives in memory. An empty store is seeded with the bundled sample memories
    /// when `memory.loadSamples` is true.
    static func make(_ configuration: RouterConfiguration, logger: Logger) async throws -> (ServiceRegistry, MemoryStore) {
        let memory = configuration.memory
        let store: MemoryStore
        if let directory = memory.dataDirectory {
            let fsync: FsyncPolicy
            switch memory.fsync {
            case "never": fsync = .never
            case "interval": fsync = .interval(.milliseconds(memory.fsyncIntervalMs))
            default: fsync = .always
            }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let (opened, report) = try MemoryStore.open(directory: directory, dimension: memory.embeddingDimension, fsync: fsync)
                if report.isClean {
                    logger.info("memory store \(directory): \(report.entriesLoaded) entries")
                } else {
                    logger.warning("memory store \(directory) recovered: \(report)")
                }
                store = opened
            } catch {
                throw HostStartupError(description: "cannot open the memory store in \(directory): \(error)")
            }
        } else {
            store = MemoryStore.inMemory(dimension: memory.embeddingDimension)
        }
        if memory.loadSamples, store.count == 0 {
            let samples = try sampleMemories()
            try store.upsert(samples)
            logger.info("loaded \(samples.count) sample memories")
        }
        var services = ServiceRegistry()
        services.register(store)
        return (services, store)
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
