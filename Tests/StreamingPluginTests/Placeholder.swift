import Testing

@Test func placeholderStreamingPluginTests() { #expect(Bool(true)) }
