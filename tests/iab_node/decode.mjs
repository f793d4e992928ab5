// Decodes GPP strings with IAB's reference implementation (@iabgpp/cmpapi), for tests/test_iab.py.
// stdin: a JSON array of GPP strings. stdout: a JSON array, one object per string, in order:
//   {gpp, cmpapiVersion, header: {Id, Version, SectionIds}, sectionList, hasUsnat, usnat,
//    gpcSegmentIncluded, reencoded}
// or {gpp, error} when the library rejects the string. `reencoded` is what the library itself writes
// for the decoded usnat fields, so a caller can check our encoding is the canonical one too.
import { readFileSync } from "node:fs";
import { CmpApi, HeaderV1 } from "@iabgpp/cmpapi";

// CmpApi installs `window.__gpp` (a page API) and first drains the page's stub queue, as in a browser:
// under Node the global object stands in for the window, with an empty stub. The library logs to
// stdout, which carries our JSON answer, so its logging goes to stderr.
globalThis.window ??= globalThis;
window.__gpp ??= () => [];
console.log = console.error;

const cmpapiVersion = JSON.parse(
  readFileSync(new URL("./node_modules/@iabgpp/cmpapi/package.json", import.meta.url), "utf8"),
).version;

function reencode(usnat, gpcSegmentIncluded) {
  const cmp = new CmpApi(1, 1);
  for (const [field, value] of Object.entries(usnat)) {
    cmp.setFieldValue("usnat", field, value);
  }
  cmp.setFieldValue("usnat", "GpcSegmentIncluded", gpcSegmentIncluded);
  return cmp.getGppString();
}

function decode(gpp) {
  try {
    const cmp = new CmpApi(1, 1);
    cmp.setGppString(gpp); // lazy: the first query decodes, and throws on a bad string
    const hasUsnat = cmp.hasSection("usnat");
    const header = new HeaderV1(gpp.split("~")[0]).toObj();
    let sectionList;
    window.__gpp("ping", (data) => {
      sectionList = data.sectionList;
    });
    const usnat = hasUsnat ? cmp.getSection("usnat") : null;
    // getSection() reports Gpc false when the subsection is missing; this tells the two apart.
    const gpcSegmentIncluded = hasUsnat ? cmp.getFieldValue("usnat", "GpcSegmentIncluded") : null;
    return {
      gpp,
      cmpapiVersion,
      header,
      sectionList,
      hasUsnat,
      usnat,
      gpcSegmentIncluded,
      reencoded: usnat ? reencode(usnat, gpcSegmentIncluded) : null,
    };
  } catch (error) {
    return { gpp, cmpapiVersion, error: String(error?.message ?? error) };
  }
}

const input = JSON.parse(readFileSync(0, "utf8"));
if (!Array.isArray(input)) {
  throw new TypeError("expected a JSON array of GPP strings on stdin");
}
process.stdout.write(JSON.stringify(input.map(decode)) + "\n");
