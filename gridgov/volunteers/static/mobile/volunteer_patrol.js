// A steward's patrol: while the page is open, send the phone's position every 30 s (or when it
// moves) to /api/volunteers/teams/patrols/<id>/track. Nothing is sent once the page is closed.
import { gettext, phoneCrs, postJSON } from "./common.js";

const box = document.getElementById("patrol");
if (box && navigator.geolocation) {
  const url = box.dataset.track;
  const count = document.getElementById("track-count");
  const dist = document.getElementById("track-distance");
  const status = document.getElementById("track-status");
  let pending = [];
  let last = 0;
  const send = async () => {
    if (!pending.length) return;
    const points = pending;
    pending = [];
    const r = await postJSON(url, { points, crs: phoneCrs() });
    if (r.ok) {
      count.textContent = r.data.points;
      dist.textContent = r.data.distance_m;
      status.textContent = "";
    } else {
      status.textContent = r.data.detail || gettext("位置上传失败");
    }
  };
  navigator.geolocation.watchPosition(
    (p) => {
      pending.push([p.coords.latitude, p.coords.longitude]);
      const now = Date.now();
      if (now - last > 30000) { last = now; send(); }
    },
    (e) => { status.textContent = e.code === 1 ? gettext("未允许定位") : gettext("定位失败"); },
    { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 },
  );
  setInterval(send, 30000);
}
document.body.dataset.ready = "1";
