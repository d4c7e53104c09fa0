import Testing

@Test func placeholderRouterCoreTests() { #expect(Bool(true)) }
