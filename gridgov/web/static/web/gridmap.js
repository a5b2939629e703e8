// The grid's polygon and its children on a Leaflet map with no basemap (works offline).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("gridmap");
  var data = document.getElementById("grid-shapes");
  if (!el || !data || typeof L === "undefined") return;
  var shapes = JSON.parse(data.textContent);
  if (!shapes.features.length) { el.remove(); return; }
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
  var layer = L.geoJSON(shapes, {
    style: function (f) {
      return f.properties.role === "self"
        ? { color: "#b3261e", weight: 3, fillOpacity: 0.05 }
        : { color: "#2f6fb3", weight: 1, fillOpacity: 0.12 };
    },
    onEachFeature: function (f, l) {
      if (f.properties.role === "child") {
        l.bindTooltip(f.properties.name);
        l.on("click", function () { window.location = "/grids/" + f.properties.code + "/"; });
      }
    },
  }).addTo(map);
  map.fitBounds(layer.getBounds(), { padding: [10, 10] });
});
