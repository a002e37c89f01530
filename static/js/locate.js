// "Use my location" on the nearest-branch page: fills lat/lon from the browser and submits.
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  var form = document.getElementById("nearest-form");
  if (!button || !form || !navigator.geolocation) { return; }
  var status = document.getElementById("location-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("lat").value = position.coords.latitude.toFixed(5);
      document.getElementById("lon").value = position.coords.longitude.toFixed(5);
      form.querySelector("[name=place]").value = "";
      form.submit();
    }, function () {
      status.textContent = button.dataset.failed;
    }, { timeout: 10000, maximumAge: 600000 });
  });
}());
