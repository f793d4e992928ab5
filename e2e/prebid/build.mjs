// Bundles entry.js (Prebid.js from node_modules, pinned by package-lock.json) into one script:
//   node build.mjs --out FILE
// e2e/test_prebid.py runs it once per change of the lockfile, the entry or this script (its cache key)
// and serves the result from the publisher's origin. Neither node_modules nor the bundle is committed.
//
// Prebid's build options (its customize/README.md) are set the documented way for "another bundler":
// its virtual module (customize/virtualBuildOptions) replaces dist/src/buildOptions.mjs. The one we
// change is distUrlBase: with `debug` on, Prebid 11 loads a chunk (devtoolsMcp-standalone.js) from
// distUrlBase, by default jsDelivr's CDN; a publisher who hosts Prebid serves its chunks too, here
// under /prebid/chunks/ on the page's own origin (the test serves them from node_modules).
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  getBuildOptionsVirtualModuleId,
  renderBuildOptionsVirtualModule,
} from "prebid.js/customize/virtualBuildOptions";

const DIST_URL_BASE = "/prebid/chunks/";
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
if (outIndex < 0 || !args[outIndex + 1]) {
  console.error("usage: node build.mjs --out FILE");
  process.exit(2);
}

const buildOptionsModule = path.normalize(getBuildOptionsVirtualModuleId());
const prebidBuildOptions = {
  name: "prebid-build-options",
  setup(b) {
    const filter = new RegExp(`^${buildOptionsModule.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
    b.onLoad({ filter }, async () => ({
      contents: await renderBuildOptionsVirtualModule({ distUrlBase: DIST_URL_BASE }),
      loader: "js",
    }));
  },
};

await build({
  entryPoints: [here("entry.js")],
  outfile: args[outIndex + 1],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  charset: "utf8",
  legalComments: "eof",
  plugins: [prebidBuildOptions],
  logLevel: "warning",
});
