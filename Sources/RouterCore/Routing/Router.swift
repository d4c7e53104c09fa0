/// The immutable dispatch table built by ``RouterBuilder``: message type → operation.
package struct Router: Sendable {
    private let operationsByType: [String: AnyOperation]
    /// The operations in registration order.
    package let operations: [OperationDescriptor]

    init(_ operations: [AnyOperation]) {
        self.operations = operations.map(\.descriptor)
        var table: [String: AnyOperation] = [:]
        for operation in operations { table[operation.descriptor.messageType] = operation }
        operationsByType = table
    }

    /// The operation registered for `messageType`, or nil.
    package func operation(for messageType: String) -> AnyOperation? {
        operationsByType[messageType]
    }
}
