// Bundle the dashboard (src/) into the Python package: eyenet/web/dashboard/static/.
//
//   node dashboard/build.mjs [OUT]   (scripts/build-dashboard.sh installs the pinned tools first)
//
// OUT defaults to the package's static/ folder; tests/test_dashboard.py builds into another
// one to compare with what is committed.
// Output: index.html naming assets/main-<hash>.js and .css (content hashes, so they may be
// cached for ever), a .gz of each for clients that accept gzip, and
// THIRD-PARTY-LICENSES.txt with the licence of every npm package the bundle carries
// (found from esbuild's metafile, so a new dependency cannot ship without its licence).
// The output is committed: installing EyeNet needs no Node.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, '..', 'eyenet', 'web', 'dashboard', 'static'));
const assets = path.join(out, 'assets');

const result = await build({
  absWorkingDir: here,
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  entryNames: '[name]-[hash]',
  outdir: 'out',
  write: false,
  metafile: true,
  legalComments: 'none', // gathered in THIRD-PARTY-LICENSES.txt instead
  logLevel: 'warning',
});

fs.rmSync(assets, { recursive: true, force: true });
fs.mkdirSync(assets, { recursive: true });
const names = {};
for (const file of result.outputFiles) {
  const name = path.basename(file.path);
  names[path.extname(name).slice(1)] = name;
  fs.writeFileSync(path.join(assets, name), file.contents);
  fs.writeFileSync(path.join(assets, `${name}.gz`), gzipSync(file.contents, { level: 9 }));
}

const html = fs.readFileSync(path.join(here, 'src', 'index.html'), 'utf8')
  .replace('{{css}}', names.css).replace('{{js}}', names.js);
fs.writeFileSync(path.join(out, 'index.html'), html);

const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match && !packages.has(match[1])) packages.set(match[1], path.join(here, 'node_modules', match[1]));
}
const notices = [...packages.entries()].sort().map(([name, dir]) => {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  if (!file) throw new Error(`${name} has no licence file: cannot ship it`);
  return `${name} ${meta.version} (${meta.license})\n\n${fs.readFileSync(path.join(dir, file), 'utf8').trim()}\n`;
});
fs.writeFileSync(path.join(out, 'THIRD-PARTY-LICENSES.txt'),
  'The EyeNet dashboard bundles these npm packages:\n\n' + notices.join('\n' + '-'.repeat(72) + '\n\n'));

for (const name of Object.values(names)) {
  const raw = fs.statSync(path.join(assets, name)).size;
  const gz = fs.statSync(path.join(assets, `${name}.gz`)).size;
  console.log(`${name}: ${raw} bytes, ${gz} gzipped`);
}
