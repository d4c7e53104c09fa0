/// The messages of one session that its client may not have seen yet: every message after the
/// last `seq` it acknowledged, in `seq` order, bounded by a message count and a byte count.
///
/// Past either bound the oldest messages are dropped; a resume from before a dropped message is
/// then impossible (`gap`). ``isNearlyFull`` leaves a tenth of each bound as headroom, so an
/// operation can be held before its output would have to be dropped.
struct ReplayBuffer: Sendable {
    let maxMessages: Int
    let maxBytes: Int
    /// One message held: its `seq` and its JSON text. (Sixteen bytes: a gzip envelope's fields are read back
    /// from the text on the rare replay that needs them, not copied for every message.)
    struct Entry: Sendable {
        let seq: UInt64
        var bytes: [UInt8]
    }

    private var storage: [Entry] = []
    private var head = 0
    /// Bytes of the messages held.
    private(set) var bytes = 0
    /// Every message with a `seq` up to this one is gone (acknowledged or dropped).
    private(set) var trimmedThrough: UInt64 = 0

    init(maxMessages: Int, maxBytes: Int) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    /// Messages held.
    var count: Int { storage.count - head }

    /// Whether the output of an operation should wait: less than a tenth of a bound is left.
    var isNearlyFull: Bool {
        count >= maxMessages - max(1, maxMessages / 10) || bytes >= maxBytes - max(1, maxBytes / 10)
    }

    /// Whether a client that has seen everything up to `lastSeq` can be given the rest.
    func canResume(after lastSeq: UInt64) -> Bool { lastSeq >= trimmedThrough }

    /// The messages after `lastSeq`, in order.
    func messages(after lastSeq: UInt64) -> ArraySlice<Entry> {
        let live = storage[head...]
        guard let start = live.firstIndex(where: { $0.seq > lastSeq }) else { return [] }
        return live[start...]
    }

    /// Holds message `seq` (greater than every seq held), dropping the oldest past the bounds.
    /// Returns the change in ``bytes``.
    mutating func append(seq: UInt64, bytes message: [UInt8]) -> Int {
        let before = bytes
        storage.append(Entry(seq: seq, bytes: message))
        bytes += message.count
        while count > 0, count > maxMessages || bytes > maxBytes {
            dropFirst()
        }
        return bytes - before
    }

    /// Drops every message up to `seq`; returns the change in ``bytes`` (zero or negative).
    mutating func acknowledge(through seq: UInt64) -> Int {
        let before = bytes
        while count > 0, storage[head].seq <= seq {
            dropFirst()
        }
        trimmedThrough = max(trimmedThrough, seq)
        return bytes - before
    }

    /// Drops everything; returns the change in ``bytes``.
    mutating func removeAll() -> Int {
        let freed = -bytes
        if let last = storage.last { trimmedThrough = max(trimmedThrough, last.seq) }
        storage = []
        head = 0
        bytes = 0
        return freed
    }

    private mutating func dropFirst() {
        // Read in place: a copy of the entry would retain its text only to release it.
        bytes -= storage[head].bytes.count
        trimmedThrough = max(trimmedThrough, storage[head].seq)
        storage[head].bytes = []
        head += 1
        // Reclaim the dropped prefix once it is half the storage.
        if head >= 64, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }
}
