// The outbox: reports written on the phone are kept in IndexedDB (with their photos as Blobs)
// until the server has answered 200/201 for their idempotency key. A report is sent with the
// same key on every attempt, so the server files it exactly once however often we retry.

const DB = "gridgov-m", STORE = "outbox";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const out = fn(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(out && "result" in out ? out.result : undefined); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

export const put = (rec) => tx("readwrite", (s) => s.put(rec));
export const remove = (key) => tx("readwrite", (s) => s.delete(key));
export const all = () => tx("readonly", (s) => s.getAll());

export function formData(rec) {
  const fd = new FormData();
  for (const k of ["text", "item", "address", "crs"]) if (rec[k]) fd.append(k, rec[k]);
  if (rec.lon != null && rec.lat != null) { fd.append("lon", String(rec.lon)); fd.append("lat", String(rec.lat)); }
  fd.append("idempotency_key", rec.key);
  (rec.photos || []).forEach((b, i) => fd.append("photos", b, `photo${i + 1}.jpg`));
  return fd;
}

let running = null;

// Send every queued report once; concurrent calls share one run. Returns [{rec, outcome, data}].
export function flush(csrf) {
  if (running) return running.then(() => flush(csrf));
  running = (async () => {
    const results = [];
    for (const rec of await all()) {
      if (rec.error) continue; // refused by the server: shown to the reporter, who may delete it
      let r;
      try {
        r = await fetch("/api/cases/", {
          method: "POST", credentials: "same-origin", body: formData(rec),
          headers: { "Idempotency-Key": rec.key, "X-CSRFToken": csrf() },
        });
      } catch (e) {
        results.push({ rec, outcome: "offline" });
        break; // no network: keep this and the rest for later
      }
      const data = await r.json().catch(() => ({}));
      if (r.status === 200 || r.status === 201) {
        await remove(rec.key);
        results.push({ rec, outcome: "sent", data });
      } else if (r.status === 400 || r.status === 409 || r.status === 422) {
        rec.error = data.detail ? String(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : `HTTP ${r.status}`;
        await put(rec);
        results.push({ rec, outcome: "rejected", data });
      } else {
        results.push({ rec, outcome: r.status === 401 || r.status === 403 ? "login" : "retry", data });
        if (r.status === 401 || r.status === 403) break;
      }
    }
    return results;
  })().finally(() => { running = null; });
  return running;
}
