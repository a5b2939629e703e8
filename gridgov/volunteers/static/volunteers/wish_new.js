// Posting one's own wish: fill the hidden lon/lat/crs from the phone's location (the grid is
// found from the point when the account is not linked to the registry).
import { gettext, locate } from "../mobile/common.js";

const b = document.getElementById("wish-locate");
if (b) {
  const out = document.getElementById("wish-located");
  b.addEventListener("click", () => {
    out.textContent = gettext("正在定位…");
    locate((p) => {
      for (const k of ["lon", "lat", "crs"]) document.getElementById(`wish-${k}`).value = p[k];
      out.textContent = gettext("已定位");
    }, (msg) => { out.textContent = msg; });
  });
}
