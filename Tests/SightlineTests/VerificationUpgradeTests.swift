import Foundation
import GRDB
import Logging
import PostgresNIO
import SightlineModel
import SightlinePostgres
import SightlineStorage
import Testing

@testable import MetricsService

/// Verifications stored before they named the action they judged (SQLite up to
/// v11-case-verification, PostgreSQL up to version 10) are carried over to their case's
/// action when the schema moves on, on both backends: an upgrade neither verifies those
/// actions again nor loses their verdicts.
@Suite(.serialized) struct VerificationUpgradeTests {
  static let effectiveMs: Int64 = 1_700_000_000_000

  /// A case with an action and one without, as the old schema stored them.
  static let cases: [(id: String, action: String)] = [
    ("with-action", actionJSON), ("without-action", ""),
  ]

  static var actionJSON: String {
    let action = CaseAction(description: "Callback", effectiveMs: effectiveMs, scope: CaseScope(), verifyAfterDays: nil)
    return String(decoding: try! JSONEncoder().encode(action), as: UTF8.self)
  }

  static func verification(_ horizon: Int) -> String {
    CaseVerification(
      horizonDays: horizon, evaluatedMs: effectiveMs + Int64(horizon) * 86_400_000, kpi: "csat", dimension: "region",
      treated: ["south"], controlUnits: 5, method: "permutation", effect: 0.1, ciLow: 0.01, ciHigh: 0.2, pValue: 0.03,
      verdict: .improved, weakerEvidence: false, note: "by hand"
    ).document
  }

  /// What the upgraded schema must hold.
  static let expected: Set<VerifiedHorizon> = [
    VerifiedHorizon(caseID: "with-action", actionEffectiveMs: effectiveMs, horizonDays: 14),
    VerifiedHorizon(caseID: "with-action", actionEffectiveMs: effectiveMs, horizonDays: 28),
    VerifiedHorizon(caseID: "without-action", actionEffectiveMs: 0, horizonDays: 14),
  ]

  static let caseColumns =
    "id, title, source, source_ref, owner, due_ms, due_business, status, overdue, scope, action, opened_ms, version, follow_up_attempts, answer_scale"

  @Test func sqliteCarriesOldVerificationsToTheirAction() throws {
    let queue = try DatabaseQueue()
    try SQLiteStore<MetricsSchema>.migrator.migrate(queue, upTo: "v11-case-verification")
    try queue.write { db in
      for item in Self.cases {
        try db.execute(
          sql: "INSERT INTO service_case (\(Self.caseColumns)) VALUES (?, 'x', 'person', '', '', 0, 0, 'open', 0, '{}', ?, 0, 1, 0, '')",
          arguments: [item.id, item.action])
      }
      for (caseID, horizon) in [("with-action", 14), ("with-action", 28), ("without-action", 14)] {
        try db.execute(
          sql: "INSERT INTO case_verification (case_id, horizon_days, document) VALUES (?, ?, ?)",
          arguments: [caseID, horizon, Self.verification(horizon)])
      }
    }
    try SQLiteStore<MetricsSchema>.migrator.migrate(queue)
    let store = SQLiteStore<MetricsSchema>(writer: queue)
    #expect(try store.verifiedHorizons() == Self.expected)
    let kept = try store.verifications(caseID: "with-action", actionEffectiveMs: Self.effectiveMs)
    #expect(kept.map(\.horizonDays) == [14, 28] && kept.allSatisfy { $0.verdict == .improved && $0.note == "by hand" })
  }

  /// The metrics schema's migrations up to version 10, in a namespace of their own.
  enum MetricsAtVersion10: PostgresSchema {
    static let component = "verification_upgrade_probe"
    static var migrations: [PostgresMigration] { MetricsPostgresSchema.migrations.filter { $0.version <= 10 } }
  }

  /// All of them, in the same namespace.
  enum MetricsLatest: PostgresSchema {
    static let component = MetricsAtVersion10.component
    static var migrations: [PostgresMigration] { MetricsPostgresSchema.migrations }
  }

  @Test(.enabled(if: TestPostgres.available, TestPostgres.howToRun))
  func postgresCarriesOldVerificationsToTheirAction() throws {
    let urls = try TestPostgres.urls()
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    try TestPostgres.with(urls.owner) { owner in
      try owner.withSession { try $0.execute("DROP SCHEMA IF EXISTS verification_upgrade_probe CASCADE") }
      try owner.withSession {
        try $0.execute(
          """
          DO $$ BEGIN
            IF to_regclass('sightline_schema') IS NOT NULL THEN
              DELETE FROM sightline_schema WHERE component = 'verification_upgrade_probe';
            END IF;
          END $$
          """)
      }
    }
    let tenants = [TestBackend.freshTenant(), TestBackend.freshTenant()]
    let old = try PostgresStartup.pool(for: MetricsAtVersion10.self, url: urls.service, ownerURL: urls.owner, logger: logger)
    for tenant in tenants {
      try old.transaction(tenant: tenant) { session in
        for item in Self.cases {
          try session.execute(
            """
            INSERT INTO service_case (tenant_id, \(unescaped: Self.caseColumns))
            VALUES (\(tenant.rawValue), \(item.id), 'x', 'person', '', '', 0, 0, 'open', 0, '{}', \(item.action), 0, 1, 0, '')
            """)
        }
        for (caseID, horizon) in [("with-action", 14), ("with-action", 28), ("without-action", 14)] {
          try session.execute(
            """
            INSERT INTO case_verification (tenant_id, case_id, horizon_days, document)
            VALUES (\(tenant.rawValue), \(caseID), \(Int64(horizon)), \(Self.verification(horizon)))
            """)
        }
      }
    }
    old.close()
    let upgraded = try PostgresStartup.pool(for: MetricsLatest.self, url: urls.service, ownerURL: urls.owner, logger: logger)
    defer { upgraded.close() }
    for tenant in tenants {
      let rows = try upgraded.transaction(tenant: tenant) { session in
        try session.query("SELECT case_id, action_ms, horizon_days FROM case_verification").map { row in
          let (caseID, actionMs, horizon) = try row.decode((String, Int64, Int64).self)
          return VerifiedHorizon(caseID: caseID, actionEffectiveMs: actionMs, horizonDays: Int(horizon))
        }
      }
      #expect(Set(rows) == Self.expected, "\(tenant)")
    }
  }
}
