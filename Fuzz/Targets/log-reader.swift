// Fuzz target: the MemoryStore log reader: AppendOnlyLog.open (LogReader, LogFrame, LogRecord decoding,
// torn-tail truncation, damage reports) on arbitrary file contents, and LogRepair on what it refuses.
// The file lives on an in-memory LogFileSystem, so one run costs no system calls.
import Foundation
import Synchronization

@testable import MemoryStore

/// A directory of files in memory; enough of ``LogFileSystem`` for open, repair and append.
final class MemoryFileSystem: LogFileSystem {
    struct State {
        var files: [Int: [UInt8]] = [:]
        var names: [String: Int] = [:]
        var handles: [Int32: Int] = [:]
        var nextInode = 1
        var nextHandle: Int32 = 3
    }
    let state = Mutex(State())

    func contents(_ path: String) -> [UInt8]? {
        state.withLock { state in state.names[path].flatMap { state.files[$0] } }
    }

    func write(_ path: String, _ bytes: [UInt8]) {
        state.withLock { state in
            let inode = state.names[path] ?? state.nextInode
            if inode == state.nextInode { state.nextInode += 1 }
            state.names[path] = inode
            state.files[inode] = bytes
        }
    }

    private func inode(_ handle: Int32, _ path: String) throws(MemoryStoreError) -> Int {
        guard let inode = state.withLock({ $0.handles[handle] }) else { throw MemoryStoreError(.io, "\(path): bad handle \(handle)") }
        return inode
    }

    func open(_ path: String, create: Bool, truncate: Bool) throws(MemoryStoreError) -> Int32 {
        let handle: Int32? = state.withLock { state in
            if state.names[path] == nil {
                guard create else { return nil }
                state.names[path] = state.nextInode
                state.files[state.nextInode] = []
                state.nextInode += 1
            }
            let inode = state.names[path]!
            if truncate { state.files[inode] = [] }
            let handle = state.nextHandle
            state.nextHandle += 1
            state.handles[handle] = inode
            return handle
        }
        guard let handle else { throw MemoryStoreError(.io, "\(path): no such file") }
        return handle
    }

    func lockExclusive(_ handle: Int32, path: String) throws(MemoryStoreError) {}

    func isCurrent(_ handle: Int32, path: String) -> Bool {
        state.withLock { $0.handles[handle] != nil && $0.handles[handle] == $0.names[path] }
    }

    func append(_ handle: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(MemoryStoreError) {
        let inode = try inode(handle, path)
        state.withLock { $0.files[inode, default: []].append(contentsOf: bytes) }
    }

    func read(_ handle: Int32, at offset: Int, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(MemoryStoreError) -> Int {
        let inode = try inode(handle, path)
        return state.withLock { state in
            let file = state.files[inode] ?? []
            guard offset < file.count else { return 0 }
            let count = min(buffer.count, file.count - offset)
            file.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
            return count
        }
    }

    func fsync(_ handle: Int32, path: String) throws(MemoryStoreError) { _ = try inode(handle, path) }

    func truncate(_ handle: Int32, to size: Int, path: String) throws(MemoryStoreError) {
        let inode = try inode(handle, path)
        state.withLock { state in
            var file = state.files[inode] ?? []
            if size < file.count { file.removeLast(file.count - size) } else { file += [UInt8](repeating: 0, count: size - file.count) }
            state.files[inode] = file
        }
    }

    func size(_ handle: Int32, path: String) throws(MemoryStoreError) -> Int {
        let inode = try inode(handle, path)
        return state.withLock { $0.files[inode]?.count ?? 0 }
    }

    func close(_ handle: Int32) { state.withLock { _ = $0.handles.removeValue(forKey: handle) } }

    func rename(_ from: String, _ to: String) throws(MemoryStoreError) {
        let moved: Bool = state.withLock { state in
            guard let inode = state.names.removeValue(forKey: from) else { return false }
            state.names[to] = inode
            return true
        }
        guard moved else { throw MemoryStoreError(.io, "rename \(from): no such file") }
    }

    func unlinkIfPresent(_ path: String) throws(MemoryStoreError) { state.withLock { _ = $0.names.removeValue(forKey: path) } }
    func fsyncDirectory(_ directory: String) throws(MemoryStoreError) {}
    func fileExists(_ path: String) -> Bool { state.withLock { $0.names[path] != nil } }
    func createDirectory(_ path: String) throws(MemoryStoreError) {}
    func now() -> ContinuousClock.Instant { .now }
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {}
}

private let path = "/store/memories.log"

/// Opens the log; returns the records replayed with their sizes in the file, and the report.
private func open(_ fs: MemoryFileSystem) -> Result<([(LogRecord, Int)], OpenReport), MemoryStoreError> {
    var records: [(LogRecord, Int)] = []
    do {
        let (log, report) = try AppendOnlyLog.open(path: path, fsync: .always, fileSystem: fs) { record, size in
            records.append((record, size))
        }
        try log.close()
        return .success((records, report))
    } catch let error as MemoryStoreError {
        return .failure(error)
    } catch {
        fatalError("open threw \(error), not a MemoryStoreError")
    }
}

/// A record without its date (the log stores the `Double` given to it, but `Date` does not keep every bit).
private func key(_ record: LogRecord) -> String {
    switch record {
    case .upsert(let entry): "upsert \(entry.id) \(entry.text) \(entry.tags) \(entry.embedding.map { $0.map(\.bitPattern) } as Any)"
    case .delete(let id): "delete \(id)"
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogReader(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let original = FuzzInput(data, count).bytes
    let fs = MemoryFileSystem()
    fs.write(path, original)

    switch open(fs) {
    case .success(let (records, report)):
        let after = fs.contents(path) ?? []
        let frames = records.reduce(0) { $0 + $1.1 }
        invariant(report.recordsLoaded == records.count, "report says \(report.recordsLoaded) records, replayed \(records.count)")
        if original.isEmpty {
            invariant(after == AppendOnlyLog.magic, "a new log is just the header")
        } else if original.count < AppendOnlyLog.headerSize {
            invariant(after == AppendOnlyLog.magic && report.bytesTruncated == original.count, "torn header not replaced")
        } else {
            // Only a torn tail may be cut, and everything kept is the header and whole records.
            invariant(Array(original.prefix(after.count)) == after, "open changed bytes it kept")
            invariant(report.bytesTruncated == original.count - after.count, "truncated \(report.bytesTruncated), reported \(original.count - after.count)")
            invariant(after.count >= AppendOnlyLog.headerSize + frames, "records replayed past the end of the kept file")
        }
        for (record, size) in records {
            // The record written again has the same framed size and decodes to the same record.
            let framed = try! AppendOnlyLog.frame([record])
            invariant(framed.count == size, "record of \(size) bytes is \(framed.count) when written again")
            let payload = framed.dropFirst(LogFrame.headerSize)
            guard case .record(let again) = LogRecord.read(payload) else { invariant(false, "written record does not read back"); return 0 }
            invariant(key(again) == key(record), "record changed in a write/read round trip")
        }
        // Opening again finds the same records and nothing to cut.
        guard case .success(let (second, secondReport)) = open(fs) else { invariant(false, "a log that opened once fails to open again"); return 0 }
        invariant(second.map { key($0.0) } == records.map { key($0.0) }, "second open replays other records")
        invariant(secondReport.truncation == nil && secondReport.bytesTruncated == 0, "second open truncates again")

    case .failure(let error):
        invariant(fs.contents(path) == original, "a refused log was changed (\(error))")
        guard error.code == .corrupt || error.code == .notAStoreFile else { return 0 }
        // Repair salvages what has a valid checksum; the repaired log then opens cleanly.
        guard let repair = try? LogRepair.repair(path: path, fileSystem: fs, now: Date(timeIntervalSince1970: 0)) else { return 0 }
        guard case .success(let (records, report)) = open(fs) else { invariant(false, "a repaired log does not open"); return 0 }
        invariant(report.truncation == nil, "a repaired log still has a torn tail")
        invariant(records.count + report.newerRecordsSkipped == repair.recordsKept,
                  "repair kept \(repair.recordsKept) records, open found \(records.count) + \(report.newerRecordsSkipped) newer")
    }
    return 0
}
