import Foundation
import Testing

@testable import MemoryStore

@Suite struct ISO8601MillisTests {
    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000.123, "2023-11-14T22:13:20.123Z"),
        (1_709_164_800.999_6, "2024-02-29T00:00:01.000Z"),  // leap day, rounded up across a second
        (-1.0, "1969-12-31T23:59:59.000Z"),
        (-62_135_596_800.0, "0001-01-01T00:00:00.000Z"),
        (253_402_300_799.999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsKnownInstants(seconds: Double, expected: String) {
        #expect(ISO8601Millis.format(Date(timeIntervalSince1970: seconds)) == expected)
    }

    /// The in-place writer gives the interpolated text for any instant of years 0…9999 (and past them the
    /// interpolated text is what is used).
    @Test func theInPlaceWriterAgreesWithInterpolation() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let seconds = Double.random(in: -62_167_219_200...253_402_300_799, using: &generator)
            let date = Date(timeIntervalSince1970: seconds)
            #expect(ISO8601Millis.format(date) == ISO8601Millis.formatByInterpolation(date))
        }
        let beyond = Date(timeIntervalSince1970: 253_402_300_800)
        #expect(ISO8601Millis.format(beyond) == "10000-01-01T00:00:00.000Z")
    }
}
