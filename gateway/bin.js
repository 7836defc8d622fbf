#!/usr/bin/env node
// `npx huike ...`: the TypeScript sources are compiled into one file at start (bundle.js) and run on plain Node;
// no build step. Stack traces point at the sources through the bundle's source map.
import { bundleServer } from './bundle.js';

const url = await bundleServer(new URL('./cli.ts', import.meta.url));
process.setSourceMapsEnabled(true);
await import(url);
