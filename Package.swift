// swift-tools-version:6.1
import PackageDescription

/// One settings list for every target: Swift 6 mode and the upcoming features the
/// grpc-swift and hummingbird codebases use (docs/architecture.md, "Conventions").
let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("InternalImportsByDefault"),
]

let grpcCore = Target.Dependency.product(name: "GRPCCore", package: "grpc-swift-2")
let grpcTransport = Target.Dependency.product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")
let grpcProtobuf = Target.Dependency.product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let postgres = Target.Dependency.product(name: "PostgresNIO", package: "postgres-nio")

let package = Package(
  name: "sightline",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "sightline", targets: ["sightline"]),
    .executable(name: "sightline-gateway", targets: ["sightline-gateway"]),
    .executable(name: "sightline-ingestion", targets: ["sightline-ingestion"]),
    .executable(name: "sightline-metrics", targets: ["sightline-metrics"]),
    .executable(name: "sightline-segmentation", targets: ["sightline-segmentation"]),
    .executable(name: "sightline-experiments", targets: ["sightline-experiments"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    // Tests only: hand-made HTTP/2 frames for the hostile-framing tests.
    .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    // The PostgreSQL backend (docs/architecture.md, "PostgreSQL").
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    // The web cockpit's HTTPS server (HTTP/2 and HTTP/1.1).
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    // Messages to DingTalk, WeCom, Slack and webhooks from the cases' outbox (docs/delivery.md).
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    // Helpdesk imports (docs/ingestion.md, "Importing from your helpdesk"): .xlsx is a zip,
    // column maps are YAML.
    .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    // Spans exported over OTLP (docs/operations.md, "Traces"); metrics stay on Prometheus.
    .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
  ],
  targets: [
    // Domain types, roles, validation rules. No I/O.
    .target(name: "SightlineModel", swiftSettings: swiftSettings),

    // Code generated from Proto/ by scripts/generate-proto. Never edited by hand.
    .target(
      name: "SightlineWire",
      dependencies: [grpcCore, grpcProtobuf, swiftProtobuf],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),

    // RPC plumbing shared by every process: development PKI, TLS configuration,
    // server and client construction, tenant metadata, health, lifecycle glue.
    .target(
      name: "SightlineRPC",
      dependencies: [
        "SightlineModel", "SightlineWire", grpcCore, grpcTransport, grpcProtobuf, logging, lifecycle,
        argumentParser, swiftProtobuf,
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "OTel", package: "swift-otel"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
        metrics,
      ],
      swiftSettings: swiftSettings
    ),

    // Storage: one SQLite file per tenant per service (GRDB, WAL), behind narrow stores.
    .target(
      name: "SightlineStorage",
      dependencies: ["SightlineModel", grdb, logging],
      swiftSettings: swiftSettings
    ),

    // The PostgreSQL backend's plumbing: database URLs, the pool, tenant transactions under
    // row-level security, migrations under an advisory lock, start-up errors.
    .target(
      name: "SightlinePostgres",
      dependencies: [
        "SightlineModel", "SightlineStorage", postgres, grdb, logging, lifecycle,
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),

    // Every backend's part of the tenant data lifecycle: export, verified import, delete.
    .target(
      name: "SightlineTenantData",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", grpcCore, logging, swiftProtobuf,
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),

    // Service libraries: the logic of each process, testable in-process.
    .target(
      name: "IngestionService",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", "SightlinePostgres", postgres, "SightlineTenantData",
        grpcCore, swiftProtobuf, logging,
        lifecycle, metrics, grdb,
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),
    .target(
      name: "MetricsService",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", "SightlinePostgres", postgres, "SightlineTenantData",
        grpcCore, swiftProtobuf, logging,
        lifecycle, metrics, grdb,
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),
    .target(
      name: "SegmentationService",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", "SightlinePostgres", postgres, "SightlineTenantData",
        grpcCore, swiftProtobuf, logging,
        lifecycle, grdb,
      ],
      swiftSettings: swiftSettings
    ),
    .target(
      name: "ExperimentsService",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", "SightlinePostgres", postgres, "SightlineTenantData",
        grpcCore, grpcTransport,
        swiftProtobuf, logging,
        lifecycle, grdb,
      ],
      swiftSettings: swiftSettings
    ),
    .target(
      name: "GatewayService",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", "SightlinePostgres", postgres, grpcCore, grpcTransport,
        swiftProtobuf, logging, lifecycle,
        grdb, .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    // The web cockpit: server-rendered pages with inline SVG charts, served by the gateway
    // process over HTTPS, built on the gateway's own gRPC API.
    .target(
      name: "Cockpit",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", grpcCore, grpcTransport, swiftProtobuf, logging, lifecycle,
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdHTTP2", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      swiftSettings: swiftSettings
    ),
    // The seeded demo data set: realistic service data with planted effects, shared by
    // `sightline demo`, the benchmarks and the tests.
    .target(
      name: "SightlineDemo",
      dependencies: ["SightlineModel", "SightlineWire", swiftProtobuf],
      swiftSettings: swiftSettings
    ),
    // Input files (NDJSON, CSV, flat ticket exports) read into ingestion events.
    .target(
      name: "SightlineRecords",
      dependencies: ["SightlineModel", "SightlineWire", swiftProtobuf, "ZIPFoundation", "Yams"],
      swiftSettings: swiftSettings
    ),
    // The launcher: starts the suite's executables and supervises them (`sightline up`,
    // `sightline demo`), seeds the demo, moves tenant export files. Reaches services only
    // by starting their executables or over gRPC: it links no service module.
    .target(
      name: "SightlineLauncher",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineDemo", grpcCore, grpcTransport, swiftProtobuf, logging,
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: swiftSettings
    ),
    // The test harness: the whole suite in one process, the fault drill, the gateway load
    // generator and many-tenant fleets. Tests and benchmarks use it; no shipped binary does.
    .target(
      name: "SightlineTesting",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineLauncher", "IngestionService", "MetricsService",
        "ExperimentsService", "SegmentationService", "GatewayService", "SightlinePostgres", grpcCore, grpcTransport, swiftProtobuf,
        logging, lifecycle,
      ],
      swiftSettings: swiftSettings
    ),

    // Thin executables: parse configuration, bootstrap logging, run the service.
    .executableTarget(
      name: "sightline-ingestion",
      dependencies: ["IngestionService", "SightlineModel", "SightlineRPC", argumentParser],
      path: "Services/sightline-ingestion",
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "sightline-metrics",
      dependencies: ["MetricsService", "SightlineModel", "SightlineRPC", argumentParser],
      path: "Services/sightline-metrics",
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "sightline-segmentation",
      dependencies: ["SegmentationService", "SightlineModel", "SightlineRPC", argumentParser],
      path: "Services/sightline-segmentation",
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "sightline-experiments",
      dependencies: ["ExperimentsService", "SightlineModel", "SightlineRPC", argumentParser],
      path: "Services/sightline-experiments",
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "sightline-gateway",
      dependencies: ["GatewayService", "Cockpit", "SightlineRPC", argumentParser, logging, lifecycle],
      path: "Services/sightline-gateway",
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "sightline",
      dependencies: [
        "SightlineModel", "SightlineRecords", "SightlineWire", "SightlineRPC", "SightlineLauncher", "SightlineDemo", grpcCore,
        grpcTransport, grpcProtobuf,
        swiftProtobuf, argumentParser, logging,
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),

    // Benchmarks: commands that print figures (docs/performance.md records the latest).
    .executableTarget(
      name: "bench-kpi",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineLauncher", "SightlineTesting", "SightlineDemo", "MetricsService",
        grpcCore,
        swiftProtobuf, grdb,
      ],
      path: "benchmarks/kpi",
      swiftSettings: swiftSettings
    ),

    .executableTarget(
      name: "bench-ingest",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineLauncher", "SightlineTesting", "SightlineStorage",
        "MetricsService", "SegmentationService", grpcCore, swiftProtobuf, grdb, logging,
      ],
      path: "benchmarks/ingest",
      swiftSettings: swiftSettings
    ),

    .executableTarget(
      name: "fault-drill",
      dependencies: ["SightlineModel", "SightlineLauncher", "SightlineTesting"],
      path: "benchmarks/faults",
      swiftSettings: swiftSettings
    ),

    .executableTarget(
      name: "failover-drill",
      dependencies: ["SightlineModel", "SightlineLauncher", "SightlineTesting"],
      path: "benchmarks/failover",
      swiftSettings: swiftSettings
    ),

    .executableTarget(
      name: "bench-load",
      dependencies: ["SightlineModel", "SightlineLauncher", "SightlineTesting"],
      path: "benchmarks/load",
      swiftSettings: swiftSettings
    ),

    .executableTarget(
      name: "bench-gateway",
      dependencies: [
        "SightlineModel", "SightlineRPC", "SightlineLauncher", "SightlineWire", grpcCore, grpcTransport,
      ],
      path: "benchmarks/gateway",
      swiftSettings: swiftSettings
    ),

    .executableTarget(
      name: "bench-import",
      dependencies: ["SightlineRecords"],
      path: "benchmarks/import",
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "bench-redaction",
      dependencies: ["SightlineModel"],
      path: "benchmarks/redaction",
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "bench-segments",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", "SightlineLauncher", "SightlineTesting",
        "SegmentationService", grpcCore, swiftProtobuf,
      ],
      path: "benchmarks/segments",
      swiftSettings: swiftSettings
    ),

    .executableTarget(
      name: "bench-tenants",
      dependencies: ["SightlineModel", "SightlineRPC", "SightlineLauncher", "SightlineTesting", grpcCore, grpcTransport],
      path: "benchmarks/tenants",
      swiftSettings: swiftSettings
    ),

    .testTarget(
      name: "SightlineTests",
      dependencies: [
        "SightlineModel", "SightlineWire", "SightlineRPC", "SightlineStorage", "IngestionService", "SightlineRecords",
        "MetricsService", "SegmentationService", "ExperimentsService", "GatewayService", "SightlineLauncher", "SightlineTesting",
        "SightlineDemo", "Cockpit", "SightlinePostgres", "ZIPFoundation",
        grpcCore, grpcTransport, grpcProtobuf, swiftProtobuf, logging, grdb, postgres,
        // Local receivers of delivered messages (Support/TestReceiver.swift).
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings
    ),
  ]
)
