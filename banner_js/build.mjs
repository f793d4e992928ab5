// Builds the banner: node build.mjs [--out FILE] [--en-catalog FILE]  (default
// ../consent_service/static/banner.js, from ../consent_service/locale/en/LC_MESSAGES/messages.po).
// The output is committed; tests/test_banner_build.py rebuilds it and compares byte for byte, so
// the build must stay deterministic (pinned esbuild, no timestamps or paths in the output).
import { build, transform } from "esbuild";
import { readFile, writeFile } from "node:fs/promises";
import { minify } from "terser";
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

// The built-in English (EN_TEXTS, the banner's texts when the API cannot be reached) comes from the
// English gettext catalog, in TEXT_KEYS's order: each key is a msgctxt, its text the msgstr.
function catalogTexts(po) {
  const texts = {};
  const unquote = (lines) => lines.map((l) => JSON.parse(l.replace(/^[a-z_]+(\[\d+\])? /, ""))).join("");
  for (const entry of po.split(/\n\n+/)) {
    const lines = entry.split("\n").filter((l) => l && !l.startsWith("#"));
    const starts = lines.map((l, i) => (/^[a-z]/.test(l) ? i : -1)).filter((i) => i >= 0);
    const fields = Object.fromEntries(starts.map((s, n) => [lines[s].split(" ")[0], unquote(lines.slice(s, starts[n + 1]))]));
    if (fields.msgctxt !== undefined && fields.msgstr !== undefined) texts[fields.msgctxt] = fields.msgstr;
  }
  return Object.fromEntries(constants.TEXT_KEYS.map((key) => {
    if (!texts[key]) throw new Error(`build: no English for the text "${key}" in the catalog`);
    return [key, texts[key]];
  }));
}
const catalogIndex = args.indexOf("--en-catalog");
const EN_CATALOG = catalogIndex >= 0 ? args[catalogIndex + 1] : here("../consent_service/locale/en/LC_MESSAGES/messages.po");
const EN_LITERAL = /export const EN_TEXTS = \{[^}]*\};/;
const enTexts = `export const EN_TEXTS = ${JSON.stringify(catalogTexts(await readFile(EN_CATALOG, "utf8")))};`;
const IMPORT = /import \{([^}]*)\} from "\.\/constants\.js";/;

function inlineConstants(source) {
  if (EN_LITERAL.test(source)) source = source.replace(EN_LITERAL, () => enTexts);
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

// esbuild bundles and minifies; terser then minifies the bundle once more (its safe defaults: it
// inlines functions called once and reuses names, about 3% of the budget after gzip that esbuild leaves).
const BANNER = "/* built from banner_js/: do not edit */";
const bundled = await build({
  entryPoints: [here("src/index.js")],
  write: false,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  charset: "utf8",
  legalComments: "none",
  plugins: [cssAsText, inlineConstantsPlugin],
  // tsconfig.json is for type-checking only (tsc --noEmit): esbuild would read it, and its `strict`
  // would add "use strict" to the output.
  tsconfigRaw: {},
  logLevel: "warning",
});
const { code } = await minify(bundled.outputFiles[0].text, {
  ecma: 2020,
  compress: { passes: 2 },
  format: { comments: false, preamble: BANNER },
});
await writeFile(outfile, code + "\n");
