// The staff map (/map/): layers from /api/insight/layers/*, cards, search, grid editing.
// No inline script: the page passes its settings through a json_script block.
(function () {
  "use strict";
  // interface strings: Django's catalogue (/jsi18n/, loaded before this script)
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (f, o) { return f.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); }); };
  var LANG = document.documentElement.lang || "zh-CN";
  var COLORS = { running: "#2e7d32", warned: "#c77700", overdue: "#d84315", breached: "#b71c1c", none: "#546e7a" };
  // by the level counted from the street (0: the street; communities 1, grids 2, micro-grids 3)
  var GRID_STYLE = {
    0: { color: "#5b2a86", weight: 3.5, fillOpacity: 0.01 },
    1: { color: "#b3261e", weight: 2.5, fillOpacity: 0.02 },
    2: { color: "#1f5fa8", weight: 1.5, fillOpacity: 0.04 },
    3: { color: "#3b7d4f", weight: 1, dashArray: "4 3", fillOpacity: 0.03 },
  };

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // one request at a time: a light load on the server (and on SQLite's single writer, since
  // every request refreshes the session)
  var serial = Promise.resolve(), inflight = 0;
  function busy(n) {
    inflight += n;
    var m = document.getElementById("map");
    if (m) m.dataset.busy = String(inflight);
  }
  function queued(fn) {
    busy(1);
    var p = serial.then(fn);
    serial = p.catch(function () {}).then(function () { busy(-1); });
    return p;
  }
  function getJSON(url) {
    return queued(function () {
      return fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + url);
        return r.json();
      });
    });
  }
  function postJSON(url, body) {
    return queued(function () {
      return fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() }, body: JSON.stringify(body),
      }).then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(d.detail || r.status); return d; }); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("map");
    if (!node || typeof L === "undefined") return;
    var cfg = JSON.parse(document.getElementById("map-config").textContent);
    var map = L.map(node, { attributionControl: !!cfg.tile_url, zoomSnap: 0.5 });
    if (cfg.tile_url) L.tileLayer(cfg.tile_url, { maxZoom: 19, subdomains: "abc1234" }).addTo(map);
    if (cfg.bounds) map.fitBounds(cfg.bounds); else map.setView([39.8, 116.4], 13);
    var status = document.getElementById("status");
    var card = document.getElementById("card");
    var groups = {};
    var selected = null; // {code, layer} of the grid whose card is open
    window.gridgovMap = { map: map, groups: groups };

    function layerUrl(cb) {
      var b = map.getBounds();
      var p = new URLSearchParams({
        bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","),
        zoom: Math.round(map.getZoom()), crs: cfg.crs,
      });
      if (cb.dataset.level) p.set("level", cb.dataset.level);
      if (cb.dataset.kind) p.set("kind", cb.dataset.kind);
      var name = cb.dataset.layer === "houses" ? "buildings" : cb.dataset.layer;
      return "/api/insight/layers/" + name + "?" + p.toString();
    }
    function keyOf(cb) { return cb.dataset.layer + (cb.dataset.level || "") + (cb.dataset.kind || ""); }

    function pointLayer(kind, f, latlng) {
      var p = f.properties;
      if (kind === "cases") return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 1.5, fillColor: COLORS[p.clock] || COLORS.none, fillOpacity: 0.95, className: "case-marker case-" + p.clock });
      if (kind === "workers") return L.circleMarker(latlng, { radius: 8, color: "#4a148c", weight: 2, fillColor: "#ce93d8", fillOpacity: 0.9 });
      if (kind === "buildings") return L.circleMarker(latlng, { radius: 4, color: "#455a64", weight: 1, fillColor: "#90a4ae", fillOpacity: 0.8 });
      if (kind === "houses") return L.circleMarker(latlng, { radius: 3 + Math.sqrt(p.houses || 0), color: "#e65100", weight: 1, fillColor: "#ffb74d", fillOpacity: 0.5 });
      if (kind === "keypop") return L.circleMarker(latlng, { radius: 3 + 2 * Math.sqrt(p.total || 0), color: "#880e4f", weight: 1, fillColor: "#f06292", fillOpacity: 0.55 });
      if (kind === "tickets") return L.circleMarker(latlng, { radius: 4 + 2 * Math.sqrt((p.tickets || 0) + (p.cases || 0)), color: "#b71c1c", weight: 1, fillColor: "#ff7043", fillOpacity: 0.5, className: "ticket-spot" });
      var station = p.place_kind === "service_station";
      return L.circleMarker(latlng, { radius: 7, color: station ? "#1b5e20" : "#bf360c", weight: 2, fillColor: station ? "#a5d6a7" : "#ffab91", fillOpacity: 0.9 });
    }
    function tooltip(kind, p) {
      if (kind === "cases") return p.number + " " + p.item;
      if (kind === "workers") return interpolate(gettext("%(grid)s：%(people)s"), { grid: p.grid, people: p.people.map(function (x) { return interpolate(gettext("%(name)s（%(duty)s）"), { name: x.name, duty: x.duty }, true); }).join(gettext("、")) }, true);
      if (kind === "houses") return interpolate(gettext("%(name)s：%(houses)s户（出租%(rented)s，空置%(vacant)s）"), p, true);
      if (kind === "keypop") return interpolate(gettext("%(name)s：重点人群%(total)s人"), p, true);
      if (kind === "tickets") {
        var out = interpolate(gettext("%(name)s：%(month)s 12345工单%(tickets)s件"), { name: p.name, month: p.month, tickets: p.tickets }, true);
        if (p.top.length) out += interpolate(gettext("（%(top)s）"), { top: p.top.map(function (t) { return t.category + " " + t.tickets; }).join(gettext("，")) }, true);
        out += interpolate(gettext("；其他渠道事件%(cases)s件"), { cases: p.cases || 0 }, true);
        if (p.top_cases && p.top_cases.length) out += interpolate(gettext("（%(top)s）"), { top: p.top_cases.map(function (t) { return t.item + " " + t.cases; }).join(gettext("，")) }, true);
        return out;
      }
      return p.name;
    }

    function load(cb) {
      var kind = cb.dataset.layer, k = keyOf(cb);
      if (!groups[k]) groups[k] = L.featureGroup();
      var g = groups[k];
      if (!cb.checked) { map.removeLayer(g); return Promise.resolve(); }
      g.addTo(map);
      return getJSON(layerUrl(cb)).then(function (fc) {
        g.clearLayers();
        L.geoJSON(fc, {
          // (points keep the options of pointToLayer: a style here would override them)
          style: function (f) {
            return f.geometry.type === "Point" ? {} : (GRID_STYLE[f.properties.level - (cfg.street_level || 0)] || GRID_STYLE[2]);
          },
          pointToLayer: function (f, latlng) { return pointLayer(kind, f, latlng); },
          onEachFeature: function (f, l) {
            l.bindTooltip(tooltip(kind, f.properties));
            l.on("click", function (ev) { L.DomEvent.stopPropagation(ev); openCard(f.properties.kind, f.properties.id, l, f.properties.code); });
          },
        }).eachLayer(function (l) { g.addLayer(l); });
        if (kind === "grids") g.bringToBack();
        if (fc.truncated) status.textContent = gettext("部分图层数据过多，请放大查看");
      }).catch(function (e) { status.textContent = interpolate(gettext("图层加载失败：%(reason)s"), { reason: e.message }, true); });
    }
    var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-layer]"));
    function reloadAll() { status.textContent = ""; return Promise.all(boxes.map(load)); }
    boxes.forEach(function (cb) { cb.addEventListener("change", function () { load(cb); }); });
    var timer = null;
    map.on("moveend", function () {
      if (timer) clearTimeout(timer); else busy(1);  // a reload is pending: the map is busy
      timer = setTimeout(function () { timer = null; reloadAll(); busy(-1); }, 250);
    });
    reloadAll().then(function () { node.dataset.ready = "1"; });

    // --- cards
    function row(dl, label, value) {
      if (value === undefined || value === null || value === "") return;
      dl.appendChild(el("dt", {}, label));
      dl.appendChild(el("dd", {}, value));
    }
    function openCard(kind, id, layer, code) {
      return getJSON("/api/insight/card/" + kind + "/" + id + "?crs=" + cfg.crs).then(function (c) {
        card.hidden = false;
        card.replaceChildren();
        var close = el("button", { type: "button", class: "close", "aria-label": gettext("关闭详情") }, "×");
        close.addEventListener("click", function () { card.hidden = true; stopEdit(); });
        card.appendChild(close);
        card.appendChild(el("h2", {}, c.title));
        var dl = el("dl", {});
        card.appendChild(dl);
        if (c.kind === "case") {
          row(dl, gettext("事项"), c.item); row(dl, gettext("状态"), c.state);
          row(dl, gettext("时限"), { running: gettext("计时中"), warned: gettext("预警"), overdue: gettext("超期"), breached: gettext("已超时"), none: gettext("无") }[c.clock]);
          row(dl, gettext("截止"), c.due_at);
          (c.summons || []).forEach(function (s) {  // a summons' deadline is the department's, labelled so
            row(dl, interpolate(gettext("%(department)s报到截止"), s, true), s.reported ? gettext("已报到") : s.due_at);
          });
          row(dl, gettext("网格"), c.grid); row(dl, gettext("处置人"), c.handler); row(dl, gettext("上报"), c.created_at); row(dl, gettext("地点"), c.address);
          card.appendChild(el("p", { class: "text" }, c.text));
        } else if (c.kind === "grid") {
          row(dl, gettext("编码"), c.code); row(dl, gettext("层级"), c.level); row(dl, gettext("上级"), c.parent); row(dl, gettext("面积 m²"), c.area_m2); row(dl, gettext("未办结事件"), c.open_cases);
          var ul = el("ul", {});
          c.people.forEach(function (p) { ul.appendChild(el("li", {}, interpolate(gettext("%(duty)s：%(name)s（%(role)s）"), p, true))); });
          if (!c.people.length) ul.appendChild(el("li", { class: "warn" }, gettext("尚未配备人员")));
          card.appendChild(ul);
          var a = el("a", { href: c.link }, gettext("网格详情"));
          card.appendChild(a);
          selected = { code: c.code, layer: layer && layer.feature && layer.feature.properties.kind === "grid" ? layer : null, name: c.title };
          if (c.editable && selected.layer && selected.layer.pm) {
            var edit = el("button", { type: "button", id: "edit-grid" }, gettext("编辑边界"));
            edit.addEventListener("click", function () { startEdit(selected); });
            card.appendChild(el("p", {})).appendChild(edit);
          }
        } else if (c.kind === "building") {
          row(dl, gettext("网格"), c.grid); row(dl, gettext("层数"), c.floors); row(dl, gettext("户数"), c.houses); row(dl, gettext("人口"), c.residents);
          var tags = Object.keys(c.key_population || {});
          row(dl, gettext("重点人群"), tags.length ? tags.map(function (t) { return interpolate(gettext("%(tag)s%(n)s"), { tag: t, n: c.key_population[t] }, true); }).join(gettext("，")) : gettext("无"));
          if (c.names && c.names.length) {
            var ul2 = el("ul", {});
            c.names.forEach(function (p) { var li = el("li", {}); li.appendChild(el("a", { href: "/residents/" + p.id + "/" }, p.name)); li.appendChild(document.createTextNode(gettext("：") + p.tags.join(gettext("、")))); ul2.appendChild(li); });
            card.appendChild(ul2);
          }
        } else {
          row(dl, gettext("类型"), c.type); row(dl, gettext("地址"), c.address); row(dl, gettext("开放时间"), c.open_hours); row(dl, gettext("网格"), c.grid); row(dl, gettext("说明"), c.note);
        }
        card.dataset.kind = c.kind;
      }).catch(function (e) { status.textContent = interpolate(gettext("详情加载失败：%(reason)s"), { reason: e.message }, true); });
    }
    map.on("click", function () { /* a click on empty map keeps the card */ });

    // --- editing (administrators and leaders; geoman is loaded only for them)
    var editing = null;
    function showProblems(d) {
      var box = el("div", { class: "problems" });
      box.appendChild(el("p", { class: d.problems.length ? "warn" : "ok" }, d.problems.length ? interpolate(gettext("上级网格 %(parent)s 的拼接检查发现 %(n)s 个问题："), { parent: d.parent, n: d.problems.length }, true) : gettext("已保存；拼接检查无问题。")));
      var ul = el("ul", {});
      d.problems.slice(0, 20).forEach(function (p) {
        var kinds = { gap: gettext("缝隙"), overlap: gettext("重叠"), outside: gettext("超出上级"), no_geometry: gettext("无边界") };
        ul.appendChild(el("li", {}, (kinds[p.kind] || p.kind) + " " + Math.round(p.area_m2) + " m² · " + p.grids.join(gettext("、"))));
      });
      box.appendChild(ul);
      card.appendChild(box);
    }
    function startEdit(sel) {
      stopEdit();
      editing = sel.layer;
      editing.pm.enable({ allowSelfIntersection: false });
      var save = el("button", { type: "button", id: "save-grid" }, gettext("保存边界"));
      save.addEventListener("click", function () {
        postJSON("/api/insight/grids/" + sel.code + "/geometry", { geometry: editing.toGeoJSON().geometry, crs: cfg.crs })
          .then(function (d) { stopEdit(); showProblems(d); reloadAll(); })
          .catch(function (e) { status.textContent = interpolate(gettext("保存失败：%(reason)s"), { reason: e.message }, true); });
      });
      card.appendChild(el("p", {})).appendChild(save);
    }
    function stopEdit() { if (editing && editing.pm) editing.pm.disable(); editing = null; }
    var draw = document.getElementById("draw");
    if (draw && map.pm) {
      map.pm.setLang(LANG.indexOf("zh") === 0 ? "zh" : "en");
      draw.addEventListener("click", function () {
        if (!selected) { status.textContent = gettext("请先点击上级网格，再绘制其下级网格"); return; }
        status.textContent = interpolate(gettext("在地图上依次点击顶点，点击起点完成（上级：%(parent)s）"), { parent: selected.name }, true);
        map.pm.enableDraw("Polygon", { snappable: true });
      });
      map.on("pm:create", function (e) {
        var parent = selected;
        card.hidden = false;
        card.replaceChildren(el("h2", {}, interpolate(gettext("新网格（上级：%(parent)s）"), { parent: parent.name }, true)));
        var form = el("form", { class: "newgrid" });
        form.appendChild(el("label", { for: "newname" }, gettext("名称")));
        form.appendChild(el("input", { id: "newname", required: "required" }));
        form.appendChild(el("button", { type: "submit" }, gettext("保存新网格")));
        card.appendChild(form);
        form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          postJSON("/api/insight/grids/" + parent.code + "/children", { geometry: e.layer.toGeoJSON().geometry, crs: cfg.crs, name: form.querySelector("input").value })
            .then(function (d) { map.removeLayer(e.layer); card.appendChild(el("p", {}, interpolate(gettext("已创建 %(name)s（%(code)s）"), d, true))); showProblems(d); reloadAll(); })
            .catch(function (err) { status.textContent = interpolate(gettext("保存失败：%(reason)s"), { reason: err.message }, true); });
        });
      });
    }

    // --- search
    var form = document.getElementById("search"), results = document.getElementById("results");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = document.getElementById("q").value.trim();
      if (!q) return;
      getJSON("/api/insight/search?" + new URLSearchParams({ q: q, crs: cfg.crs })).then(function (d) {
        results.replaceChildren();
        if (!d.results.length) results.appendChild(el("li", {}, gettext("没有找到")));
        d.results.forEach(function (r) {
          var b = el("button", { type: "button", class: "result" }, r.label);
          b.appendChild(el("small", {}, " " + r.sub));
          b.addEventListener("click", function () {
            map.flyTo([r.point[1], r.point[0]], Math.max(map.getZoom(), 16), { duration: 0.6 });
            openCard(r.kind, r.id, null);
          });
          results.appendChild(el("li", {})).appendChild(b);
        });
      }).catch(function (e) { status.textContent = interpolate(gettext("搜索失败：%(reason)s"), { reason: e.message }, true); });
    });
  });
})();
