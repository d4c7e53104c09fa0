import Foundation
import MemoryStore

/// UTC calendar arithmetic for streamed items (100,000s of dates per stream), over MemoryStore's
/// ``ISO8601Millis`` (the framework's one ISO 8601 formatter, which needs no `Calendar` either).
enum UTCDate {
    /// `2024-03-01T09:00:00.250Z`: ISO 8601, UTC, millisecond precision (`MemoryEntry`'s JSON form).
    static func iso8601(_ date: Date) -> String {
        ISO8601Millis.format(date)
    }

    /// The UTC month of `date` as a sortable key, `year * 12 + (month - 1)`.
    static func monthKey(_ date: Date) -> Int64 {
        let (year, month, _) = ISO8601Millis.civilDate(date)
        return year * 12 + (month - 1)
    }

    /// `2024-03` for a ``monthKey(_:)``.
    static func monthLabel(_ key: Int64) -> String {
        let year = key >= 0 ? key / 12 : (key - 11) / 12
        return "\(pad(year, 4))-\(pad(key - year * 12 + 1, 2))"
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
