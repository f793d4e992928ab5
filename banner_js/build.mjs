// Builds the banner: node build.mjs [--out FILE]  (default ../consent_service/static/banner.js).
// The output is committed; tests/test_banner_build.py rebuilds it and compares byte for byte, so
// the build must stay deterministic (pinned esbuild, no timestamps or paths in the output).
import { build, transform } from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outfile = outIndex >= 0 ? args[outIndex + 1] : here("../consent_service/static/banner.js");

// `import CSS from "./x.css"` gives the minified stylesheet as a string (for a constructable sheet).
const cssAsText = {
  name: "css-as-text",
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async ({ path }) => {
      const { code } = await transform(await readFile(path, "utf8"), { loader: "css", minify: true });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

// esbuild does not inline constants across modules, and a name in place of each short string costs
// about 2% of the budget after gzip. So each module's imported primitive constants (the SCREAMING_CASE
// exports of constants.js) become their literal values here; the sources stay plain modules.
const constants = await import(here("src/constants.js"));
const IMPORT = /import \{([^}]*)\} from "\.\/constants\.js";/;

function inlineConstants(source) {
  const imported = IMPORT.exec(source);
  if (!imported) return source;
  const split = imported.index + imported[0].length;
  let body = source.slice(split);
  for (const name of imported[1].split(",").map((n) => n.trim())) {
    const value = constants[name];
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || !["string", "number"].includes(typeof value)) continue;
    body = body.replace(new RegExp(`(?<![\\w.$])${name}(?![\\w$])`, "g"), JSON.stringify(value));
  }
  return source.slice(0, split) + body;
}

const inlineConstantsPlugin = {
  name: "inline-constants",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async ({ path }) => ({
      contents: inlineConstants(await readFile(path, "utf8")),
      loader: "js",
    }));
  },
};

await build({
  entryPoints: [here("src/index.js")],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  charset: "utf8",
  legalComments: "none",
  banner: { js: "/* built from banner_js/: do not edit */" },
  plugins: [cssAsText, inlineConstantsPlugin],
  // tsconfig.json is for type-checking only (tsc --noEmit): esbuild would read it, and its `strict`
  // would add "use strict" to the output.
  tsconfigRaw: {},
  logLevel: "warning",
});
