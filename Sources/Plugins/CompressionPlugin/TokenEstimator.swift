/// The compressor's token estimate: `ceil(UTF-8 bytes / 4)` per sentence, at least 1.
///
/// Four bytes per token is the usual rule of thumb for English with BPE tokenizers (GPT-style
/// `cl100k`); it overestimates slightly for plain English prose and underestimates for code and
/// non-Latin scripts. It is computed per sentence, so a message's estimate is the sum of its
/// sentences', and the whitespace and role labels that join them in ``ContextCompressHandler/Response/compressed``
/// are not counted. The same estimate is used for the budget, `originalTokens` and `compressedTokens`,
/// so the ratio is consistent whatever the real tokenizer.
public enum TokenEstimator {
    /// Bytes per token.
    public static let bytesPerToken = 4

    /// The estimated tokens of `text`: `max(1, ceil(utf8.count / 4))`.
    public static func estimate(_ text: String) -> Int {
        max(1, (text.utf8.count + bytesPerToken - 1) / bytesPerToken)
    }
}
