// A stand-in analytics tag: it only runs when the banner allows "analytics".
(function () {
  document.cookie = "_ga=GA1.1.demo." + Date.now() + "; path=/; max-age=" + 365 * 24 * 3600 + "; SameSite=Lax";
  window.demoAnalyticsLoaded = (window.demoAnalyticsLoaded || 0) + 1;
  var slot = document.getElementById("analytics-slot");
  if (slot) {
    slot.textContent = "Analytics tag loaded (it set _ga).";
    slot.className = "tag loaded";
  }
})();
