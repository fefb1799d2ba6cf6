public import GRDB
import SightlineModel
public import SightlineStorage

/// The SQLite schema of the metrics state, alert rules and alerts.
public enum MetricsSchema: SQLiteSchema {
  public static let migrations = [
    SQLiteMigration(
      "v1",
      """
      CREATE TABLE ticket (
        ticket_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL DEFAULT '',
        created_ms INTEGER,
        channel TEXT NOT NULL DEFAULT '',
        region TEXT NOT NULL DEFAULT '',
        business_line TEXT NOT NULL DEFAULT '',
        agent TEXT NOT NULL DEFAULT '',
        product_module TEXT NOT NULL DEFAULT '',
        problem_type TEXT NOT NULL DEFAULT '',
        priority TEXT NOT NULL DEFAULT 'normal',
        complaint INTEGER NOT NULL DEFAULT 0,
        first_reply_ms INTEGER,
        reply_count INTEGER NOT NULL DEFAULT 0,
        first_resolved_ms INTEGER,
        last_resolved_ms INTEGER,
        reopen_count INTEGER NOT NULL DEFAULT 0,
        status_open INTEGER,
        status_ms INTEGER,
        status_offset INTEGER,
        next_contact_ms INTEGER
      );
      CREATE INDEX ticket_by_created ON ticket(created_ms);
      CREATE INDEX ticket_by_customer ON ticket(customer_id, created_ms);
      CREATE TABLE status_event (
        ticket_id TEXT NOT NULL,
        log_offset INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        open INTEGER NOT NULL,
        PRIMARY KEY (ticket_id, log_offset)
      ) WITHOUT ROWID;
      CREATE TABLE survey (
        response_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        ticket_id TEXT NOT NULL,
        scale TEXT NOT NULL,
        score INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        channel TEXT NOT NULL
      );
      CREATE INDEX survey_by_time ON survey(time_ms);
      CREATE TABLE customer (
        customer_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        tier TEXT NOT NULL,
        region TEXT NOT NULL,
        profile_ms INTEGER NOT NULL
      );
      CREATE TABLE consumer (id INTEGER PRIMARY KEY CHECK (id = 1), applied_offset INTEGER NOT NULL);
      CREATE TABLE setting (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE alert_rule (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kpi TEXT NOT NULL,
        by_dimension TEXT,
        window_ms INTEGER NOT NULL,
        comparison TEXT,
        threshold REAL NOT NULL,
        anomaly INTEGER NOT NULL,
        min_sample INTEGER NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE TABLE alert (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        kpi TEXT NOT NULL,
        dimension TEXT,
        dimension_value TEXT NOT NULL,
        value REAL NOT NULL,
        sample_size INTEGER NOT NULL,
        expected_low REAL NOT NULL,
        expected_high REAL NOT NULL,
        severity TEXT NOT NULL,
        opened_ms INTEGER NOT NULL,
        resolved_ms INTEGER,
        window_start_ms INTEGER NOT NULL,
        window_end_ms INTEGER NOT NULL,
        message TEXT NOT NULL
      );
      CREATE INDEX alert_open ON alert(rule_id, dimension_value, resolved_ms);
      """),
    SQLiteMigration("v2-daily-rollups", rollupSchema),
    // The settings a day was built under: a build racing a settings change must not leave
    // a day counted under the old ones.
    SQLiteMigration("v3-rollup-settings", "ALTER TABLE rollup_day ADD COLUMN settings TEXT NOT NULL DEFAULT ''"),
    // What moved the KPI when the alert opened (docs/kpis.md, "Explaining a change").
    SQLiteMigration("v4-alert-contributors", "ALTER TABLE alert ADD COLUMN contributors TEXT NOT NULL DEFAULT ''"),
    // Dropping or replacing a day's rows (the key leads with the series) without reading
    // every row.
    SQLiteMigration("v5-rollup-by-day", "CREATE INDEX rollup_by_day ON rollup(day_start_ms)"),
    // Agents' handle time per ticket, from the replies that carry one (docs/workload.md).
    SQLiteMigration(
      "v6-ticket-handle-time",
      """
      ALTER TABLE ticket ADD COLUMN handle_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE ticket ADD COLUMN handled_replies INTEGER NOT NULL DEFAULT 0;
      """),
    // What a rule watches: a KPI, or the staffing gap ahead (docs/workload.md).
    SQLiteMigration("v7-alert-rule-kind", "ALTER TABLE alert_rule ADD COLUMN kind TEXT NOT NULL DEFAULT 'kpi'"),
    // The open tickets of the last days, whose resolution SLA a query judges (docs/kpis.md).
    SQLiteMigration("v8-open-tickets", "CREATE INDEX ticket_open ON ticket(created_ms) WHERE status_open = 1"),
    // Cases, their history and the case rules (docs/cases.md).
    SQLiteMigration(
      "v9-cases",
      """
      CREATE TABLE service_case (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        source TEXT NOT NULL,
        source_ref TEXT NOT NULL,
        owner TEXT NOT NULL,
        due_ms INTEGER NOT NULL,
        due_business INTEGER NOT NULL,
        status TEXT NOT NULL,
        overdue INTEGER NOT NULL,
        scope TEXT NOT NULL,
        action TEXT NOT NULL,
        opened_ms INTEGER NOT NULL,
        first_action_ms INTEGER,
        closed_ms INTEGER,
        version INTEGER NOT NULL,
        follow_up_attempts INTEGER NOT NULL,
        first_follow_up_ms INTEGER,
        answer_scale TEXT NOT NULL,
        answer_score INTEGER,
        answer_ms INTEGER
      );
      CREATE INDEX case_by_opened ON service_case(opened_ms);
      CREATE INDEX case_by_due ON service_case(status, due_ms);
      CREATE TABLE case_change (
        case_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (case_id, version)
      ) WITHOUT ROWID;
      CREATE TABLE case_rules (id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL);
      CREATE INDEX survey_by_customer_time ON survey(customer_id, time_ms);
      """),
    // Endpoints and the outbox of messages about alerts and cases (docs/delivery.md).
    SQLiteMigration(
      "v10-delivery",
      """
      CREATE TABLE delivery_endpoint (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        events TEXT NOT NULL,
        language TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        disabled_reason TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE TABLE outbox_event (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        payload TEXT NOT NULL,
        fanned_out INTEGER NOT NULL
      );
      CREATE INDEX outbox_to_fan_out ON outbox_event(at_ms) WHERE fanned_out = 0;
      CREATE TABLE delivery (
        event_id TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        next_ms INTEGER NOT NULL,
        last_attempt_ms INTEGER,
        last_error TEXT NOT NULL,
        delivered_ms INTEGER,
        folded_into TEXT NOT NULL,
        PRIMARY KEY (event_id, endpoint_id)
      ) WITHOUT ROWID;
      CREATE INDEX delivery_due ON delivery(status, next_ms);
      CREATE INDEX delivery_by_endpoint ON delivery(endpoint_id, last_attempt_ms);
      CREATE INDEX delivery_by_created ON delivery(created_ms);
      """),
    // The verified effects of cases' actions, one per horizon (docs/cases.md, "Verified effect").
    SQLiteMigration(
      "v11-case-verification",
      """
      CREATE TABLE case_verification (
        case_id TEXT NOT NULL,
        horizon_days INTEGER NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (case_id, horizon_days)
      ) WITHOUT ROWID;
      """),
    // A case's action can be replaced: each action's horizons are verified on their own, so
    // a verification names the action (its effective time) it judged.
    SQLiteMigration(
      "v12-verification-per-action",
      """
      CREATE TABLE case_verification_new (
        case_id TEXT NOT NULL,
        action_ms INTEGER NOT NULL,
        horizon_days INTEGER NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (case_id, action_ms, horizon_days)
      ) WITHOUT ROWID;
      INSERT INTO case_verification_new (case_id, action_ms, horizon_days, document)
        SELECT v.case_id, COALESCE(json_extract(NULLIF(c.action, ''), '$.effectiveMs'), 0), v.horizon_days, v.document
        FROM case_verification v LEFT JOIN service_case c ON c.id = v.case_id;
      DROP TABLE case_verification;
      ALTER TABLE case_verification_new RENAME TO case_verification;
      """),
  ]
}

/// The metrics service's per-tenant state: tickets folded from their events, status
/// history (for backlog), survey answers, customers' tier and type, the consumer's offset,
/// KPI settings, alert rules and alerts.
///
/// The consumer applies each batch of log entries and the offset reached in one
/// transaction (``apply(_:throughOffset:)``), so a crash or restart neither loses nor
/// double counts an event. Ticket rows hold per-ticket facts (first reply, last
/// resolution, reply and reopen counts, status, next contact), so late and out-of-order
/// events simply update the ticket they belong to, and KPIs stay exact.
public typealias SQLiteMetricsStore = SQLiteStore<MetricsSchema>

extension SQLiteStore: MetricsStore where Schema == MetricsSchema {
}
