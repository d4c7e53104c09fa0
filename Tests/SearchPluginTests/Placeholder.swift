import Testing

@Test func placeholderSearchPluginTests() { #expect(Bool(true)) }
