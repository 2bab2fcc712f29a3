#!/usr/bin/env bash
# Vendors the lineage viewer's graph library into app/api/static/vendor/ (the machines that run
# idgraph have no internet, so no CDN). To update: set VERSION and INTEGRITY to the new
# release (`npm view cytoscape@X.Y.Z dist.integrity`), run this, delete the old file, and
# change the <script src> in app/api/templates/viewer.html.
set -euo pipefail

VERSION=3.34.4
INTEGRITY=sha512-msY99tMY8iWTg+sIPGfSqDcPNOt4xcj+v/K/7qUFaCUxxlqnMkUYLBjRUzn9W5CU/R2hrmtJa5+UtovrEM2ctg==

cd "$(dirname "$0")/.."
dest=app/api/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "cytoscape@$VERSION" >/dev/null)
tarball="$work/cytoscape-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$actual" != "$INTEGRITY" ]]; then
    echo "cytoscape-$VERSION.tgz: integrity $actual, expected $INTEGRITY" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work" package/dist/cytoscape.min.js package/LICENSE
mkdir -p "$dest"
cp "$work/package/dist/cytoscape.min.js" "$dest/cytoscape-$VERSION.min.js"
cp "$work/package/LICENSE" "$dest/cytoscape.LICENSE"
echo "vendored cytoscape $VERSION into $dest"
