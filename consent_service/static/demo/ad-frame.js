// How an ad inside an iframe follows the GPP signal: find the frame named __gppLocator in an
// ancestor, post it an `addEventListener` __gppCall, and read every __gppReturn that carries our
// callId: the CMP answers it once at once (listenerRegistered) and again on every change
// (signalStatus, sectionChange, ...), each time with the current ping data (IAB GPP CMP API 1.1).
(function () {
  var out = document.getElementById("frame-gpp");
  var target = null;
  for (var w = window; w; w = w === window.top ? null : w.parent) {
    try {
      if (w.frames.__gppLocator) { target = w; break; }
    } catch (e) { /* a cross-origin ancestor: keep climbing */ }
  }
  if (!target) { out.textContent = "no __gppLocator frame found"; return; }
  var events = 0;
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (typeof data === "string") { try { data = JSON.parse(data); } catch (e) { return; } }
    var ret = data && data.__gppReturn;
    if (!ret || ret.callId !== "demo-listener" || !ret.returnValue) { return; }
    var ping = ret.returnValue.pingData || {};
    events += 1;
    out.textContent = "gppString=" + (ping.gppString || "(none)") + " signalStatus=" + ping.signalStatus +
      " applicableSections=" + JSON.stringify(ping.applicableSections) +
      " (event " + events + ": " + ret.returnValue.eventName + ")";
    out.setAttribute("data-gpp", ping.gppString || "");
    out.setAttribute("data-signal", ping.signalStatus || "");
    out.setAttribute("data-events", String(events));
  });
  target.postMessage(
    { __gppCall: { command: "addEventListener", parameter: null, version: "1.1", callId: "demo-listener" } }, "*"
  );
})();
