// The report page: text (with the platform's suggested item as one types), photos resized on
// the phone, location from the phone or a pin, nearby duplicates to join, and an outbox that
// survives poor signal (see outbox.js).
import { csrfToken, el, gettext, interpolate, locate, pageLang, phoneCrs, postJSON, uuid4 } from "./common.js";
import * as outbox from "./outbox.js";

const MAX_SIDE = 1280, MAX_PHOTOS = 3;
const $ = (id) => document.getElementById(id);
const root = $("report"), form = $("report-form"), text = $("text"), itemSel = $("item");
const state = { photos: [], loc: null, itemChosen: false, map: null, marker: null };

function say(msg, kind = "info") {
  const box = $("status");
  box.replaceChildren(msg ? el("p", { class: `msg ${kind}` }, msg) : "");
}

function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// --- the item: suggested while typing -----------------------------------------------------
const suggest = debounce(async () => {
  const t = text.value.trim();
  const box = $("suggest");
  if (t.length < 4 || !navigator.onLine) { box.replaceChildren(); return; }
  let res;
  try { res = await postJSON("/api/cases/recognize", { text: t }); } catch (e) { return; }
  if (!res.ok) return;
  const cands = [];
  if (res.data.item) cands.push(res.data.item);
  for (const a of res.data.alternatives || []) if (a.code && !cands.some((c) => c.code === a.code)) cands.push(a);
  if (!cands.length) { box.replaceChildren(); return; }
  if (!state.itemChosen && res.data.item) itemSel.value = res.data.item.code;
  box.replaceChildren(
    el("p", { class: "hint" }, gettext("系统猜测的类别（点一下选择）：")),
    el("div", { class: "chips" }, ...cands.slice(0, 3).map((c) => el("button", {
      type: "button", "data-code": c.code,
      onclick: () => { itemSel.value = c.code; state.itemChosen = true; checkDuplicates(); },
    }, c.name))),
  );
  checkDuplicates();
}, 500);
text.addEventListener("input", () => { suggest(); checkDuplicates(); });
itemSel.addEventListener("change", () => { state.itemChosen = true; checkDuplicates(); });

// --- photos: resized with a canvas to ≤ 1280 px JPEG before they are kept or sent ---------
async function shrink(file) {
  const bitmap = await createImageBitmap(file).catch(() => null);
  let src = bitmap, w, h;
  if (bitmap) { w = bitmap.width; h = bitmap.height; } else {
    src = await new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img); img.onerror = reject; img.src = URL.createObjectURL(file);
    });
    w = src.naturalWidth; h = src.naturalHeight;
  }
  const k = Math.min(1, MAX_SIDE / Math.max(w, h));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(w * k); canvas.height = Math.round(h * k);
  canvas.getContext("2d").drawImage(src, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
}

$("photos").addEventListener("change", async (ev) => {
  const files = Array.from(ev.target.files || []).slice(0, MAX_PHOTOS - state.photos.length);
  for (const f of files) {
    try { state.photos.push(await shrink(f)); } catch (e) { say(interpolate(gettext("无法读取照片 %(name)s"), { name: f.name }), "error"); }
  }
  ev.target.value = "";
  $("thumbs").replaceChildren(...state.photos.map((b, i) => el("img", { src: URL.createObjectURL(b), alt: interpolate(gettext("照片%(n)s"), { n: i + 1 }) })));
});

// --- location: the phone, or a pin on a small map (Leaflet loaded only when asked) --------
function setLoc(loc, how) {
  state.loc = loc;
  $("loc-status").textContent = interpolate(gettext("%(how)s：%(lat)s, %(lon)s"), { how, lat: loc.lat.toFixed(5), lon: loc.lon.toFixed(5) })
    + (loc.crs === "gcj02" ? gettext("（微信坐标）") : "");
  checkDuplicates();
}

$("locate").addEventListener("click", () => {
  $("loc-status").textContent = gettext("正在定位…");
  locate((loc) => setLoc(loc, gettext("已定位")), (msg) => { $("loc-status").textContent = msg; });
});

function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  document.head.append(el("link", { rel: "stylesheet", href: root.dataset.leafletCss }));
  return new Promise((resolve, reject) => {
    const s = el("script", { src: root.dataset.leafletJs });
    s.onload = () => resolve(window.L); s.onerror = reject;
    document.head.append(s);
  });
}

$("pin").addEventListener("click", async () => {
  const box = $("pinmap");
  box.hidden = false;
  if (state.map) return;
  let L;
  try { L = await loadLeaflet(); } catch (e) { say(gettext("地图加载失败，请稍后再试"), "error"); return; }
  const outline = JSON.parse($("outline").textContent || "null");
  state.map = L.map(box, { attributionControl: false });
  if (outline && outline.features.length) {
    const layer = L.geoJSON(outline, { style: (f) => ({ color: "#b3261e", weight: f.properties.level ? 1 : 3, fill: false }) }).addTo(state.map);
    state.map.fitBounds(layer.getBounds());
  } else {
    state.map.setView([39.9, 116.4], 13);
  }
  if (state.loc && state.loc.crs === "wgs84") state.marker = L.marker([state.loc.lat, state.loc.lon]).addTo(state.map);
  state.map.on("click", (e) => {
    if (state.marker) state.marker.setLatLng(e.latlng); else state.marker = L.marker(e.latlng).addTo(state.map);
    setLoc({ lon: e.latlng.lng, lat: e.latlng.lat, crs: "wgs84" }, gettext("已选点")); // the outline is WGS-84
  });
});

// --- similar open cases nearby: join instead of filing again ------------------------------
const checkDuplicates = debounce(async () => {
  const sec = $("dups"), list = $("dup-list");
  if (!state.loc || !navigator.onLine) { sec.hidden = true; return; }
  const q = new URLSearchParams({ lon: state.loc.lon, lat: state.loc.lat, crs: state.loc.crs, text: text.value.trim() });
  if (itemSel.value) q.set("item", itemSel.value);
  let found = [];
  try {
    const r = await fetch(`/api/cases/duplicates?${q}`, { credentials: "same-origin" });
    if (r.ok) found = await r.json();
  } catch (e) { return; }
  sec.hidden = !found.length;
  list.replaceChildren(...found.map((d) => el("li", {},
    el("p", {}, interpolate(gettext("%(item)s · 约%(m)s米"), { item: d.item || gettext("未分类"), m: Math.round(d.distance_m) })),
    el("p", { class: "muted" }, d.text),
    el("button", { type: "button", class: "join", onclick: (ev) => join(d, ev.target) }, gettext("是同一件事，加入")),
  )));
}, 600);

async function join(d, button) {
  button.disabled = true;
  const res = await postJSON(`/api/cases/${d.id}/join`, { lon: state.loc.lon, lat: state.loc.lat, crs: state.loc.crs }).catch(() => null);
  if (res && res.ok) {
    say(interpolate(gettext("已加入事件 %(number)s，可在“我的事件”里查看进展。"), { number: d.number }), "ok");
    button.replaceWith(el("a", { href: `/m/cases/${d.id}/`, class: "button" }, gettext("查看进展")));
  } else {
    button.disabled = false;
    say(res ? interpolate(gettext("加入失败：%(reason)s"), { reason: res.data.detail || res.status }) : gettext("网络不通，请稍后再试"), "error");
  }
}

// --- submit: into the outbox first, then send ---------------------------------------------
async function showOutbox() {
  const recs = await outbox.all();
  $("outbox-box").hidden = !recs.length;
  $("outbox").replaceChildren(...recs.map((r) => el("li", { "data-key": r.key },
    el("p", {}, r.text.slice(0, 60)),
    el("p", { class: "muted" }, r.error ? interpolate(gettext("未被受理：%(reason)s"), { reason: r.error })
      : interpolate(gettext("待发送 · %(time)s"), { time: new Date(r.created).toLocaleString(pageLang()) })),
    ...(r.error ? [el("button", { type: "button", onclick: async () => { await outbox.remove(r.key); showOutbox(); } }, gettext("删除"))] : []),
  )));
  return recs;
}

// Poor signal: a failed attempt is retried soon (2 s, doubling to a minute), with the same key.
let backoff = 2000, retryTimer = null;

async function send() {
  clearTimeout(retryTimer);
  const results = await outbox.flush(csrfToken);
  if (results.some((r) => r.outcome === "offline" || r.outcome === "retry")) {
    if (navigator.onLine) retryTimer = setTimeout(send, backoff);
    backoff = Math.min(backoff * 2, 60000);
  } else if (results.some((r) => r.outcome === "sent")) {
    backoff = 2000;
  }
  for (const { rec, outcome, data } of results) {
    if (outcome === "sent") {
      say(interpolate(gettext("已提交，事件编号 %(number)s。可在“我的事件”查看进展。"), { number: data.number || data.id }), "ok");
      const link = el("a", { href: `/m/cases/${data.id}/`, class: "button" }, gettext("查看进展"));
      $("status").append(link);
    } else if (outcome === "offline") {
      say(gettext("网络不通，上报已保存在手机上，联网后会自动发送。"), "info");
    } else if (outcome === "login") {
      say(gettext("登录已过期，请重新登录后自动发送。"), "error");
    } else if (outcome === "rejected") {
      say(interpolate(gettext("上报未被受理：%(reason)s"), { reason: rec.error }), "error");
    }
  }
  await showOutbox();
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const t = text.value.trim();
  if (!t) { say(gettext("请先写一句发生了什么。"), "error"); text.focus(); return; }
  const rec = {
    key: uuid4(), created: Date.now(), text: t, item: itemSel.value, address: $("address").value.trim(),
    lon: state.loc ? state.loc.lon : null, lat: state.loc ? state.loc.lat : null, crs: state.loc ? state.loc.crs : phoneCrs(),
    photos: state.photos.slice(),
  };
  await outbox.put(rec); // kept on the phone before anything goes over the air
  form.reset();
  state.photos = []; state.loc = null; state.itemChosen = false;
  $("thumbs").replaceChildren(); $("suggest").replaceChildren(); $("dups").hidden = true;
  $("loc-status").textContent = gettext("尚未定位");
  say(gettext("正在发送…"));
  await send();
});

// the page opens without signal next time (see sw.js)
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(() => null);

window.addEventListener("online", () => { backoff = 2000; send(); });
setInterval(async () => { if ((await outbox.all()).some((r) => !r.error)) send(); }, 15000);

showOutbox().then((recs) => {
  if (recs.some((r) => !r.error)) send();
  $("send").disabled = false;
  document.body.dataset.readyMs = String(Math.round(performance.now())); // time to interactive (bench_h5)
  document.body.dataset.ready = "1";
});
