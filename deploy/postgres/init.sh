#!/bin/sh
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d):
# the two roles Sightline expects (docs/operations.md, "PostgreSQL") and their database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE ROLE sightline_owner LOGIN PASSWORD '${SIGHTLINE_OWNER_PASSWORD}';
CREATE ROLE sightline_service LOGIN PASSWORD '${SIGHTLINE_SERVICE_PASSWORD}';
CREATE DATABASE sightline OWNER sightline_owner;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname sightline <<SQL
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO sightline_owner;
GRANT USAGE ON SCHEMA public TO sightline_service;
SQL
