#!/usr/bin/env bash
# Copy front-end assets from node_modules (installed from the npm registry by `make install`)
# into gridgov/web/static/vendor, so that pages never load anything from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
out=gridgov/web/static/vendor
rm -rf "$out"
mkdir -p "$out/leaflet" "$out/echarts" "$out/htmx" "$out/axe" "$out/geoman"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$out/leaflet/"
cp -r node_modules/leaflet/dist/images "$out/leaflet/"
cp node_modules/echarts/dist/echarts.min.js "$out/echarts/"
# polygon drawing and vertex editing on the map (/map/)
cp node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css "$out/geoman/"
cp node_modules/axe-core/axe.min.js "$out/axe/"
for f in LICENSE LICENSE.md; do
  for p in htmx.org leaflet echarts axe-core @geoman-io/leaflet-geoman-free; do
    [ -f "node_modules/$p/$f" ] && cp "node_modules/$p/$f" "$out/LICENSE-${p##*/}" || true
  done
done
echo "vendored assets into $out"
