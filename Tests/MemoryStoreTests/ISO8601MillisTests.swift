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

    /// The bytes handed over without a `String` are the formatted text, inside years 0…9999 and past them.
    @Test func withFormattedHandsOverTheFormattedText() {
        var generator = SystemRandomNumberGenerator()
        var seconds = (0..<2_000).map { _ in Double.random(in: -62_167_219_200...253_402_300_799, using: &generator) }
        seconds += [0, -62_135_596_800, 253_402_300_799.999, 253_402_300_800, -62_200_000_000]
        for second in seconds {
            let date = Date(timeIntervalSince1970: second)
            var handed = ""
            ISO8601Millis.withFormatted(date) { handed = String(decoding: $0, as: UTF8.self) }
            #expect(handed == ISO8601Millis.format(date))
        }
    }
}
