// plan.setMask: one plan serves calls with different padding. Each run must equal (bitwise) the
// one-shot call with that mask, for every style and both kinds; bad masks are refused and leave
// the plan's current mask in force.
import test from 'node:test';
import assert from 'node:assert/strict';
import { lib, tag, makeMask, assertBitsEqual } from './helpers.js';
import { makeQKV } from '../reference.js';

const shape = [2, 2, 40, 8];

for (const kind of ['nystrom', 'softmax']) {
  test(tag(`${kind} plan: setMask changes the mask of later runs exactly as the one-shot option does`), () => {
    const { q, k, v } = makeQKV(shape, 11);
    const call = kind === 'nystrom' ? lib.nystromAttention : lib.softmaxAttention;
    for (const style of ['authors', 'hf', 'lucidrains']) {
      const base = kind === 'nystrom' ? { shape, style, landmarks: 6 } : { shape, style };
      const plan = lib.createAttention({ ...base, kind });
      for (const m of ['trailing', 'inner', 'none', 'trailing']) {
        const mask = makeMask(m, shape[0], shape[2]);
        plan.setMask(mask);
        assertBitsEqual(plan.run(q, k, v), call(q, k, v, { ...base, mask }), `${style} mask=${m}`);
      }
    }
  });
}

test(tag('setMask rejects a bad mask and keeps the one in force'), () => {
  const { q, k, v } = makeQKV(shape, 12);
  const mask = makeMask('inner', shape[0], shape[2]);
  const plan = lib.createAttention({ shape, landmarks: 5, mask });
  const before = plan.run(q, k, v);
  assert.throws(() => plan.setMask(new Float32Array(3)), (e) => e instanceof RangeError && /mask has 3 entries; shape needs batch·seqLen = 80/.test(e.message));
  const bad = mask.slice();
  bad[4] = 0.5;
  assert.throws(() => plan.setMask(bad), (e) => e instanceof RangeError && /mask entries must be 0 or 1, got 0\.5 at index 4/.test(e.message));
  assert.throws(() => plan.setMask('ones'), TypeError);
  assertBitsEqual(plan.run(q, k, v), before, 'the previous mask is still in force');
  plan.dispose();
  assert.throws(() => plan.setMask(undefined), /disposed/);
});
