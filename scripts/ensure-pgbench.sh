#!/usr/bin/env bash
# Prints the path of a pgbench binary for the P0 gate's database reference. Uses one already
# installed (PATH, Debian's /usr/lib/postgresql/<v>/bin); otherwise extracts it from Debian's
# postgresql-15 package into .tmp/pgbench without installing anything (no server, no cluster).
# It needs libpq5, which Debian's postgresql-client (psql) already brings.
set -euo pipefail
cd "$(dirname "$0")/.."
found="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1 || true)"
if [ -n "$found" ] && [ -x "$found" ]; then echo "$found"; exit 0; fi
dir="$(pwd)/.tmp/pgbench"
existing="$(ls "$dir"/root/usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1 || true)"
if [ -z "$existing" ]; then
  mkdir -p "$dir" && cd "$dir"
  apt-get download postgresql-15 >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download postgresql-15 >/dev/null; }
  dpkg-deb -x postgresql-15_*.deb root
  existing="$(ls "$dir"/root/usr/lib/postgresql/*/bin/pgbench | tail -1)"
fi
echo "$existing"
