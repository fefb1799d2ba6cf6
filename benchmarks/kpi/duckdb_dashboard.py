#!/usr/bin/env python3
"""The dashboard question of bench-kpi, asked of DuckDB: the reference a data team would
reach for. Loads the per-ticket table and the CSAT answers that bench-kpi exported (CSV,
not timed), then times the query: 10 KPIs over the last 90 days by business line, with the
definitions of docs/kpis.md. Prints one line: `p50_ms <ms> runs <n> rows <lines>`.

    python3 benchmarks/kpi/duckdb_dashboard.py TICKETS.csv ANSWERS.csv START_MS END_MS NOW_MS [RUNS]
"""
import statistics
import sys
import time

try:
    import duckdb
except ImportError:
    print("duckdb not installed (pip install duckdb)")
    sys.exit(0)

tickets, answers, start, end, now = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
runs = int(sys.argv[6]) if len(sys.argv) > 6 else 5
db = duckdb.connect()
db.execute(f"CREATE TABLE ticket AS SELECT * FROM read_csv_auto('{tickets}', header = true)")
db.execute(f"CREATE TABLE answer AS SELECT * FROM read_csv_auto('{answers}', header = true)")

QUERY = f"""
WITH t AS (
  SELECT *, CASE priority WHEN 'urgent' THEN 3600000 WHEN 'high' THEN 14400000
                          WHEN 'normal' THEN 28800000 ELSE 86400000 END AS target
  FROM ticket WHERE created_ms >= {start} AND created_ms < {end}
), tickets AS (
  SELECT business_line,
    count(*) AS volume,
    avg(first_reply_ms - created_ms) AS frt_mean,
    quantile_cont(first_reply_ms - created_ms, 0.5) AS frt_median,
    quantile_cont(first_reply_ms - created_ms, 0.9) AS frt_p90,
    avg(CASE WHEN status_open = 0 THEN last_resolved_ms - created_ms END) AS resolution_mean,
    quantile_cont(CASE WHEN status_open = 0 THEN last_resolved_ms - created_ms END, 0.5) AS resolution_median,
    quantile_cont(CASE WHEN status_open = 0 THEN last_resolved_ms - created_ms END, 0.9) AS resolution_p90,
    count(*) FILTER (WHERE first_reply_ms IS NULL) AS unanswered,
    count(*) FILTER (WHERE status_open = 0 AND reply_count = 1 AND reopen_count = 0)
      / nullif(count(*) FILTER (WHERE status_open = 0), 0) AS fcr_rate,
    count(*) FILTER (WHERE first_resolved_ms IS NOT NULL AND reopen_count > 0)
      / nullif(count(*) FILTER (WHERE first_resolved_ms IS NOT NULL), 0) AS reopen_rate,
    count(*) FILTER (WHERE first_reply_ms <= created_ms + target)
      / nullif(count(*) FILTER (WHERE first_reply_ms IS NOT NULL OR {now} > created_ms + target), 0) AS sla_first_response,
    avg(complaint::INTEGER) AS complaint_rate,
    count(*) FILTER (WHERE next_contact_ms IS NOT NULL AND next_contact_ms - created_ms <= 604800000)
      / count(*) AS repeat_contact_rate
  FROM t GROUP BY business_line
), answers AS (
  SELECT coalesce(tk.business_line, '') AS business_line,
    count(*) FILTER (WHERE a.score >= 4) / count(*) AS csat
  FROM answer a LEFT JOIN ticket tk ON tk.ticket_id = a.ticket_id
  WHERE a.time_ms >= {start} AND a.time_ms < {end} GROUP BY 1
)
SELECT * FROM tickets FULL JOIN answers USING (business_line) ORDER BY business_line
"""

times = []
rows = []
for _ in range(runs):
    began = time.perf_counter()
    rows = db.execute(QUERY).fetchall()
    times.append((time.perf_counter() - began) * 1000)
print(f"p50_ms {statistics.median(times):.1f} runs {runs} rows {len(rows)} duckdb {duckdb.__version__}")
