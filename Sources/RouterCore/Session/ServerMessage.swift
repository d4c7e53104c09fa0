import Foundation

/// One server → client message, encoded except for its `seq`, which the session writes under the lock
/// that queues it (so `seq` order is send order).
struct ServerMessage: Sendable {
    let type: String
    let id: String?
    let op: String?
    /// `{"type":"…","seq":,"id":…,…}`: the message without the digits of its `seq`, which go at
    /// ``seqDigitsAt`` (after ``seqMemberAt``, where `,"seq":` begins), nor its ``body``.
    private let text: JSONText
    private let seqMemberAt: Int
    private let seqDigitsAt: Int
    /// Members written elsewhere (a result's, `"a":1,"b":2`), which go at ``bodyAt`` after a comma: they are
    /// copied once, into the encoded message, not first into ``text``.
    private let body: JSONText?
    private let bodyAt: Int

    init(type: String, id: String? = nil, op: String? = nil, fields: [(String, JSONValue)] = []) {
        self.init(type: type, id: id, op: op) { writer in
            for (key, value) in fields {
                writer.append(UInt8(ascii: ","))
                writer.writeString(key)
                writer.append(UInt8(ascii: ":"))
                writer.write(value)
            }
        }
    }

    /// A message whose members after `id` and `op` are `body` (if any), then those `writeMembers` writes,
    /// each preceded by a comma. `membersCapacity`: about how many bytes `writeMembers` writes (the text is
    /// reserved once).
    init(
        type: String, id: String?, op: String?, body: JSONText? = nil, membersCapacity: Int = 192,
        writeMembers: (inout JSONWriter) -> Void
    ) {
        self.type = type
        self.id = id
        self.op = op
        self.body = body.flatMap { $0.isEmpty ? nil : $0 }
        var writer = JSONWriter(
            reservingCapacity: 96 + type.utf8.count + (id?.utf8.count ?? 0) + (op?.utf8.count ?? 0) + membersCapacity)
        writer.append(#"{"type":"#)
        writer.writeString(type)
        seqMemberAt = writer.count
        writer.append(#","seq":"#)
        seqDigitsAt = writer.count
        if let id {
            writer.append(#","id":"#)
            writer.writeString(id)
        }
        if let op {
            writer.append(#","op":"#)
            writer.writeString(op)
        }
        bodyAt = writer.count
        writeMembers(&writer)
        writer.append(UInt8(ascii: "}"))
        text = writer.takeText()
    }

    /// The complete JSON text with `seq` (one allocation, the text copied once).
    func encoded(seq: UInt64) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            let end = buffer.baseAddress! + 20
            let first = JSONWriter.writeDigits(of: seq, before: end)
            return spliced(UnsafeBufferPointer(start: first, count: end - first), removing: seqDigitsAt..<seqDigitsAt)
        }
    }

    /// The complete JSON text without `seq`, for the one message outside the numbered stream (`resumed`).
    func encodedWithoutSeq() -> [UInt8] {
        spliced(UnsafeBufferPointer(start: nil, count: 0), removing: seqMemberAt..<seqDigitsAt)
    }

    /// The text with `removed` left out and `inserted` at its place, and the body at its place, in one exact
    /// allocation. `removed` ends at or before ``bodyAt``.
    private func spliced(_ inserted: UnsafeBufferPointer<UInt8>, removing removed: Range<Int>) -> [UInt8] {
        text.withBytes { text in
            let bodyCount = body.map { 1 + $0.count } ?? 0
            let total = text.count - removed.count + inserted.count + bodyCount
            return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
                var index = 0
                func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                    index += UnsafeMutableBufferPointer(rebasing: buffer[index...]).initialize(fromContentsOf: bytes)
                }
                put(UnsafeBufferPointer(rebasing: text[..<removed.lowerBound]))
                put(inserted)
                put(UnsafeBufferPointer(rebasing: text[removed.upperBound..<bodyAt]))
                if let body {
                    buffer[index] = UInt8(ascii: ",")
                    index += 1
                    body.withBytes { put($0) }
                }
                put(UnsafeBufferPointer(rebasing: text[bodyAt...]))
                initialized = total
            }
        }
    }

    /// What a `gzip+base64` envelope copies from the message inside it.
    struct Envelope: Sendable {
        let type: String
        let id: String?
        let op: String?

        init(type: String, id: String?, op: String?) {
            self.type = type
            self.id = id
            self.op = op
        }

        /// The envelope fields of an encoded message (`json`, as ``encoded(seq:)`` wrote it), read back on a
        /// replay; nil if `json` is not a message object (never for the router's own).
        init?(of json: [UInt8]) {
            guard case .object(let members)? = try? JSONParser.parse(json), case .string(let type)? = members["type"] else {
                return nil
            }
            func text(_ key: String) -> String? {
                if case .string(let value)? = members[key] { return value }
                return nil
            }
            self.init(type: type, id: text("id"), op: text("op"))
        }

        /// The `gzip+base64` envelope of DESIGN §4 around `json` (the message encoded with `seq`).
        func wrap(seq: UInt64, json: [UInt8], gzip: ([UInt8]) -> [UInt8]) -> [UInt8] {
            var members: [(String, JSONValue)] = [("type", .string(type))]
            if let id { members.append(("id", .string(id))) }
            if let op { members.append(("op", .string(op))) }
            members += [
                ("seq", .number(Double(seq))), ("compressed", .bool(true)), ("encoding", .string("gzip+base64")),
                ("data", .string(Data(gzip(json)).base64EncodedString())),
            ]
            var writer = JSONWriter()
            writer.writeOrderedObject(members)
            return writer.bytes
        }
    }

    var envelope: Envelope { Envelope(type: type, id: id, op: op) }

    /// The `gzip+base64` envelope of DESIGN §4 around `json` (this message encoded with `seq`).
    func gzipEnvelope(seq: UInt64, json: [UInt8], gzip: ([UInt8]) -> [UInt8]) -> [UInt8] {
        envelope.wrap(seq: seq, json: json, gzip: gzip)
    }

    /// Keys the router writes itself; a result or chunk with one of them fails its request
    /// (``EnvelopeFieldCollision``), so ``ResultFields``' filter only guards the wire format.
    static let reservedKeys: Set<String> = ["type", "id", "op", "seq", "elapsedMs", "chunk"]

    /// Whether `key` is one of ``reservedKeys`` (compared, not hashed: asked for every top-level member).
    static func isReserved(_ key: String) -> Bool {
        switch key {
        case "type", "id", "op", "seq", "elapsedMs", "chunk": true
        default: false
        }
    }

    /// The wire form of an operation event (DESIGN §4).
    static func event(_ event: OperationEvent, id: String, descriptor: OperationDescriptor) -> ServerMessage {
        let op = descriptor.messageType
        switch event {
        case .progress(let stage, let stageIndex, let stageCount, let progress, let message):
            var fields: [(String, JSONValue)] = [
                ("stage", .string(stage)), ("stageIndex", .number(Double(stageIndex))),
                ("stages", .number(Double(stageCount))), ("progress", .number(progress)),
            ]
            if let message { fields.append(("message", .string(message))) }
            return ServerMessage(type: descriptor.progressType, id: id, op: op, fields: fields)
        case .chunk(let index, let chunkFields):
            return ServerMessage(
                type: descriptor.chunkType, id: id, op: op, membersCapacity: 32 + chunkFields.estimatedByteCount
            ) { writer in
                writer.append(#","chunk":"#)
                writer.writeInteger(Int64(index))
                chunkFields.writeMembers(into: &writer)
            }
        case .complete(let resultFields, let elapsed):
            // A written result is not copied into the message's text: the encoded message takes it as its body.
            let body = resultFields.membersText
            return ServerMessage(
                type: descriptor.completeType, id: id, op: op, body: body,
                membersCapacity: 32 + (body == nil ? resultFields.estimatedByteCount : 0)
            ) { writer in
                if body == nil { resultFields.writeMembers(into: &writer) }
                writer.append(#","elapsedMs":"#)
                writer.writeInteger(OperationRunner.milliseconds(elapsed))
            }
        case .failure(let code, let message, _):
            return error(code: code, message: message, id: id, op: op)
        }
    }

    static func error(code: String, message: String, id: String? = nil, op: String? = nil) -> ServerMessage {
        ServerMessage(type: "error", id: id, op: op, fields: [("code", .string(code)), ("message", .string(message))])
    }
}
