import Testing

@Test func placeholderRouterClientTests() { #expect(Bool(true)) }
