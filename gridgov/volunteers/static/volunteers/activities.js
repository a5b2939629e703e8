// The activities' phone pages (no framework, no inline script):
// * a button [data-locate] inside a form fills the form's lat / lon / crs fields with the phone's
//   position and sends the form (near me, check in on site);
// * a form [data-autosubmit] is sent once when the page opens (the check-in link of the
//   organiser's QR code);
// * an element [data-refresh="url"] reloads its content from url every data-every seconds (the
//   organiser's turning code).
(function () {
  "use strict";
  function gettext(msgid) { return typeof window.gettext === "function" ? window.gettext(msgid) : msgid; }
  function crs() { return /MicroMessenger/i.test(navigator.userAgent) ? "gcj02" : "wgs84"; }

  document.querySelectorAll("[data-locate]").forEach(function (button) {
    button.addEventListener("click", function (ev) {
      ev.preventDefault();
      var form = button.form || button.closest("form");
      var msg = form.querySelector("[data-locate-msg]");
      if (!navigator.geolocation) { if (msg) msg.textContent = gettext("此设备无法定位"); return; }
      button.disabled = true;
      if (msg) msg.textContent = gettext("正在定位…");
      navigator.geolocation.getCurrentPosition(function (p) {
        form.querySelector("[name=lat]").value = p.coords.latitude.toFixed(6);
        form.querySelector("[name=lon]").value = p.coords.longitude.toFixed(6);
        var c = form.querySelector("[name=crs]");
        if (c) c.value = crs();
        form.submit();
      }, function (e) {
        button.disabled = false;
        if (msg) msg.textContent = e.code === 1 ? gettext("未允许定位，请输入签到码") : gettext("定位失败，请重试或输入签到码");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
    });
  });

  document.querySelectorAll("[data-fill-position]").forEach(function (button) {
    button.addEventListener("click", function () {
      var form = button.closest("form");
      var msg = form.querySelector("[data-locate-msg]");
      if (!navigator.geolocation) { if (msg) msg.textContent = gettext("此设备无法定位"); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        // the server converts a WeChat position (GCJ-02) to WGS-84, as at check-in
        form.querySelector("[name=lat]").value = p.coords.latitude.toFixed(6);
        form.querySelector("[name=lon]").value = p.coords.longitude.toFixed(6);
        form.querySelector("[name=crs]").value = crs();
        if (msg) msg.textContent = "";
      }, function () { if (msg) msg.textContent = gettext("定位失败，请手动填写坐标"); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
    });
  });

  var auto = document.querySelector("form[data-autosubmit]");
  if (auto && !sessionStorage.getItem("sent:" + location.href)) {
    // once the page and its scripts have loaded: one request at a time from this page
    var send = function () {
      sessionStorage.setItem("sent:" + location.href, "1");
      auto.submit();
    };
    if (document.readyState === "complete") { send(); } else { window.addEventListener("load", send); }
  }

  document.querySelectorAll("[data-refresh]").forEach(function (box) {
    var every = (parseInt(box.getAttribute("data-every"), 10) || 5) * 1000;
    setInterval(function () {
      fetch(box.getAttribute("data-refresh"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.status === 200 ? r.text() : null; })
        .then(function (html) { if (html !== null) box.innerHTML = html; })
        .catch(function () { /* offline: keep the last code */ });
    }, every);
  });
})();
