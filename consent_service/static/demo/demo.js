// The demo page's status panel: what the banner decided, and what tags and ad tech can read. It
// also keeps the page's end clear of the banner: while the banner (or the GPC status line) shows,
// fixed at the bottom, the body gets a bottom padding of its height, so the panel can always be
// scrolled into view above it.
(function () {
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
  function show(state) {
    var decisions = state.decisions || {};
    set("st-regime", (state.regime || "?") + (state.region ? " (" + state.region + ")" : ""));
    set("st-gpc", String(!!state.gpc));
    var list = document.getElementById("st-decisions");
    if (list) {
      list.textContent = "";
      Object.keys(decisions).forEach(function (p) {
        var line = document.createElement("span");
        line.textContent = p + ": " + (decisions[p].allowed ? "allowed" : "denied") + " (" + decisions[p].reason + ")";
        list.appendChild(line);
      });
    }
    set("st-usp", state.usp || "");
    set("st-gpp", state.gpp || "null");
    set("st-cookies", document.cookie || "(none)");
    pad();
  }
  var watched = null;
  var resized = window.ResizeObserver ? new ResizeObserver(function () { pad(); }) : null;
  function pad() {
    var host = document.getElementById("consent-service");
    var banner = host && host.shadowRoot && host.shadowRoot.querySelector("[role=region], [data-cs=honored]");
    if (resized && banner !== watched) {
      if (watched) { resized.unobserve(watched); }
      if (banner) { resized.observe(banner); }
      watched = banner;
    }
    document.body.style.paddingBottom = banner ? Math.ceil(banner.getBoundingClientRect().height) + 16 + "px" : "";
  }
  function watch() {
    var host = document.getElementById("consent-service");
    if (host && host.shadowRoot && !host.hasAttribute("data-demo-watched")) {
      host.setAttribute("data-demo-watched", "");
      new MutationObserver(pad).observe(host.shadowRoot, { childList: true });
    }
    pad();
  }
  // What a TCF vendor's tag reads: the page API's own events (IAB TCF v2.3), not the banner's state.
  function tcf() {
    if (typeof window.__tcfapi !== "function") { set("st-tcf", "no __tcfapi"); return; }
    window.__tcfapi("addEventListener", 2, function (data, success) {
      if (!success || !data) { set("st-tcf", "TCF off on this site"); return; }
      set("st-tcf", data.gdprApplies
        ? data.eventStatus + " · " + data.tcString
        : "gdprApplies: false (" + data.eventStatus + ")");
    });
  }
  function start() {
    if (!window.consentService) { return; }
    tcf();
    window.consentService.onChange(show);
    show(window.consentService.state());
    new MutationObserver(watch).observe(document.body, { childList: true });
    watch();
    window.addEventListener("resize", pad);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
