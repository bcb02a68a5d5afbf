#!/usr/bin/env bash
# CTest `openapi_lint` (label lint): checks the public API's machine-readable contract.
#  1. every schemas/*.json parses, is draft-04 and uses only what RapidJSON 1.1 implements, and
#     the request examples in tests/lint/schema_examples.json pass / fail as listed (plain node);
#  2. schemas/openapi.yaml passes Redocly CLI's lint with warnings promoted to errors
#     (recommended-strict), so a new warning fails the test too.
# Usage: openapi_lint.sh <source dir> [npm cache dir]
# Needs node >= 20 and npx; the first run downloads @redocly/cli from the npm registry.
set -euo pipefail

src=${1:?usage: openapi_lint.sh <source dir> [npm cache dir]}
cache=${2:-${TMPDIR:-/tmp}/paymux-npm-cache}
readonly REDOCLY_CLI=@redocly/cli@2.77.0
cd "$src"

echo "== schemas/*.json: parse, draft-04, RapidJSON subset, examples"
node tests/lint/schema_examples.js "$src"

echo "== schemas/openapi.yaml: $REDOCLY_CLI lint"
mkdir -p "$cache"
export npm_config_cache="$cache"
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false
export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true
npx --yes "$REDOCLY_CLI" lint --extends recommended-strict schemas/openapi.yaml
