/// A store's failure that will likely pass: its database is unreachable, restarting or
/// shutting down. Servers answer it with UNAVAILABLE, which clients retry (ingest is
/// idempotent by event id, so a retried batch is never stored twice).
public protocol StoreUnavailable: Error, CustomStringConvertible {}
