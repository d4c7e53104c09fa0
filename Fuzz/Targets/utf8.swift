// Fuzz target: UTF8Validator fed in pieces, against the standard library's validation of the whole.
@testable import RouterCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUTF8(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    var input = FuzzInput(data, count)
    let sizes = [Int(input.byte() % 9), Int(input.byte() % 9), Int(input.byte())]
    let text = Array(input.rest)
    let expected = String(validating: text, as: UTF8.self) != nil

    var validator = UTF8Validator()
    var accepted = true
    var checkedSoFar = 0
    for (turn, piece) in chunks(of: text, sizes: sizes).enumerated() {
        // Both entry points, alternately.
        let ok = turn % 2 == 0 ? piece.withUnsafeBytes { validator.feed($0) } : validator.feed(Array(piece))
        checkedSoFar += piece.count
        if !ok {
            accepted = false
            // Rejected early only if no continuation could make the prefix valid.
            invariant(!expected, "rejected a prefix of valid UTF-8")
            break
        }
        // A prefix accepted at a character boundary is itself valid UTF-8.
        if validator.isAtCharacterBoundary {
            invariant(String(validating: text.prefix(checkedSoFar), as: UTF8.self) != nil, "boundary after invalid prefix")
        }
    }
    let valid = accepted && validator.isAtCharacterBoundary
    invariant(valid == expected, "validator says \(valid), the standard library \(expected)")

    validator.reset()
    invariant(validator.isAtCharacterBoundary, "reset leaves the validator inside a character")
    return 0
}
