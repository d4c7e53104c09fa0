import Testing

@Test func placeholderHostTests() { #expect(Bool(true)) }
