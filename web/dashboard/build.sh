#!/usr/bin/env bash
# Refreshes the vendored Chart.js bundle in static/assets/vendor/ for the ministry dashboard.
#
# Run this after changing the pinned version in package.json (then commit package.json,
# package-lock.json and static/). `go build` never needs npm: the copied files are committed and
# embedded with go:embed.
set -euo pipefail

cd "$(dirname "$0")"

npm ci --no-audit --no-fund --ignore-scripts

vendor=static/assets/vendor
rm -rf "$vendor"
mkdir -p "$vendor"

# The UMD build defines the global Chart. Drop the sourceMappingURL comment: the map is not shipped.
sed '/^\/\/# sourceMappingURL=/d' node_modules/chart.js/dist/chart.umd.min.js > "$vendor/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$vendor/LICENSE.chart.js.txt"

node -e '
const v = require("./node_modules/chart.js/package.json").version;
require("fs").writeFileSync(process.argv[1], "chart.js " + v + "\n");
' "$vendor/VERSIONS.txt"

du -sh static
