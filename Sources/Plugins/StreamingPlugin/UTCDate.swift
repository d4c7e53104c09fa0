import Foundation

/// Fast, allocation-light UTC calendar arithmetic for streamed items (100,000s of dates per stream).
///
/// Uses Howard Hinnant's `civil_from_days` (proleptic Gregorian calendar), so formatting needs no
/// `Calendar` or format style and gives the same text on every platform.
enum UTCDate {
    /// `2024-03-01T09:00:00.250Z`: ISO 8601, UTC, millisecond precision (rounded to the nearest millisecond,
    /// matching `MemoryEntry`'s JSON form).
    static func iso8601(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let days = floorDivide(millis, 86_400_000)
        let inDay = millis - days * 86_400_000
        let (year, month, day) = civil(fromDays: days)
        let hour = inDay / 3_600_000, minute = inDay / 60_000 % 60, second = inDay / 1000 % 60, milli = inDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(milli, 3))Z"
    }

    /// The UTC month of `date` as a sortable key, `year * 12 + (month - 1)`.
    static func monthKey(_ date: Date) -> Int64 {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (year, month, _) = civil(fromDays: floorDivide(millis, 86_400_000))
        return year * 12 + (month - 1)
    }

    /// `2024-03` for a ``monthKey(_:)``.
    static func monthLabel(_ key: Int64) -> String {
        let year = floorDivide(key, 12)
        return "\(pad(year, 4))-\(pad(key - year * 12 + 1, 2))"
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
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

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
