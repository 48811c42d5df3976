#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent: it
# says nothing and touches nothing when all of them are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev curl
  librdkafka-dev libcurl4-openssl-dev libsqlite3-dev liblz4-dev libzstd-dev
  libxxhash-dev libmicrohttpd-dev libjansson-dev libyaml-dev libsnappy-dev
  zlib1g-dev
  jq kcat wrk
  # Tests only: the ClickHouse backend runs against a real clickhouse-server
  # (Debian 12 ships 18.16), started by the tests as a plain process.
  clickhouse-server clickhouse-client
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Tests install their npm peers (DuckDB, neo4j-driver, the Cypher linter) into
# the build tree. Node.js 20 with npm is usually present from NodeSource; only
# when there is no node or npm at all do Debian's nodejs and npm come in (both
# from Debian, since Debian's npm conflicts with NodeSource's nodejs).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
