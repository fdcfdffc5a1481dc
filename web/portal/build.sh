#!/usr/bin/env bash
# The partner portal ships no npm code: its pages are plain JavaScript modules in static/assets, written for
# this project, with English and Malay message catalogs in static/assets/i18n. npm brings only the browser
# tests' accessibility suite: this copies axe-core, at the version pinned in package.json, to
# server/testdata/axe.min.js, where the browser tests read it (CI needs no npm step for it).
#
# Run this after changing the pinned version (then commit package.json, package-lock.json and the copy).
# It also prints each page's JavaScript and CSS size, as README states them.
set -euo pipefail

cd "$(dirname "$0")"

npm ci --no-audit --no-fund --ignore-scripts

out=../../server/testdata
sed '/^\/\/# sourceMappingURL=/d' node_modules/axe-core/axe.min.js > "$out/axe.min.js"
cp node_modules/axe-core/LICENSE "$out/LICENSE.axe-core.txt"
node -e 'console.log("axe-core " + require("./node_modules/axe-core/package.json").version)'

# Each page loads portal.js, i18n.js and portal.css, its role's module (the officer's also imports ngo.js for
# the case fields) and one catalog (i18n/XX.json).
cd static/assets
size() { printf '%-9s %6d bytes, %5d gzipped (%s)\n' "$1" "$(cat "${@:2}" | wc -c)" "$(cat "${@:2}" | gzip -9 | wc -c)" "${*:2}"; }
size ngo portal.js i18n.js portal.css ngo.js
size employer portal.js i18n.js portal.css employer.js
size officer portal.js i18n.js portal.css officer.js ngo.js
size operator portal.js i18n.js portal.css operator.js
size catalog i18n/en.json
