import Testing

@Test func placeholderCompressionPluginTests() { #expect(Bool(true)) }
