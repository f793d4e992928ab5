// A stand-in advertising tag: it only runs when the banner allows "advertising". It sets the
// cookies a real ad tag would (the site config lists them, so they are deleted on withdrawal).
(function () {
  var year = 365 * 24 * 3600;
  document.cookie = "_fbp=fb.1." + Date.now() + ".demo; path=/; max-age=" + year + "; SameSite=Lax";
  document.cookie = "_gcl_au=1.1.demo." + Date.now() + "; path=/; max-age=" + year + "; SameSite=Lax";
  window.demoAdLoaded = (window.demoAdLoaded || 0) + 1;
  var slot = document.getElementById("ad-slot");
  if (slot) {
    slot.textContent = "Advertising tag loaded (it set _fbp and _gcl_au).";
    slot.className = "tag loaded";
  }
})();
