// The dashboard (/dashboard/) and the big screen (/screen/): ECharts over /api/insight/stats.
// Clicking a bar filters every other chart (cross-filter); the state lives in the URL query.
(function () {
  "use strict";
  // interface strings: Django's catalogue (/jsi18n/, loaded before this script)
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (f, o) { return f.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); }); };
  var LANG = document.documentElement.lang || "zh-CN";
  var DIMS = ["month", "hour", "item", "channel", "street", "community", "grid"];
  var LABELS = { month: gettext("月份"), hour: gettext("时段"), item: gettext("事项"), channel: gettext("渠道"), street: gettext("街道"), community: gettext("社区"), grid: gettext("网格") };

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof echarts === "undefined") return;
    var cfg = JSON.parse(document.getElementById("dash-config").textContent);
    var dark = !!cfg.screen;
    var fg = dark ? "#e3ecf7" : "#1d2733";
    var accent = dark ? "#4fc3f7" : "#1f5fa8", picked = dark ? "#ffca28" : "#b3261e";
    var filters = {};
    var params = new URLSearchParams(window.location.search);
    DIMS.forEach(function (d) { if (params.get(d)) filters[d] = params.get(d); });
    var charts = {};
    var root = document.getElementById("dash");
    window.gridgovDashboard = { charts: charts, filters: filters };

    function chart(id) {
      var node = document.getElementById(id);
      if (!node) return null;
      if (!charts[id]) {
        charts[id] = echarts.init(node, dark ? "dark" : null, { renderer: "canvas" });
        window.addEventListener("resize", function () { charts[id].resize(); });
      }
      return charts[id];
    }
    function query() {
      var p = new URLSearchParams();
      DIMS.forEach(function (d) { if (filters[d] !== undefined && filters[d] !== "") p.set(d, filters[d]); });
      return p;
    }
    function toggle(dim, key) {
      key = String(key);
      if (filters[dim] === key) delete filters[dim]; else filters[dim] = key;
      var q = query().toString();
      window.history.replaceState(null, "", window.location.pathname + (q ? "?" + q : ""));
      load();
    }
    function bars(id, dim, rows, opts) {
      var c = chart(id);
      if (!c) return;
      opts = opts || {};
      var horizontal = !!opts.horizontal;
      var cats = rows.map(function (r) { return r.label || String(r.key); });
      var data = rows.map(function (r) {
        var on = filters[dim] !== undefined && String(filters[dim]) === String(r.key);
        return { value: r.n, key: r.key, itemStyle: { color: on ? picked : accent } };
      });
      var catAxis = { type: "category", data: cats, axisLabel: { color: fg, fontSize: dark ? 14 : 12, interval: horizontal ? 0 : "auto" }, inverse: horizontal };
      var valAxis = { type: "value", axisLabel: { color: fg, fontSize: dark ? 14 : 12 } };
      c.setOption({
        backgroundColor: "transparent", animation: false,
        grid: { left: horizontal ? 110 : 48, right: 16, top: 16, bottom: horizontal ? 24 : 40 },
        tooltip: { trigger: "axis" },
        xAxis: horizontal ? valAxis : catAxis, yAxis: horizontal ? catAxis : valAxis,
        series: [{ type: "bar", data: data, cursor: "pointer" }],
      }, true);
      c.off("click");
      c.on("click", function (e) { if (e.data && e.data.key !== undefined) toggle(dim, e.data.key); });
    }
    function chips(f) {
      var box = document.getElementById("chips");
      box.replaceChildren();
      Object.keys(f).forEach(function (d) {
        var b = document.createElement("button");
        b.type = "button"; b.className = "chip";
        b.textContent = interpolate(gettext("%(dim)s：%(value)s"), { dim: LABELS[d], value: labels[d] && labels[d][f[d]] || f[d] }, true) + " ×";
        b.setAttribute("aria-label", interpolate(gettext("取消筛选 %(dim)s"), { dim: LABELS[d] }, true));
        b.addEventListener("click", function () { toggle(d, f[d]); });
        box.appendChild(b);
      });
      if (!Object.keys(f).length) { var s = document.createElement("span"); s.textContent = gettext("点击任一柱形进行联动筛选"); box.appendChild(s); }
    }
    var labels = {};
    var hotmap = null, hotLayer = null;
    function hot(rows) {
      var node = document.getElementById("c-hotspots");
      if (!node || typeof L === "undefined") return Promise.resolve();
      var outlines = Promise.resolve();
      if (!hotmap) {
        hotmap = L.map(node, { attributionControl: false, zoomSnap: 0.25 });
        if (cfg.bounds) hotmap.fitBounds(cfg.bounds); else hotmap.setView([39.8, 116.4], 12);
        // community outlines for orientation (after the figures: one request at a time)
        outlines = fetch("/api/insight/layers/grids?level=1&zoom=13", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { features: [] }; })
          .then(function (fc) {
            L.geoJSON(fc, { interactive: false, style: { color: dark ? "#5c7fa3" : "#8aa0b6", weight: 1, fillOpacity: 0 } }).addTo(hotmap);
          });
      }
      if (hotLayer) hotmap.removeLayer(hotLayer);
      hotLayer = L.layerGroup().addTo(hotmap);
      var max = rows.reduce(function (m, r) { return Math.max(m, r.n); }, 1);
      rows.forEach(function (r) {
        if (r.lat === null || r.lon === null) return;
        var t = r.n / max;
        L.circleMarker([r.lat, r.lon], {
          radius: 3 + 14 * Math.sqrt(t), stroke: false,
          fillColor: "hsl(" + Math.round(50 - 50 * t) + ",95%," + (dark ? 55 : 45) + "%)", fillOpacity: 0.35 + 0.5 * t,
        }).bindTooltip(interpolate(gettext("%(name)s：%(n)s件"), { name: r.name, n: r.n }, true)).addTo(hotLayer);
      });
      return outlines;
    }
    function render(d) {
      labels = {};
      ["item", "channel", "street", "community", "grid"].forEach(function (k) {
        labels[k] = {};
        (d["by_" + k] || []).forEach(function (r) { labels[k][r.key] = r.label; });
      });
      chips(d.filters);
      var k = document.getElementById("kpis");
      k.replaceChildren();
      var comp = {};
      d.compliance.forEach(function (c) { comp[c.key] = c; });
      var sat = d.satisfaction.reduce(function (a, r) { return a + r.n; }, 0);
      var good = d.satisfaction.filter(function (r) { return r.key !== "unsatisfied"; }).reduce(function (a, r) { return a + r.n; }, 0);
      [[gettext("事件总数"), d.summary.total], [gettext("未办结"), d.summary.open], [gettext("已结案"), d.summary.closed], [gettext("超期未结"), d.overdue.count],
       [gettext("处置按期率"), comp.resolve && comp.resolve.on_time_rate !== null ? comp.resolve.on_time_rate + "%" : "—"],
       [gettext("满意率"), sat ? (100 * good / sat).toFixed(1) + "%" : "—"]].forEach(function (x) {
        var c = document.createElement("div"); c.className = "kpi";
        var b = document.createElement("b"); b.textContent = typeof x[1] === "number" ? x[1].toLocaleString(LANG) : x[1];
        var s = document.createElement("span"); s.textContent = x[0];
        c.appendChild(b); c.appendChild(s); k.appendChild(c);
      });
      bars("c-month", "month", d.by_month);
      bars("c-hour", "hour", d.by_hour.map(function (r) { return { key: r.key, label: interpolate(gettext("%(hour)s时"), { hour: r.key }, true), n: r.n }; }));
      bars("c-channel", "channel", d.by_channel);
      bars("c-item", "item", d.by_item, { horizontal: true });
      if (d.by_street) bars("c-street", "street", d.by_street, { horizontal: true });  // a district's streets
      bars("c-community", "community", d.by_community, { horizontal: true });
      bars("c-grid", "grid", d.by_grid, { horizontal: true });
      var cc = chart("c-compliance");
      cc.setOption({
        backgroundColor: "transparent", animation: false, grid: { left: 48, right: 16, top: 16, bottom: 32 }, tooltip: {},
        xAxis: { type: "category", data: d.compliance.map(function (c) { return c.label; }), axisLabel: { color: fg } },
        yAxis: { type: "value", max: 100, axisLabel: { color: fg, formatter: "{value}%" } },
        series: [{ type: "bar", data: d.compliance.map(function (c) { return c.on_time_rate; }), itemStyle: { color: dark ? "#66bb6a" : "#2e7d32" }, label: { show: true, position: "top", color: fg, formatter: "{c}%" } }],
      }, true);
      chart("c-satisfaction").setOption({
        backgroundColor: "transparent", animation: false, tooltip: { trigger: "item" },
        color: ["#2e7d32", "#f9a825", "#c62828"],
        series: [{ type: "pie", radius: ["40%", "70%"], label: { color: fg, formatter: "{b} {d}%" }, data: d.satisfaction.filter(function (r) { return r.n > 0; }).map(function (r) { return { name: r.label, value: r.n }; }) }],
      }, true);
      var tb = document.querySelector("#overdue tbody");
      tb.replaceChildren();
      d.overdue.rows.forEach(function (r) {
        var tr = document.createElement("tr");
        [r.number, r.item, r.grid, r.state, r.created_at].forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
        tb.appendChild(tr);
      });
      document.getElementById("overdue-n").textContent = interpolate(gettext("（%(n)s）"), { n: d.overdue.count }, true);
      if (d.tickets_by_month && chart("c-tickets")) {
        chart("c-tickets").setOption({
          backgroundColor: "transparent", animation: false, grid: { left: 56, right: 16, top: 32, bottom: 32 }, tooltip: { trigger: "axis" },
          legend: { textStyle: { color: fg } },
          xAxis: { type: "category", data: d.tickets_by_month.map(function (r) { return r.key; }), axisLabel: { color: fg } },
          yAxis: { type: "value", axisLabel: { color: fg } },
          series: [
            { name: gettext("12345工单"), type: "line", smooth: true, data: d.tickets_by_month.map(function (r) { return r.n; }) },
            { name: gettext("满意"), type: "line", smooth: true, data: d.tickets_by_month.map(function (r) { return r.satisfied; }) },
          ],
        }, true);
      }
      var pending = hot(d.hotspots);
      var q = query().toString();
      document.getElementById("export").setAttribute("href", "/api/insight/stats.xlsx" + (q ? "?" + q : ""));
      var clock = document.getElementById("clock");
      if (clock) clock.textContent = interpolate(gettext("更新于 %(time)s"), { time: new Date().toLocaleTimeString(LANG) }, true);
      return pending.then(function () { root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1); });
    }
    // the month's topics and recurring problems: texts compared, slower than the figures, so
    // asked for after them, and again only when the month, community or grid filter changes
    var topicsKey = null;
    function td(tr, value) { var c = document.createElement("td"); c.textContent = value; tr.appendChild(c); return c; }
    function examples(tr, samples) {
      var c = td(tr, "");
      samples.slice(0, 2).forEach(function (s) {
        var p = document.createElement("p"); p.className = "ex";
        var tag = document.createElement("span"); tag.className = "tag " + s.kind; tag.textContent = s.kind === "case" ? gettext("事件") : gettext("工单");
        p.appendChild(tag); p.appendChild(document.createTextNode(s.text.length > 80 ? s.text.slice(0, 80) + "…" : s.text));
        c.appendChild(p);
      });
    }
    function placeCounts(p) {
      var n = [];
      if (p.tickets) n.push(interpolate(gettext("工单%(n)s"), { n: p.tickets }, true));
      if (p.cases) n.push(interpolate(gettext("事件%(n)s"), { n: p.cases }, true));
      return interpolate(gettext("%(name)s（%(counts)s）"), { name: p.name, counts: n.join(gettext("，")) }, true);
    }
    function fill(id, rows, cols, empty) {
      var tb = document.querySelector("#" + id + " tbody");
      tb.replaceChildren();
      rows.forEach(function (r) {
        var tr = document.createElement("tr");
        cols.forEach(function (f) { f(tr, r); });
        tb.appendChild(tr);
      });
      if (!rows.length) { var tr = document.createElement("tr"); td(tr, empty).colSpan = cols.length; tb.appendChild(tr); }
    }
    function renderTopics(t) {
      document.getElementById("topics-month").textContent = t.month
        ? interpolate(gettext("（%(month)s：12345工单%(tickets)s件，其他渠道事件%(cases)s件）"), t, true) : gettext("（暂无12345工单）");
      if (t.stale && t.computed_at) {  // kept by the worker, which is recomputing it
        document.getElementById("topics-month").textContent += interpolate(gettext("（%(time)s的结果，正在更新）"),
          { time: new Date(t.computed_at).toLocaleTimeString() }, true);
      }
      document.getElementById("recurring-window").textContent = t.month ? interpolate(gettext("（截至%(month)s）"), t, true) : "";
      fill("topics", t.topics, [
        function (tr, c) { td(tr, c.category); },
        function (tr, c) { td(tr, c.tickets); },
        function (tr, c) { td(tr, c.cases); },
        function (tr, c) { td(tr, c.places.slice(0, 3).map(placeCounts).join(gettext("，"))); },
        function (tr, c) { examples(tr, c.samples); },
      ], gettext("本月暂无相似诉求"));
      fill("recurring", t.recurring, [
        function (tr, r) { td(tr, r.name); },
        function (tr, r) { td(tr, r.category); },
        function (tr, r) { td(tr, r.tickets); },
        function (tr, r) { td(tr, r.cases); },
        function (tr, r) { td(tr, r.months + "/" + r.by_month.length); },
        function (tr, r) { examples(tr, r.samples || []); },
      ], gettext("暂无反复发生的问题"));
      root.dataset.topics = String(Number(root.dataset.topics || 0) + 1);
    }
    function loadTopics() {
      if (!document.getElementById("topics")) return Promise.resolve();
      var p = new URLSearchParams();
      ["month", "street", "community", "grid"].forEach(function (d) { if (filters[d]) p.set(d, filters[d]); });
      var key = p.toString();
      if (key === topicsKey) return Promise.resolve();
      topicsKey = key;
      document.getElementById("topics-month").textContent = gettext("（计算中…）");
      return fetch("/api/insight/topics?" + key, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (t) { if (key === topicsKey) renderTopics(t); })
        .catch(function (e) { topicsKey = null; document.getElementById("topics-month").textContent = interpolate(gettext("（加载失败：%(reason)s）"), { reason: e.message }, true); });
    }
    function load() {
      var q = query();
      if (cfg.screen) q.set("screen", "1");
      return fetch("/api/insight/stats?" + q.toString(), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(render)
        .then(loadTopics)
        .catch(function (e) { document.getElementById("chips").textContent = interpolate(gettext("加载失败：%(reason)s"), { reason: e.message }, true); });
    }
    load();
    if (cfg.screen) setInterval(load, (cfg.refresh_s || 60) * 1000);
  });
})();
