#!/usr/bin/env -S node --max-semi-space-size=32
// `npx huike ...`: the TypeScript sources are compiled into one file at start (bundle.js) and run on plain Node;
// no build step. Stack traces point at the sources through the bundle's source map.
// --max-semi-space-size=32 (MB, also in `npm start`): V8's young generation may grow to 3 x 32 MB instead of 3 x 16.
// A message allocates about 200 KB that dies young; with the larger nursery a scavenge runs half as often and
// promotes less, which costs about 20 MB more RSS and saves about 15 % CPU per message (README, issue #9).
import { bundleServer } from './bundle.js';

const url = await bundleServer(new URL('./cli.ts', import.meta.url));
process.setSourceMapsEnabled(true);
await import(url);
