// A property company's answer to a problem on the phone: fill in the phone's position (the
// answer's lon / lat / crs); the answer goes without it when the phone cannot tell.
import { gettext, locate } from "./common.js";

const where = document.getElementById("answer-where");
if (where) {
  locate(
    (p) => {
      document.getElementById("answer-lon").value = p.lon;
      document.getElementById("answer-lat").value = p.lat;
      document.getElementById("answer-crs").value = p.crs;
      where.textContent = gettext("已定位");
    },
    () => { where.textContent = gettext("定位失败"); },
  );
}
