/// Builds the snippets of ``SearchSnapshot/highlights(for:queryTerms:maxSnippets:context:)``.
struct Highlighter {
    let tokenizer: Tokenizer

    func snippets(_ text: String, queryTerms: [String], maxSnippets: Int, context: Int) -> [String] {
        let wanted = Set(queryTerms.flatMap { tokenizer.terms($0) })
        guard !wanted.isEmpty, maxSnippets > 0 else { return [] }
        let matches = tokenizer.tokens(text).filter { wanted.contains($0.term) }
        guard !matches.isEmpty else { return [] }

        // Windows around each match, merged when they overlap.
        var windows: [Range<String.Index>] = []
        for match in matches {
            let lower = expandBackward(text, from: match.range.lowerBound, by: context)
            let upper = expandForward(text, from: match.range.upperBound, by: context)
            if let last = windows.last, lower <= last.upperBound {
                windows[windows.count - 1] = last.lowerBound..<max(last.upperBound, upper)
            } else {
                windows.append(lower..<upper)
            }
        }
        return windows.prefix(maxSnippets).map { window in
            var snippet = text[window].split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            if window.lowerBound > text.startIndex { snippet = "…" + snippet }
            if window.upperBound < text.endIndex { snippet += "…" }
            return snippet
        }
    }

    /// Moves `count` characters back, then on to the start of the word it landed in (never past `start`).
    private func expandBackward(_ text: String, from start: String.Index, by count: Int) -> String.Index {
        var index = text.index(start, offsetBy: -count, limitedBy: text.startIndex) ?? text.startIndex
        if index == text.startIndex { return index }
        // Land on a word start: skip forward to just after the next whitespace.
        while index < start, !text[text.index(before: index)].isWhitespace {
            index = text.index(after: index)
        }
        return index
    }

    /// Moves `count` characters forward, then back to the end of the word it landed in (never before `end`).
    private func expandForward(_ text: String, from end: String.Index, by count: Int) -> String.Index {
        var index = text.index(end, offsetBy: count, limitedBy: text.endIndex) ?? text.endIndex
        if index == text.endIndex { return index }
        while index > end, !text[index].isWhitespace {
            index = text.index(before: index)
        }
        // Drop trailing punctuation-only tails such as " -" by trimming whitespace at the end.
        while index > end, text[text.index(before: index)].isWhitespace {
            index = text.index(before: index)
        }
        return index
    }
}
