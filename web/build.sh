#!/usr/bin/env bash
# Refreshes the vendored GraphiQL browser bundles in static/assets/vendor/.
#
# Run this after changing the pinned versions in package.json (then commit
# package.json, package-lock.json and static/). `go build` never needs npm:
# the copied files are committed and embedded with go:embed.
set -euo pipefail

cd "$(dirname "$0")"

npm ci --no-audit --no-fund --ignore-scripts

vendor=static/assets/vendor
rm -rf "$vendor"
mkdir -p "$vendor"

# React 18 UMD builds expose the globals React and ReactDOM.
cp node_modules/react/umd/react.production.min.js "$vendor/react.production.min.js"
cp node_modules/react-dom/umd/react-dom.production.min.js "$vendor/react-dom.production.min.js"

# graphiql 4.x ships one self-contained UMD bundle (it already includes
# @graphiql/react, the plugins, codemirror and graphql) that reads the React
# and ReactDOM globals and defines the global GraphiQL. Drop the
# sourceMappingURL comment: the 4.7 MB map is not shipped, and a dangling
# reference only makes devtools request a file that would 404.
sed '/^\/\/# sourceMappingURL=/d' node_modules/graphiql/dist/index.umd.js > "$vendor/graphiql.min.js"
# style.css embeds its fonts and images as data: URLs.
cp node_modules/graphiql/dist/style.css "$vendor/graphiql.min.css"

# Licence texts of the shipped bundles.
cp node_modules/react/LICENSE "$vendor/LICENSE.react.txt"
cp node_modules/react-dom/LICENSE "$vendor/LICENSE.react-dom.txt"
cp node_modules/graphiql/LICENSE "$vendor/LICENSE.graphiql.txt"

# Record exactly what was copied.
node -e '
const v = n => require("./node_modules/" + n + "/package.json").version;
const out = ["react", "react-dom", "graphiql"]
  .map(n => n + " " + v(n)).join("\n") + "\n";
require("fs").writeFileSync(process.argv[1], out);
' "$vendor/VERSIONS.txt"

du -sh static
