public import Foundation

/// ISO 8601 as the memory store, the plugins and the wire speak it: the one formatter of the framework.
///
/// Formatting is UTC with millisecond precision, rounded to the nearest millisecond
/// (`2024-03-01T09:00:00.250Z`), computed with Howard Hinnant's `civil_from_days` (proleptic Gregorian
/// calendar): no `Calendar` or format style, the same text on every platform, fast enough for streams of
/// 100,000s of dates, and `1700000000.123` prints `.123` (Foundation's fractional style truncates the binary
/// value and would print `.122`).
public enum ISO8601Millis {
    private static let dateTime = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let calendarDate = Date.ISO8601FormatStyle().year().month().day()

    /// Rounds a date to the millisecond, the precision of the JSON form.
    public static func rounded(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// `2024-03-01T09:00:00.250Z`.
    public static func format(_ date: Date) -> String {
        let fields = Fields(date)
        // Every search result and stream chunk has a date: 24 bytes written in place, one allocation.
        guard fields.fitsFourDigitYear else { return formatByInterpolation(date) }
        return String(unsafeUninitializedCapacity: 24) { fields.write(into: $0) }
    }

    /// Hands `body` the UTF-8 of ``format(_:)``, without a `String` for years 0…9999 (written on the stack).
    /// (Not generic: a caller in another module would run it unspecialized.)
    public static func withFormatted(_ date: Date, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let fields = Fields(date)
        guard fields.fitsFourDigitYear else {
            var text = formatByInterpolation(date)
            return text.withUTF8(body)
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            body(UnsafeBufferPointer(rebasing: buffer[..<fields.write(into: buffer)]))
        }
    }

    /// A date's text (``format(_:)``) kept as 24 bytes in place, for dates written again and again (a search
    /// index keeps one per entry, so a result's `createdAt` is copied, not computed). Empty for a year
    /// outside 0…9999, whose text is longer: ``withUTF8(_:)`` then hands over nothing and the caller formats.
    public struct Formatted: Sendable {
        private var bytes: (UInt64, UInt64, UInt64) = (0, 0, 0)

        public init(_ date: Date) {
            let fields = Fields(date)
            guard fields.fitsFourDigitYear else { return }
            withUnsafeMutableBytes(of: &bytes) { raw in
                _ = fields.write(into: raw.bindMemory(to: UInt8.self))
            }
        }

        /// Hands `body` the 24 bytes of the text; returns false (without calling it) when it is not here.
        public func withUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
            // A kept text starts with a digit; an empty one is all zeros.
            guard bytes.0 != 0 else { return false }
            var copy = bytes
            withUnsafeBytes(of: &copy) { body($0.bindMemory(to: UInt8.self)) }
            return true
        }
    }

    /// A date's calendar fields in UTC, to the millisecond.
    private struct Fields {
        var year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, milli: Int64

        init(_ date: Date) {
            let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
            let days = floorDivide(millis, 86_400_000)
            let inDay = millis - days * 86_400_000
            (year, month, day) = civil(fromDays: days)
            hour = inDay / 3_600_000
            minute = inDay / 60_000 % 60
            second = inDay / 1000 % 60
            milli = inDay % 1000
        }

        var fitsFourDigitYear: Bool { (0...9999).contains(year) }

        /// Writes the 24 bytes of a four-digit year's date-time; returns 24.
        func write(into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
            var index = 0
            func put(_ value: Int64, _ width: Int, then separator: UInt8) {
                var remaining = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(truncatingIfNeeded: 0x30 + remaining % 10)
                    remaining /= 10
                }
                buffer[index + width] = separator
                index += width + 1
            }
            put(year, 4, then: UInt8(ascii: "-"))
            put(month, 2, then: UInt8(ascii: "-"))
            put(day, 2, then: UInt8(ascii: "T"))
            put(hour, 2, then: UInt8(ascii: ":"))
            put(minute, 2, then: UInt8(ascii: ":"))
            put(second, 2, then: UInt8(ascii: "."))
            put(milli, 3, then: UInt8(ascii: "Z"))
            return index
        }
    }

    /// The same text built by string interpolation (years outside 0…9999; the reference in tests).
    static func formatByInterpolation(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let days = floorDivide(millis, 86_400_000)
        let inDay = millis - days * 86_400_000
        let (year, month, day) = civil(fromDays: days)
        let hour = inDay / 3_600_000, minute = inDay / 60_000 % 60, second = inDay / 1000 % 60, milli = inDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(milli, 3))Z"
    }

    /// A date-time with a zone designator (`Z` or `±hh:mm`), with or without fractional seconds, rounded to
    /// the millisecond; nil if malformed. (A date-time without a zone is ambiguous and rejected.)
    public static func parse(_ string: String) -> Date? {
        guard let date = try? dateTime.parse(string) else { return nil }
        return rounded(date)
    }

    /// Like ``parse(_:)``, not rounded, and also a calendar date alone (`2024-03-01`: midnight UTC).
    public static func parse(dateTimeOrCalendarDate text: String) -> Date? {
        if let date = try? dateTime.parse(text) { return date }
        // The date-only style also accepts a prefix of a longer string: insist on exactly `YYYY-MM-DD`.
        let bytes = Array(text.utf8)
        let isCalendarDate =
            bytes.count == 10 && bytes[4] == UInt8(ascii: "-") && bytes[7] == UInt8(ascii: "-")
            && bytes.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || (48...57).contains($0.element) }
        guard isCalendarDate else { return nil }
        return try? calendarDate.parse(text)
    }

    /// The UTC (year, month, day) of `date`, for calendar arithmetic without `Calendar`.
    public static func civilDate(_ date: Date) -> (year: Int64, month: Int64, day: Int64) {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        return civil(fromDays: floorDivide(millis, 86_400_000))
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
