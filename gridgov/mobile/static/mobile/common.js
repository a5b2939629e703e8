// Small helpers shared by the H5 pages (no framework).

// Interface strings: the page loads Django's catalogue (/jsi18n/?lang=…, which the service worker
// keeps for use with no signal); without it the Chinese source text stands.
export function gettext(msgid) {
  return typeof window.gettext === "function" ? window.gettext(msgid) : msgid;
}

// "%(name)s" placeholders filled from values (as Django's interpolate(fmt, values, true)).
export function interpolate(fmt, values) {
  return fmt.replace(/%\((\w+)\)s/g, (m, k) => String(values[k]));
}

// The page's language for dates and numbers ("zh-hans" or "en").
export function pageLang() {
  return document.documentElement.lang || "zh-CN";
}

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// A v4 UUID made on the phone; crypto.randomUUID needs a secure context, so fall back to
// getRandomValues (available on plain http too).
export function uuid4() {
  if (window.crypto && crypto.randomUUID) {
    try { return crypto.randomUUID(); } catch (e) { /* not a secure context */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// WeChat's web-view reports positions in GCJ-02 (the issue asks us to say so); browsers WGS-84.
export function phoneCrs(ua = navigator.userAgent) {
  return /MicroMessenger/i.test(ua) ? "gcj02" : "wgs84";
}

export async function postJSON(url, body) {
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, data };
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

export function locate(onDone, onError) {
  if (!navigator.geolocation) { onError(gettext("此设备无法定位")); return; }
  navigator.geolocation.getCurrentPosition(
    (p) => onDone({ lon: p.coords.longitude, lat: p.coords.latitude, crs: phoneCrs(), accuracy: p.coords.accuracy }),
    (e) => onError(e.code === 1 ? gettext("未允许定位，请在地图上选点") : gettext("定位失败，请在地图上选点")),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}
