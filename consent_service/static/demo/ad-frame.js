// How an ad inside an iframe reads the GPP signal: find the frame named __gppLocator in an
// ancestor, post a __gppCall to that window, and wait for the __gppReturn (IAB GPP CMP API 1.1).
(function () {
  var out = document.getElementById("frame-gpp");
  var target = null;
  for (var w = window; w; w = w === window.top ? null : w.parent) {
    try {
      if (w.frames.__gppLocator) { target = w; break; }
    } catch (e) { /* a cross-origin ancestor: keep climbing */ }
  }
  if (!target) { out.textContent = "no __gppLocator frame found"; return; }
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (typeof data === "string") { try { data = JSON.parse(data); } catch (e) { return; } }
    var ret = data && data.__gppReturn;
    if (!ret || ret.callId !== "demo-ping") { return; }
    var ping = ret.returnValue || {};
    out.textContent = "signalStatus=" + ping.signalStatus + " gppString=" + ping.gppString +
      " applicableSections=" + JSON.stringify(ping.applicableSections);
    out.setAttribute("data-gpp", ping.gppString || "");
  });
  target.postMessage({ __gppCall: { command: "ping", parameter: null, version: "1.1", callId: "demo-ping" } }, "*");
})();
