import Foundation
import RouterCore

/// A directory's regular files held in memory and kept current by a thread of its own, so that a request
/// answered on an event loop only looks its file up: the disk is read on the watcher's thread, never on
/// a loop (a slow or network file system would otherwise stall every connection of that loop).
///
/// Every `interval` the watcher lists the tree and compares each file's size and modification time with
/// what it holds; it reads only the files that changed and forgets removed ones, so an edit shows within
/// `interval`. Hidden entries are skipped, and nothing outside the root is followed.
final class WatchedDirectory: Sendable {
    /// Reads a whole file (a parameter so tests can see where reads happen).
    typealias Reader = @Sendable (_ path: String) -> Data?

    private struct Stamp: Equatable {
        var size: Int
        var modified: Date
    }

    private struct Entry {
        var stamp: Stamp
        var data: Data
    }

    private struct State {
        var files: [String: Entry] = [:]
        var scansStarted: UInt64 = 0
        var scansFinished: UInt64 = 0
        var stopped = false
        /// Callers of ``nextScan()``, each with the scan it waits for.
        var waiters: [(scan: UInt64, continuation: CheckedContinuation<Void, Never>)] = []

        /// The waiters whose scan has finished (all of them once stopped), removed.
        mutating func takeFinishedWaiters() -> [CheckedContinuation<Void, Never>] {
            let done = waiters.filter { stopped || $0.scan <= scansFinished }.map(\.continuation)
            waiters.removeAll { stopped || $0.scan <= scansFinished }
            return done
        }
    }

    let root: URL
    let interval: Duration
    private let read: Reader
    private let state = Locked(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Reads the tree once on the calling thread (at startup, before anything is served), then starts the
    /// watcher's thread; ``stop()`` ends it.
    init(root: URL, interval: Duration = .milliseconds(250), read: @escaping Reader = { FileManager.default.contents(atPath: $0) }) {
        self.root = root
        self.interval = interval
        self.read = read
        scan()
        let thread = Thread { [self] in run() }
        thread.name = "memory-router-static-files"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// The contents of the file at `relativePath` (`index.html`, `js/app.js`) as of the last scan.
    func file(_ relativePath: String) -> Data? {
        state.withLock { $0.files[relativePath]?.data }
    }

    /// Ends the watcher's thread (after the scan in progress, if any).
    func stop() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            return state.takeFinishedWaiters()
        }
        wakeUp.signal()
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once a scan that started after this call has finished (a change made before the call is
    /// then visible), or the watcher stopped. Starts that scan now rather than after `interval`.
    func nextScan() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = state.withLock { state -> Bool in
                guard !state.stopped else { return true }
                state.waiters.append((state.scansStarted + 1, continuation))
                return false
            }
            if stopped { continuation.resume() } else { wakeUp.signal() }
        }
    }

    private func run() {
        let nanoseconds = Int(min(interval.components.seconds, 86_400) * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000)
        while true {
            _ = wakeUp.wait(timeout: .now() + .nanoseconds(max(1_000_000, nanoseconds)))
            if state.withLock({ $0.stopped }) { return }
            scan()
        }
    }

    /// Lists the tree, reads what changed, and publishes the result.
    private func scan() {
        let known = state.withLock { state -> [String: Stamp] in
            state.scansStarted += 1
            return state.files.mapValues(\.stamp)
        }
        var present: Set<String> = []
        var changed: [String: Entry] = [:]
        let base = root.standardizedFileURL.path
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]
        if let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles]) {
            for case let url as URL in enumerator {
                let path = url.standardizedFileURL.path
                guard path.hasPrefix(base + "/"),
                    let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true
                else { continue }
                let relative = String(path.dropFirst(base.count + 1))
                let stamp = Stamp(size: values.fileSize ?? -1, modified: values.contentModificationDate ?? .distantPast)
                if known[relative] == stamp {
                    present.insert(relative)
                } else if let data = read(path) {
                    present.insert(relative)
                    changed[relative] = Entry(stamp: stamp, data: data)
                }
            }
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.files = state.files.filter { present.contains($0.key) }.merging(changed) { _, new in new }
            state.scansFinished += 1
            return state.takeFinishedWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }
}
