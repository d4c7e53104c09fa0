import Foundation

/// ISO 8601 as the search plugin speaks it on the wire.
///
/// Parsing accepts a date-time with a zone designator (`Z` or `±hh:mm`), with or without fractional
/// seconds (`2024-03-01T09:00:00Z`, `2024-03-01T11:00:00.250+02:00`), or a calendar date alone
/// (`2024-03-01`, meaning midnight UTC). A date-time without a zone is rejected: it would be ambiguous.
/// Formatting is UTC with millisecond precision (`2024-03-01T09:00:00.250Z`), the form ``MemoryEntry`` uses.
enum ISO8601 {
    private static let dateTime = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let wholeSeconds = Date.ISO8601FormatStyle()
    private static let calendarDate = Date.ISO8601FormatStyle().year().month().day()

    /// The date, or nil if `text` is not one of the accepted forms.
    static func parse(_ text: String) -> Date? {
        if let date = try? dateTime.parse(text) { return date }
        // The date-only style also accepts a prefix of a longer string: insist on exactly `YYYY-MM-DD`.
        let bytes = Array(text.utf8)
        let isCalendarDate =
            bytes.count == 10 && bytes[4] == UInt8(ascii: "-") && bytes[7] == UInt8(ascii: "-")
            && bytes.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || (48...57).contains($0.element) }
        guard isCalendarDate else { return nil }
        return try? calendarDate.parse(text)
    }

    /// `2024-03-01T09:00:00.250Z` (UTC, milliseconds rounded to nearest).
    static func format(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = Int(millis - seconds * 1000)
        let base = wholeSeconds.format(Date(timeIntervalSince1970: Double(seconds)))  // "…:00Z"
        let digits = String(fraction)
        return String(base.dropLast()) + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }
}
