// Reads GPP strings with a `tcfeuv2` section (id 2) with IAB's @iabgpp/cmpapi, for
// tests/test_tcf_signals.py. stdin: a JSON array of GPP strings. stdout: a JSON array, in order, of
// {sectionList, hasTcfeuv2, tcfeuv2} (the section as getSection gives it; dates as ISO strings).
import { readFileSync } from "node:fs";
import { CmpApi } from "@iabgpp/cmpapi";

// CmpApi installs `window.__gpp` and drains the page's stub queue: the global object stands in for
// the window. The library logs to stdout, which carries our answer.
globalThis.window ??= globalThis;
window.__gpp ??= () => [];
console.log = console.error;

const out = JSON.parse(readFileSync(0, "utf8")).map((gpp) => {
  const cmp = new CmpApi(1, 1);
  cmp.setGppString(gpp);
  const hasTcfeuv2 = cmp.hasSection("tcfeuv2");
  let sectionList;
  window.__gpp("ping", (data) => {
    sectionList = data.sectionList;
  });
  return { sectionList, hasTcfeuv2, tcfeuv2: hasTcfeuv2 ? cmp.getSection("tcfeuv2") : null };
});
process.stdout.write(JSON.stringify(out));
