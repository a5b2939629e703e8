// The grid worker's patrol on the phone (/m/gridwork/): start and end a patrol; while the page is
// open during a patrol, take the phone's position every ~30 s and post it as a check-in point
// (POST /api/gridwork/day/patrols/<id>/points; a re-sent batch is ignored by the server), show the
// distance and the points and redraw the route as a plain SVG (no map tiles). The visit form
// (form[data-locate]) gets the phone's position in its hidden lon / lat / crs fields.
import { gettext, locate, phoneCrs, postJSON } from "../mobile/common.js";

const INTERVAL_MS = 30000;
const box = document.getElementById("patrol");
const status = document.getElementById("patrol-status");
const say = (msg) => { if (status) status.textContent = msg; };
// a fresh position for each check-in (common.js's locate accepts a minute-old one)
const here = () => new Promise((resolve) => {
  if (!navigator.geolocation) { say(gettext("此设备无法定位")); resolve(null); return; }
  navigator.geolocation.getCurrentPosition(
    (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, crs: phoneCrs(), accuracy: p.coords.accuracy }),
    () => { say(gettext("定位失败")); resolve(null); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 },
  );
});
const point = (p) => ({ lon: p.lon, lat: p.lat, crs: p.crs, accuracy: p.accuracy, at: new Date().toISOString() });

function draw(coords) {
  const line = document.getElementById("route-line");
  if (!line || !coords.length) return;
  const svg = document.getElementById("route");
  const [, , w, h] = svg.getAttribute("viewBox").split(" ").map(Number);
  const k = Math.cos((coords[0][1] * Math.PI) / 180);
  const xs = coords.map((c) => c[0] * k), ys = coords.map((c) => c[1]);
  const x0 = Math.min(...xs), y0 = Math.min(...ys);
  const span = Math.max(Math.max(...xs) - x0, Math.max(...ys) - y0, 1e-6);
  const pad = 10, s = Math.min(w - 2 * pad, h - 2 * pad) / span;
  const pts = xs.map((x, i) => [pad + (x - x0) * s, h - pad - (ys[i] - y0) * s].map((v) => v.toFixed(1)).join(","));
  line.setAttribute("points", pts.join(" "));
}

function show(patrol) {
  const d = document.getElementById("distance"), n = document.getElementById("points");
  if (d) d.textContent = Math.round(patrol.distance_m);
  if (n) n.textContent = patrol.point_count;
}

async function refresh(id) {
  const r = await fetch(`${box.dataset.api}/${id}`, { credentials: "same-origin" });
  if (r.ok) {
    const data = await r.json();
    show(data);
    const g = data.route.geometry;
    draw(g.type === "Point" ? [g.coordinates] : g.coordinates);
  }
}

async function checkIn(id) {
  const p = await here();
  if (!p) return;
  const r = await postJSON(`${box.dataset.api}/${id}/points`, { points: [point(p)] });
  if (r.ok) { show(r.data.patrol); say(gettext("已记录位置")); refresh(id); } else { say(r.data.detail || gettext("记录失败")); }
}

if (box) {
  const id = box.dataset.patrol;
  const start = document.getElementById("start-patrol");
  const end = document.getElementById("end-patrol");
  if (start) {
    start.addEventListener("click", async () => {
      start.disabled = true;
      say(gettext("正在定位…"));
      const p = await here();
      const r = await postJSON(`${box.dataset.api}/start`, p ? { lon: p.lon, lat: p.lat, crs: p.crs, accuracy: p.accuracy } : {});
      if (r.ok) { window.location.reload(); } else { say(r.data.detail || gettext("开始巡查失败")); start.disabled = false; }
    });
  }
  if (id) {
    try { draw(JSON.parse(box.dataset.route || "[]")); } catch (e) { /* no route yet */ }
    checkIn(id);
    const timer = setInterval(() => checkIn(id), INTERVAL_MS);
    if (end) {
      end.addEventListener("click", async () => {
        end.disabled = true;
        clearInterval(timer);
        const p = await here();
        const r = await postJSON(`${box.dataset.api}/${id}/end`, { points: p ? [point(p)] : [] });
        if (r.ok) { window.location.reload(); } else { say(r.data.detail || gettext("结束巡查失败")); end.disabled = false; }
      });
    }
  }
}

for (const form of document.querySelectorAll("form[data-locate]")) {
  locate((p) => {
    for (const k of ["lon", "lat", "crs"]) {
      const input = form.querySelector(`input[name=${k}]`);
      if (input) input.value = p[k];
    }
  }, () => {});
}
