// swift-tools-version: 6.2
import PackageDescription

/// Strictness applied to every Swift target: Swift 6 language mode is the default for tools 6.x.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "MemoryRouter",
    products: [
        .library(name: "RouterCore", targets: ["RouterCore"]),
        .library(name: "RouterTesting", targets: ["RouterTesting"]),
        .library(name: "RouterClient", targets: ["RouterClient"]),
        .library(name: "MemoryStore", targets: ["MemoryStore"]),
        .library(name: "RedisClient", targets: ["RedisClient"]),
        .library(name: "RedisMemory", targets: ["RedisMemory"]),
        .library(name: "SearchPlugin", targets: ["SearchPlugin"]),
        .library(name: "CompressionPlugin", targets: ["CompressionPlugin"]),
        .library(name: "StreamingPlugin", targets: ["StreamingPlugin"]),
        .library(name: "RouterHost", targets: ["RouterHost"]),
        .executable(name: "router-host", targets: ["router-host"]),
        .executable(name: "router-bench", targets: ["RouterBench"]),
    ],
    targets: [
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLinuxShims"),

        .target(name: "RouterCore", dependencies: ["CZlib", "CLinuxShims"], swiftSettings: strict),
        .target(name: "MemoryStore", swiftSettings: strict),
        .target(name: "RedisClient", swiftSettings: strict),
        .target(name: "RedisMemory", dependencies: ["RedisClient", "MemoryStore"], swiftSettings: strict),
        .target(
            name: "SearchPlugin", dependencies: ["RouterCore", "MemoryStore"],
            path: "Sources/Plugins/SearchPlugin", swiftSettings: strict),
        .target(
            name: "CompressionPlugin", dependencies: ["RouterCore", "MemoryStore"],
            path: "Sources/Plugins/CompressionPlugin", swiftSettings: strict),
        .target(
            name: "StreamingPlugin", dependencies: ["RouterCore", "MemoryStore"],
            path: "Sources/Plugins/StreamingPlugin", swiftSettings: strict),
        .target(name: "RouterTesting", dependencies: ["RouterCore"], swiftSettings: strict),
        .target(name: "RouterClient", dependencies: ["RouterCore"], swiftSettings: strict),
        .target(
            name: "RouterHost",
            dependencies: ["RouterCore", "MemoryStore", "RedisClient", "RedisMemory", "SearchPlugin", "CompressionPlugin", "StreamingPlugin"],
            resources: [.copy("Resources")],
            swiftSettings: strict),
        // `router-host`: RouterHost over the built-in plugins (the same few lines a user's own host has).
        .executableTarget(name: "router-host", dependencies: ["RouterHost"], swiftSettings: strict),
        .executableTarget(name: "StoreCrashWriter", dependencies: ["MemoryStore"], swiftSettings: strict),
        .executableTarget(
            name: "RouterBench",
            dependencies: ["CLinuxShims", "RouterCore", "RouterClient", "MemoryStore", "RedisClient", "RedisMemory", "SearchPlugin", "CompressionPlugin", "StreamingPlugin"],
            swiftSettings: strict),

        .testTarget(
            name: "RouterCoreTests", dependencies: ["RouterCore", "RouterClient", "MemoryStore"],  // MemoryStore: SplitMix64
            swiftSettings: strict),
        .testTarget(
            name: "MemoryStoreTests", dependencies: ["MemoryStore", "StoreCrashWriter"], swiftSettings: strict),
        .testTarget(
            name: "SearchPluginTests", dependencies: ["SearchPlugin", "RouterTesting", "MemoryStore"],
            swiftSettings: strict),
        .testTarget(
            name: "CompressionPluginTests", dependencies: ["CompressionPlugin", "RouterTesting", "MemoryStore"],
            swiftSettings: strict),
        .testTarget(
            name: "StreamingPluginTests", dependencies: ["StreamingPlugin", "RouterTesting", "MemoryStore"],
            swiftSettings: strict),
        // Test-only: a real redis-server for RedisClientTests and RedisMemoryTests. Not a product, so no user
        // of the package can depend on it; under Tests/ because it is test code.
        .target(name: "RedisTestSupport", dependencies: ["RedisClient"], path: "Tests/RedisTestSupport", swiftSettings: strict),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "RedisTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RedisMemoryTests",
            dependencies: ["RedisMemory", "RedisClient", "MemoryStore", "RouterClient", "RouterCore", "RouterTesting", "RedisTestSupport"],
            swiftSettings: strict),
        .testTarget(name: "RouterTestingTests", dependencies: ["RouterTesting"], swiftSettings: strict),
        .testTarget(name: "RouterClientTests", dependencies: ["RouterClient", "RouterCore", "RouterTesting"], swiftSettings: strict),
        .testTarget(name: "HostTests", dependencies: ["RouterHost", "router-host", "RouterCore", "RouterClient", "MemoryStore"], swiftSettings: strict),
        .testTarget(
            name: "BrowserTests", dependencies: ["RouterClient", "RouterCore"],
            exclude: ["ClientTests"],  // the JS client's unit tests, served to Chromium from a temporary directory
            swiftSettings: strict),
        .testTarget(name: "AbuseTests", dependencies: ["RouterCore", "RouterClient", "RouterTesting"], swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests", dependencies: ["RouterCore", "RouterClient", "RouterTesting"],
            swiftSettings: strict),
    ]
)
