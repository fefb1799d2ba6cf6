public import Foundation
import NIOCore
import PostgresNIO
public import SightlineModel
public import SightlinePostgres
import SightlineStorage

/// The PostgreSQL schema of the experiment definitions (``ExperimentSchema``'s table with
/// `tenant_id` leading its key), in the `experiments` schema.
public enum ExperimentPostgresSchema: PostgresSchema {
  public static let component = "experiments"
  public static let migrations = [
    PostgresMigration(
      version: 1, name: "experiments",
      statements: [
        """
        CREATE TABLE experiment (
          tenant_id text NOT NULL, name text NOT NULL, definition bytea NOT NULL, created_ms bigint NOT NULL,
          PRIMARY KEY (tenant_id, name))
        """
      ],
      tenantTables: ["experiment"])
  ]
}

/// Every tenant's experiment definitions in one PostgreSQL database.
public typealias PostgresExperimentStores = PostgresTenantStores<ExperimentPostgresSchema, ExperimentSchema>

extension PostgresTenantStores: ExperimentStorage where Schema == ExperimentPostgresSchema, Export == ExperimentSchema {
  public func experiments(for tenant: TenantID) throws -> any ExperimentStore { try store(for: tenant) }
}

extension PostgresStore: ExperimentStore where Schema == ExperimentPostgresSchema {
  public func create(name: String, definition: Data) throws -> Bool {
    try transaction { session in
      try session.execute(
        """
        INSERT INTO experiment (tenant_id, name, definition, created_ms)
        VALUES (\(tenant.rawValue), \(name), \(ByteBuffer(bytes: definition)), \(WallClock.now))
        ON CONFLICT (tenant_id, name) DO NOTHING
        """) == 1
    }
  }

  public func definition(name: String) throws -> Data? {
    try transaction { session in
      try session.value("SELECT definition FROM experiment WHERE tenant_id = \(tenant.rawValue) AND name = \(name)", as: ByteBuffer.self)
        .map { Data($0.readableBytesView) }
    }
  }

  public func all() throws -> [Data] {
    try transaction { session in
      try session.query("SELECT definition FROM experiment WHERE tenant_id = \(tenant.rawValue) ORDER BY created_ms, name")
        .map { Data(try $0.decode(ByteBuffer.self).readableBytesView) }
    }
  }
}
