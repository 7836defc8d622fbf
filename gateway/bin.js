#!/usr/bin/env node
// `npx huike ...`: the server runs TypeScript through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
