#!/usr/bin/env bash
# The PostgreSQL ceiling bench-ingest --database is measured against: psql's \copy of the
# same rows (the event log's columns, as bench-ingest stored them) into an equivalent
# table, on the same server. Run it after bench-ingest --database URL, with the owner URL
# of the same database:
#
#   benchmarks/ingest/copy-baseline.sh OWNER_URL
#
# Prints rows/s. Leaves nothing behind (its table and file are dropped).
set -euo pipefail
url="${1:?usage: copy-baseline.sh OWNER_URL}"
file=$(mktemp /tmp/sightline-copy.XXXXXX.csv)
trap 'rm -f "$file"; psql -q "$url" -c "DROP TABLE IF EXISTS public.copy_baseline" >/dev/null 2>&1 || true' EXIT
# The rows bench-ingest stored (the owner is subject to row-level security too: FORCE),
# read tenant by tenant.
tenants=$(psql -qtA "$url" -c "SELECT tenant_id FROM public.sightline_tenant WHERE component = 'ingestion' AND state = 'live'")
: >"$file"
for tenant in $tenants; do
  psql -q "$url" -c "SET sightline.tenant = '$tenant'" \
    -c "\copy (SELECT tenant_id, \"offset\", event_id, kind, event_time_ms, ingested_at_ms, payload FROM ingestion.event) TO STDOUT WITH (FORMAT csv)" \
    >>"$file"
done
rows=$(wc -l <"$file")
psql -q "$url" -c "DROP TABLE IF EXISTS public.copy_baseline; CREATE TABLE public.copy_baseline (LIKE ingestion.event INCLUDING ALL)"
start=$(date +%s.%N)
psql -q "$url" -c "\copy public.copy_baseline FROM '$file' WITH (FORMAT csv)"
end=$(date +%s.%N)
python3 -c "import sys; rows=$rows; s=$end-$start; print(f'psql \\\\copy of the same {rows} rows into an equivalent table: {s:.2f} s = {rows/s:.0f} rows/s')"
