import Foundation
import MemoryStore

/// ISO 8601 as the search plugin speaks it on the wire: MemoryStore's ``ISO8601Millis`` (the framework's
/// one formatter). Parsing also accepts a calendar date alone (`2024-03-01`, midnight UTC).
enum ISO8601 {
    /// The date, or nil if `text` is not one of the accepted forms.
    static func parse(_ text: String) -> Date? { ISO8601Millis.parse(dateTimeOrCalendarDate: text) }

    /// `2024-03-01T09:00:00.250Z` (UTC, milliseconds rounded to nearest).
    static func format(_ date: Date) -> String { ISO8601Millis.format(date) }
}
