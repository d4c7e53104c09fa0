import Testing

@Test func placeholderMemoryStoreTests() { #expect(Bool(true)) }
