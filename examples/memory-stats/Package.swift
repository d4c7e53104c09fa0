// swift-tools-version: 6.2
import PackageDescription

/// An example of extending Memory Router without forking it: a Swift plugin (`memory-stats`) in its
/// own package, served by its own executable next to the built-in plugins, with the config file,
/// dashboard, external plugins, signals and everything else `router-host` does.
/// The framework's own strictness; `InternalImportsByDefault` is why the plugin says `public import`.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "MemoryStatsExample",
    products: [
        .library(name: "MemoryStatsPlugin", targets: ["MemoryStatsPlugin"]),
        .executable(name: "memory-stats-host", targets: ["memory-stats-host"]),
    ],
    dependencies: [
        // The framework, by path. `name:` fixes the package's identity ("MemoryRouter"), which
        // `.product(…, package:)` below refers to; without it the identity would be the checkout's
        // directory name (whatever the clone is called).
        .package(name: "MemoryRouter", path: "../.."),
    ],
    targets: [
        .target(
            name: "MemoryStatsPlugin",
            dependencies: [
                .product(name: "RouterCore", package: "MemoryRouter"),
                .product(name: "MemoryStore", package: "MemoryRouter"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "memory-stats-host",
            dependencies: ["MemoryStatsPlugin", .product(name: "RouterHost", package: "MemoryRouter")],
            swiftSettings: strict),
        .testTarget(
            name: "MemoryStatsPluginTests",
            dependencies: [
                "MemoryStatsPlugin",
                .product(name: "RouterTesting", package: "MemoryRouter"),
                .product(name: "MemoryStore", package: "MemoryRouter"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "MemoryStatsHostTests",
            dependencies: [
                "memory-stats-host", .product(name: "RouterClient", package: "MemoryRouter"),
                .product(name: "RouterCore", package: "MemoryRouter"),
            ],
            swiftSettings: strict),
    ]
)
