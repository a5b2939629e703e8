// The phone's record form: fill the position (WGS 84) so the dispute lands in its grid when no
// grid is chosen.
(function () {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(function (pos) {
    var lon = document.getElementById("dispute-lon"), lat = document.getElementById("dispute-lat");
    if (lon && lat) { lon.value = pos.coords.longitude; lat.value = pos.coords.latitude; }
  }, function () {}, {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000});
})();
