#!/bin/sh
# Re-vendor tus-js-client's browser build into static/vendor/tus-js-client/ (`make vendor-tus`).
# npm fetches the release into a temporary folder; only the minified UMD bundle, its source map
# and the licences are copied, so the upload page needs nothing from outside the site.
# TUS_JS_CLIENT_VERSION (default: the newest 4.x) picks the release.
set -eu

version_range=${TUS_JS_CLIENT_VERSION:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
target=$here/static/vendor/tus-js-client
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init --yes >/dev/null
npm install --no-audit --no-fund --ignore-scripts --save-exact "tus-js-client@$version_range" >/dev/null
package=node_modules/tus-js-client
version=$(node -p "require('./$package/package.json').version")
case $version in
    4.*) ;;
    *) echo "vendor-tus-js-client: expected a 4.x release, npm gave $version" >&2; exit 1 ;;
esac
previous=$(cat "$target/VERSION" 2>/dev/null || echo none)

mkdir -p "$target"
cp "$package/dist/tus.min.js" "$package/dist/tus.min.js.map" "$target/"
cp "$package/LICENSE" "$target/LICENSE"
# The licences of the npm dependencies that the bundle includes (the rest come from browserify's
# shims, listed in the README beside the bundle).
for dependency in js-base64 url-parse querystringify requires-port; do
    for name in LICENSE LICENSE.md LICENSE.txt; do
        if [ -f "node_modules/$dependency/$name" ]; then
            cp "node_modules/$dependency/$name" "$target/LICENSE.$dependency"
            break
        fi
    done
done
printf '%s\n' "$version" >"$target/VERSION"
echo "tus-js-client $version (was $previous) vendored into ${target#"$here"/}"
