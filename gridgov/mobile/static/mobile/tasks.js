// Volunteers: sort the free tasks by distance from the phone (the page reloads with ?lon&lat&crs).
import { gettext, locate } from "./common.js";

const b = document.getElementById("near-me");
if (b) {
  b.addEventListener("click", () => {
    b.disabled = true;
    b.textContent = gettext("正在定位…");
    locate(
      (loc) => { location.search = new URLSearchParams({ lon: loc.lon, lat: loc.lat, crs: loc.crs }).toString(); },
      (msg) => { b.disabled = false; b.textContent = msg; },
    );
  });
}
document.body.dataset.ready = "1";
