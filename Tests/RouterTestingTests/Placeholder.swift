import Testing

@Test func placeholderRouterTestingTests() { #expect(Bool(true)) }
