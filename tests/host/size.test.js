// The bundle size of each package entry (scripts/size.mjs: esbuild, minified, gzipped) stays within its budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sizes } from '../../scripts/size.mjs';
import { tag } from './helpers.js';

test(tag('size: every entry, minified and gzipped, within its budget'), (t) => {
  for (const s of sizes()) {
    t.diagnostic(`${s.name}: ${(s.bytes / 1024).toFixed(1)} KiB minified, ${(s.gzip / 1024).toFixed(1)} KiB gzipped (budget ${s.budgetKiB} KiB)`);
    assert.ok(s.gzip <= s.budgetKiB * 1024, `${s.name}: ${(s.gzip / 1024).toFixed(1)} KiB gzipped, over the ${s.budgetKiB} KiB budget`);
  }
});
