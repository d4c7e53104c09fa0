import Dispatch
import Foundation
import RouterCore
#if canImport(Glibc)
import Glibc
#endif

/// One running instance of an external plugin's process: its pipes, a reader thread each for
/// stdout and stderr, a serial queue for writes to stdin, and how it ended.
///
/// The instance has *ended* once the process has exited and its stdout reached end of file (so a
/// result written just before exiting is still delivered), or one second after either of the two
/// if the other does not follow (then the process is killed). `onEnd` is called exactly once.
final class ExternalPluginChild: Sendable {
    /// 1 for the first launch of a plugin, 2 for its first restart, …
    let number: Int
    let pid: Int32
    let startedAt: ContinuousClock.Instant

    private let pluginName: String
    private let process: Process
    private let stdinHandle: FileHandle
    private let writeQueue: DispatchQueue
    private let state = Locked(State())

    private struct State {
        var exitDescription: String?
        /// Why the host killed the process, if it did (named in the exit description).
        var killReason: String?
        var stdoutClosed = false
        var ended = false
        var stdinClosed = false
        var onEnd: (@Sendable (ExternalPluginChild, String) -> Void)?
    }

    /// Why a process could not be started.
    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    private init(number: Int, pluginName: String, process: Process, stdinHandle: FileHandle) {
        self.number = number
        self.pluginName = pluginName
        self.process = process
        self.stdinHandle = stdinHandle
        self.pid = process.processIdentifier
        self.startedAt = .now
        self.writeQueue = DispatchQueue(label: "external-plugin.\(pluginName).\(number).stdin")
    }

    /// Starts `command` with `environment` merged over the host's.
    ///
    /// - Parameters:
    ///   - onLine: each stdout line (nil for one over the size limit), in order, from one thread.
    ///   - onStderr: each stderr line.
    ///   - onEnd: once, with "plugin process <name> exited with status 3" or "… was killed by signal 9".
    static func launch(
        number: Int, pluginName: String, command: [String], environment: [String: String],
        onLine: @escaping @Sendable (ExternalPluginChild, [UInt8]?) -> Void,
        onStderr: @escaping @Sendable (String) -> Void,
        onEnd: @escaping @Sendable (ExternalPluginChild, String) -> Void
    ) throws(LaunchError) -> ExternalPluginChild {
        guard let program = command.first, !program.isEmpty else {
            throw LaunchError(description: "the command is empty")
        }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let executable = try resolve(program, path: merged["PATH"])

        let process = Process()
        process.executableURL = executable
        process.arguments = Array(command.dropFirst())
        process.environment = merged
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr

        // The handler may fire before `launch` returns: it finds the child through this box.
        let box = Locked<ExternalPluginChild?>(nil)
        let early = Locked<Process.TerminationReason?>(nil)
        let earlyStatus = Locked<Int32>(0)
        process.terminationHandler = { finished in
            let reason = finished.terminationReason
            let status = finished.terminationStatus
            let child = box.withLock { child -> ExternalPluginChild? in
                if child == nil {
                    early.withLock { $0 = reason }
                    earlyStatus.withLock { $0 = status }
                }
                return child
            }
            child?.processExited(reason: reason, status: status)
        }
        do {
            try process.run()
        } catch {
            throw LaunchError(description: "could not start \(executable.path): \(error.localizedDescription)")
        }
        let child = ExternalPluginChild(
            number: number, pluginName: pluginName, process: process, stdinHandle: stdin.fileHandleForWriting)
        child.state.withLock { $0.onEnd = onEnd }
        let stdoutHandle = stdout.fileHandleForReading
        let stderrHandle = stderr.fileHandleForReading
        let name = "\(pluginName)#\(number)"
        Thread.detachNewThread {
            Thread.current.name = "plugin \(name) stdout"
            var splitter = ExternalPluginProtocol.LineSplitter()
            readAll(stdoutHandle) { bytes in splitter.feed(bytes) { onLine(child, $0) } }
            splitter.finish { onLine(child, $0) }
            try? stdoutHandle.close()
            child.stdoutClosed()
        }
        Thread.detachNewThread {
            Thread.current.name = "plugin \(name) stderr"
            var splitter = ExternalPluginProtocol.LineSplitter(limit: 64 * 1024)
            let emit: ([UInt8]?) -> Void = { line in
                onStderr(line.map { String(decoding: $0, as: UTF8.self) } ?? "(a stderr line over 64 KiB was dropped)")
            }
            readAll(stderrHandle) { bytes in splitter.feed(bytes, line: emit) }
            splitter.finish(line: emit)
            try? stderrHandle.close()
        }
        // Publish the child to the termination handler; replay an exit that happened already.
        let exitedEarly = box.withLock { slot -> Process.TerminationReason? in
            slot = child
            return early.withLock { $0 }
        }
        if let reason = exitedEarly {
            child.processExited(reason: reason, status: earlyStatus.withLock { $0 })
        }
        return child
    }

    /// Finds `program` on `path` unless it contains a slash.
    private static func resolve(_ program: String, path: String?) throws(LaunchError) -> URL {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw LaunchError(description: "\(program) is not an executable file")
            }
            return URL(fileURLWithPath: program)
        }
        let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for directory in directories where !directory.isEmpty {
            let candidate = directory.hasSuffix("/") ? directory + program : directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw LaunchError(description: "\"\(program)\" was not found on PATH")
    }

    private static func readAll(_ handle: FileHandle, _ body: (UnsafeRawBufferPointer) -> Void) {
        let fd = handle.fileDescriptor
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let count = read(fd, buffer.baseAddress, capacity)
            if count > 0 {
                body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            } else if count < 0, errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    // MARK: - Writing

    /// Writes `line` and a newline to the process's stdin (in order, off the caller's thread).
    /// A write to a process that has gone is dropped: its end is reported through `onEnd`.
    func send(_ line: String) {
        let bytes = Array(line.utf8) + [UInt8(ascii: "\n")]
        let handle = stdinHandle
        writeQueue.async { [self] in
            guard !state.withLock({ $0.stdinClosed }) else { return }
            let fd = handle.fileDescriptor
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return  // EPIPE (SIGPIPE is ignored by the host) or another failure: the process is gone
                }
            }
        }
    }

    /// Closes stdin (after pending writes): a well-behaved plugin exits when it reads end of file.
    func closeStdin() {
        let handle = stdinHandle
        writeQueue.async { [self] in
            let alreadyClosed = state.withLock { state -> Bool in
                defer { state.stdinClosed = true }
                return state.stdinClosed
            }
            if !alreadyClosed { try? handle.close() }
        }
    }

    // MARK: - Ending

    /// Whether the instance has ended (see the type's documentation).
    var hasEnded: Bool { state.withLock { $0.ended } }

    /// Sends `signal` unless the process has already exited (its pid could be reused).
    func signal(_ number: Int32) {
        let exited = state.withLock { $0.exitDescription != nil }
        if !exited { _ = Glibc.kill(pid, number) }
    }

    /// SIGKILL; `reason` (why the host kills it) is named in the exit description:
    /// "… was killed by signal 9 (by the host: it did not finish cancelled request …)".
    func kill(reason: String) {
        state.withLock { state in
            if state.killReason == nil { state.killReason = reason }
        }
        signal(SIGKILL)
    }

    /// Waits until the instance ended, or `timeout` passed; returns whether it ended.
    func waitForEnd(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !hasEnded {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    private func processExited(reason: Process.TerminationReason, status: Int32) {
        let complete = state.withLock { state -> Bool in
            let byHost = state.killReason.map { " (by the host: \($0))" } ?? ""
            state.exitDescription = switch reason {
            case .exit: "plugin process \(pluginName) exited with status \(status)"
            case .uncaughtSignal: "plugin process \(pluginName) was killed by signal \(status)\(byHost)"
            @unknown default: "plugin process \(pluginName) ended (status \(status))"
            }
            return state.stdoutClosed
        }
        if complete {
            end()
        } else {
            // A grandchild may keep stdout open: do not wait for it forever.
            Task(executorPreference: RouterExecutors.control) { [self] in
                try? await Task.sleep(for: .seconds(1))
                end()
            }
        }
    }

    private func stdoutClosed() {
        let complete = state.withLock { state -> Bool in
            state.stdoutClosed = true
            return state.exitDescription != nil
        }
        if complete {
            end()
        } else {
            // A process that closed stdout cannot answer any more: give it a second to exit.
            Task(executorPreference: RouterExecutors.control) { [self] in
                try? await Task.sleep(for: .seconds(1))
                if state.withLock({ $0.exitDescription == nil }) {
                    kill(reason: "it closed its stdout but did not exit within 1 s")
                }
            }
        }
    }

    private func end() {
        let (onEnd, description) = state.withLock { state -> ((@Sendable (ExternalPluginChild, String) -> Void)?, String) in
            guard !state.ended else { return (nil, "") }
            state.ended = true
            defer { state.onEnd = nil }
            return (state.onEnd, state.exitDescription ?? "plugin process \(pluginName) ended")
        }
        guard let onEnd else { return }
        process.terminationHandler = nil
        closeStdin()
        onEnd(self, description)
    }
}
