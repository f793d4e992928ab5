// The demo page's status panel: what the banner decided, and what tags and ad tech can read.
(function () {
  function show(state) {
    var set = function (id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } };
    var decisions = state.decisions || {};
    set("st-regime", (state.regime || "?") + (state.region ? " (" + state.region + ")" : ""));
    set("st-gpc", String(!!state.gpc));
    set("st-decisions", Object.keys(decisions).map(function (p) {
      return p + ": " + (decisions[p].allowed ? "allowed" : "denied") + " (" + decisions[p].reason + ")";
    }).join(", "));
    set("st-usp", state.usp || "");
    set("st-gpp", state.gpp || "null");
    set("st-cookies", document.cookie || "(none)");
  }
  function start() {
    if (!window.consentService) { return; }
    window.consentService.onChange(show);
    show(window.consentService.state());
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
