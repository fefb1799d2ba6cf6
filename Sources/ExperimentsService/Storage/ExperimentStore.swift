public import Foundation
public import SightlineModel
public import SightlineStorage

/// A tenant's experiment definitions: what the experiments service needs from its storage.
/// A definition is an opaque serialized message owned by the service, keyed by name.
public protocol ExperimentStore: Sendable {
  /// Stores a new definition; false if the name is taken.
  func create(name: String, definition: Data) throws -> Bool
  /// The definition named `name`, if any.
  func definition(name: String) throws -> Data?
  /// All definitions, oldest first.
  func all() throws -> [Data]
}

/// Every tenant's experiment definitions, and the tenant data lifecycle over them.
public protocol ExperimentStorage: TenantDataStore {
  /// The definitions of `tenant`, created on first use.
  func experiments(for tenant: TenantID) throws -> any ExperimentStore
}

extension SQLiteTenantStores: ExperimentStorage where Schema == ExperimentSchema {
  public func experiments(for tenant: TenantID) throws -> any ExperimentStore { try store(for: tenant) }
}
