// Compiles the server's TypeScript into one ESM file when a node starts, and runs that file with plain Node.
// Why not the tsx loader: on Node 20 its hooks run on a thread of their own, and with the source maps it keeps
// it cost a gateway about 80 MB of RSS for as long as the node ran, and tsx's keepNames wrappers ran on hot
// paths. Compiling takes a few hundred milliseconds, at start only; users still run the sources, no build step.
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'huike');

/** node_modules/.cache/huike, or a temporary directory when the install is read-only (a locked-down container). */
function cacheDir() {
  try {
    mkdirSync(CACHE, { recursive: true });
    accessSync(CACHE, constants.W_OK);
    return CACHE;
  } catch {
    // one directory per install; its node_modules link lets the bundle's package imports resolve as from ROOT
    const dir = path.join(tmpdir(), `huike-bundle-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`);
    mkdirSync(dir, { recursive: true });
    if (!existsSync(path.join(dir, 'node_modules'))) {
      try {
        symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
      } catch (err) {
        if (err.code !== 'EEXIST') throw err;
      }
    }
    return dir;
  }
}

/**
 * Modules find their data files (migrations, the demo KB, the console build) relative to `import.meta.url`.
 * In one bundle that would be the bundle's URL, so each of our modules gets its own URL back, written relative to
 * the bundle: the tree may be moved, the bundle stays valid.
 */
const ownModuleUrls = (outdir) => ({
  name: 'own-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.(ts|mts)$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const rel = path.relative(outdir, args.path).split(path.sep).join('/');
      const contents = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      return { contents, loader: 'ts' };
    });
  },
});

/**
 * Bundles `entry` (a .ts file) and returns the URL of the compiled file. Packages stay outside the bundle and
 * load from node_modules as usual. The file is named by its content: nodes starting together write the same
 * file (atomically) and never half of one.
 */
export async function bundleServer(entry) {
  const dir = cacheDir();
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    outdir: dir,
    sourcemap: 'linked',
    logLevel: 'silent',
    plugins: [ownModuleUrls(dir)],
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  const name = `${path.basename(entry.pathname ?? String(entry)).replace(/\.m?ts$/, '')}-${createHash('sha256').update(js.contents).digest('hex').slice(0, 16)}`;
  const file = path.join(dir, `${name}.mjs`);
  if (!existsSync(file)) {
    const write = (target, text) => {
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, target);
    };
    write(`${file}.map`, map.text);
    // the comment esbuild ends the file with; one in the code (this very line, once bundled) must stay as it is
    write(file, js.text.replace(/\/\/# sourceMappingURL=\S*\s*$/, `//# sourceMappingURL=${name}.mjs.map\n`));
  }
  forgetOldBundles(dir, name);
  return pathToFileURL(file).href;
}

/** Every edit of the sources makes a new bundle; those of the same entry older than a day are removed. */
function forgetOldBundles(dir, current) {
  const entry = current.slice(0, current.lastIndexOf('-') + 1);
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const f of readdirSync(dir)) {
    if (f === 'node_modules' || !f.startsWith(entry) || f.startsWith(current)) continue;
    const p = path.join(dir, f);
    try {
      if (statSync(p).mtimeMs < dayAgo) rmSync(p, { force: true });
    } catch {
      // another node removed it first
    }
  }
}
