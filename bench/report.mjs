// Turns the JSON written by bench/run.mjs into the markdown performance section of the README.
// Usage: node bench/report.mjs [results.json] [--write FILE] [--readme]
//   default input bench/results/latest.json; markdown goes to stdout unless --write / --readme is given.
//   --readme replaces the text between <!-- bench:start --> and <!-- bench:end --> in bench/README.md
//   (the full report) and in README.md (a summary of the headline ratios).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const DEFAULT_JSON = path.join(here, 'results', 'latest.json');
const ALL_SECTIONS = ['matmul', 'attention', 'nystrom-peer', 'scaling', 'memory', 'copies'];
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

// ---------------------------------------------------------------- arguments

function usage(msg) {
  if (msg) console.error(msg);
  console.error('usage: node bench/report.mjs [results.json] [--write FILE] [--readme]');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const args = { json: DEFAULT_JSON, write: null, readme: false };
  let positional = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--write') args.write = argv[++i] ?? usage('--write needs a file');
    else if (a.startsWith('--write=')) args.write = a.slice(8);
    else if (a === '--readme') args.readme = true;
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('-')) usage(`unknown argument ${a}`);
    else if (positional) usage(`more than one input file: ${a}`);
    else { args.json = path.resolve(a); positional = true; }
  }
  return args;
}

// ---------------------------------------------------------------- formatting

const ok = (x) => x != null && Number.isFinite(x);
const gf = (x) => (ok(x) ? x.toFixed(1) : '—');
const ms = (x) => (ok(x) ? x.toFixed(2) : '—');
const ratio = (x) => (ok(x) ? `${x.toFixed(2)}×` : '—');
const pct = (x) => (ok(x) ? `${(100 * x).toFixed(0)} %` : '—');
const mib = (b) => (ok(b) ? (b / 2 ** 20).toFixed(1) : '—');
const mark = (pass) => (pass == null ? '—' : pass ? '✅' : '❌');
const shapeLabel = (e) => `${e.shape.join('×')} ${e.transB ? 'A·Bᵀ' : 'A·B'}`;
const num = (n) => String(n);

function table(headers, rows, align) {
  const al = align ?? headers.map((_, i) => (i === 0 ? 'l' : 'r'));
  const sep = al.map((a) => (a === 'r' ? '---:' : a === 'c' ? ':---:' : '---'));
  const line = (r) => `| ${r.map((c) => String(c ?? '')).join(' | ')} |`;
  return [line(headers), line(sep), ...rows.map(line)].join('\n');
}

/** The attention entries of a run (one per n; older runs stored one object). */
const attentionEntries = (s) => (Array.isArray(s.attention) ? s.attention : s.attention?.results ? [s.attention] : []);

const PART_LABELS = { copies: 'copies', scan: 'scan', gemm: 'gemm', softmax: 'softmax/exp', landmarks: 'landmarks', pinv: 'pinv', conv: 'conv', other: 'other' };

// ---------------------------------------------------------------- header

function commandFor(meta, jsonPath) {
  const flags = [];
  if (meta.mode === 'quick') flags.push('--quick');
  const secs = meta.sections ?? ALL_SECTIONS;
  if (secs.length < ALL_SECTIONS.length) flags.push(`--only ${secs.join(',')}`);
  const rel = path.relative(root, jsonPath).split(path.sep).join('/');
  const inRepo = !rel.startsWith('..') && !path.isAbsolute(rel);
  const isDefault = path.resolve(jsonPath) === DEFAULT_JSON;
  if (inRepo && !isDefault) flags.push(`--json ${rel}`);
  const bench = `npm run bench${flags.length ? ` -- ${flags.join(' ')}` : ''}`;
  const report = `node bench/report.mjs${inRepo && !isDefault ? ` ${rel}` : ''} --readme`;
  return { bench, report };
}

function header(res, jsonPath) {
  const m = res.meta ?? {};
  const v = m.versions ?? {};
  const p = m.peers ?? {};
  const date = m.date ? m.date.slice(0, 10) : 'unknown date';
  const builds = (m.builds ?? []).length ? `${m.builds.join(', ')}${m.defaultBuild ? ` (default ${m.defaultBuild})` : ''}` : 'none';
  const tfjs = `tfjs-core ${v['@tensorflow/tfjs-core'] ?? '?'} + tfjs-backend-wasm ${v['@tensorflow/tfjs-backend-wasm'] ?? '?'}` +
    ` (SIMD ${p.tfjsSimd ? 'on' : 'off'}, ${p.tfjsThreads ? 'threads' : '1 thread'})`;
  const ort = `onnxruntime-web ${v['onnxruntime-web'] ?? '?'} (wasm, numThreads ${p.ortThreads ?? '?'})`;
  const cmd = commandFor(m, jsonPath);
  const lines = [
    `${m.machine ?? 'unknown CPU'}, ${m.cores ?? '?'} cores, ${m.platform ?? '?'}; Node ${m.node ?? '?'}; ` +
      `nystrom-wasm ${v['nystrom-wasm'] ?? '?'}, builds ${builds}; ${tfjs}; ${ort}. ` +
      `${m.mode === 'quick' ? 'Quick' : m.mode === 'full' ? 'Full' : '?'} run, ${date}: \`${cmd.bench}\`, then \`${cmd.report}\`. ` +
      'Medians, one process, contestants alternating; copies in and out are included in every call except the zero-copy (plan.runInPlace) rows.',
  ];
  if (res.failures?.length) lines.push('', `**${res.failures.length} correctness failure(s) in this run**: ${res.failures.join('; ')}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- sections

function matmulSection(mm, builds) {
  // Builds with zero-copy plan timings (createMatmul + runInPlace) in this run.
  const zc = builds.filter((b) => mm.some((e) => e.results[`ours ${b} zero-copy`]));
  const cb = builds.filter((b) => mm.some((e) => e.results[`ours ${b} constant B`]));
  const rows = mm.map((e) => {
    const r = e.results;
    const g = (name) => r[name]?.gflops;
    return [
      shapeLabel(e),
      ...builds.map((b) => gf(g(`ours ${b}`))),
      ...zc.map((b) => gf(g(`ours ${b} zero-copy`))),
      ...cb.map((b) => gf(g(`ours ${b} constant B`))),
      gf(g('tfjs fresh B')), gf(g('tfjs reused B')), gf(g('ort')), gf(g('plain JS')),
      ...builds.map((b) => ratio(g(`ours ${b}`) / g('tfjs fresh B'))),
      ...cb.map((b) => ratio(g(`ours ${b} constant B`) / g('tfjs reused B'))),
    ];
  });
  return [
    '### Matrix multiply (GFLOP/s)',
    '',
    table(['M×K×N', ...builds.map((b) => `ours ${b}`), ...zc.map((b) => `${b} zero-copy`), ...cb.map((b) => `${b} constant B`), 'tfjs fresh B', 'tfjs reused B', 'ort', 'plain JS',
      ...builds.map((b) => `${b} ÷ tfjs fresh`), ...cb.map((b) => `${b} const B ÷ tfjs reused`)], rows),
    '',
    'GFLOP/s = 2·M·K·N / median time. `ours` is the one-shot `matmul`/`matmulTransposed` with `out` passed: A and B copied into wasm memory and C out, as every peer copies its inputs and result; `zero-copy` is a `createMatmul` plan whose operands already sit in wasm memory (`runInPlace()`): the kernel alone; `constant B` is a `createMatmul({ constantB: true })` plan run with the same B every call (packed once; A copied in and C out), the counterpart of tfjs reused B. One-shot calls are compared with tfjs fresh B, constant-B plans with tfjs reused B. A·Bᵀ takes B stored N×K; peers transpose it first (tfjs reused B: Bᵀ materialised once, outside the timing).',
  ].join('\n');
}

const ATT_ROWS = (builds) => [
  ...builds.map((b) => [`ours nystrom ${b}`, `ours Nyström, ${b}`]),
  ...builds.map((b) => [`ours softmax ${b}`, `ours exact (softmaxAttention), ${b}`]),
  ['tfjs exact', 'tfjs exact'],
  ['ort exact', 'ort exact'],
  ['tfjs nystrom', 'tfjs-composed Nyström'],
];

function attentionSection(a, builds) {
  const r = a.results ?? {};
  const t = (name) => r[name]?.median;
  const peers = ['tfjs exact', 'ort exact', 'tfjs nystrom'];
  const rows = ATT_ROWS(builds).filter(([k]) => r[k]).map(([k, label]) => [
    label, ms(t(k)), ...peers.map((p) => (p === k ? '—' : ratio(t(p) / t(k)))),
  ]);
  const out = [
    `### Attention, one head, n = ${a.n}, d = ${a.d}, m = ${a.m} landmarks, ${a.iters} pinv iterations`,
    '',
    table(['', 'ms', '× vs tfjs exact', '× vs ort exact', '× vs tfjs Nyström'], rows),
    '',
    'Speed-up = peer time ÷ row time.',
  ];
  const eff = builds.filter((b) => a.effectiveRate?.[`nystrom ${b}`]).map((b) => {
    const e = a.effectiveRate[`nystrom ${b}`], x = a.effectiveRate[`softmax ${b}`];
    return [b, gf(e.gflops), gf(x?.gflops), gf(e.matmulGflops), pct(e.fraction), pct(x?.fraction)];
  });
  if (eff.length) {
    out.push('', `Effective rate = FLOPs ÷ time — Nyström: ${a.nystromFlopsFormula ?? 'see bench/README.md'} = ${ok(a.nystromFlops) ? (a.nystromFlops / 1e6).toFixed(1) : '?'} MFLOP; ` +
      `exact: 4·n²·d = ${ok(a.exactFlops) ? (a.exactFlops / 1e9).toFixed(2) : '?'} GFLOP — against our own matmul at 4096×64×64 timed in the same rounds:`, '',
    table(['build', 'Nyström GFLOP/s', 'exact GFLOP/s', 'matmul 4096×64×64 GFLOP/s', 'Nyström fraction', 'exact fraction'], eff));
  }
  const bd = a.breakdown ? Object.entries(a.breakdown) : [];
  if (bd.length) {
    const parts = Object.keys(PART_LABELS).filter((p) => bd.some(([, r]) => r.parts?.[p] / r.ms >= 0.005));
    out.push('', `Where the time goes (\`bench/breakdown.mjs\`: the same call on a profile build whose kernels time their own work, exclusive of the kernels they call; copies in and out timed by the host; share of the timed call):`, '',
      table(['', 'ms timed', 'ms shipped build', ...parts.map((p) => PART_LABELS[p])],
        bd.map(([name, r]) => [`ours ${name.replace('softmax', 'exact')}`, ms(r.ms), ms(r.shippedMs), ...parts.map((p) => pct(r.parts[p] / r.ms))])));
  }
  return out.join('\n');
}

function peerSection(np, builds) {
  const rows = np.map((e) => {
    const t = (name) => e.results[name]?.median;
    return [num(e.n), ms(t('tfjs nystrom')), ...builds.flatMap((b) => [ms(t(`ours ${b}`)), ratio(t('tfjs nystrom') / t(`ours ${b}`))])];
  });
  return [
    `### Nyström vs Nyström composed from tfjs ops (d = ${np[0].d}, m = ${np[0].m}), ms`,
    '',
    table(['n', 'tfjs-composed', ...builds.flatMap((b) => [`ours ${b}`, `× ${b}`])], rows),
    '',
    'One-shot `nystromAttention` calls; × = tfjs time ÷ ours.',
  ].join('\n');
}

function scalingGrowth(sc, b) {
  const pts = sc.points.filter((p) => ok(p.results[`nystrom ${b}`]?.median));
  if (pts.length < 2) return null;
  const first = pts[0], last = pts[pts.length - 1];
  return { n0: first.n, n1: last.n, growth: last.results[`nystrom ${b}`].median / first.results[`nystrom ${b}`].median };
}

function scalingSection(sc, builds) {
  const first = sc.points[0];
  const exactBuilds = builds.filter((b) => sc.points.some((p) => p.results[`softmax ${b}`]));
  const rows = sc.points.map((p) => [
    num(p.n),
    ...builds.flatMap((b) => [ms(p.results[`nystrom ${b}`]?.median), ratio(p.results[`nystrom ${b}`]?.median / first.results[`nystrom ${b}`]?.median)]),
    ...exactBuilds.map((b) => ms(p.results[`softmax ${b}`]?.median)),
  ]);
  const growth = builds.map((b) => [b, scalingGrowth(sc, b)]).filter(([, g]) => g);
  const out = [
    `### Scaling with sequence length (plan.run, d = ${sc.d}, m = ${sc.m}), ms`,
    '',
    table(['n', ...builds.flatMap((b) => [`Nyström ${b}`, `growth`]), ...exactBuilds.map((b) => `exact ${b}`)], rows),
    '',
  ];
  if (growth.length) {
    const { n0, n1 } = growth[0][1];
    out.push(`Growth t(${n1})/t(${n0}): ${growth.map(([b, g]) => `${b} ${ratio(g.growth)}`).join(', ')} (linear: ${ratio(n1 / n0)}). ` +
      'All sizes run in the same alternating rounds; exact attention only where measured.');
  }
  return out.join('\n');
}

function memorySection(mem) {
  const rows = mem.points.map((p) => [
    num(p.n), mib(p.ioBytes),
    mib(p.nystrom?.memoryBytes), gf(p.nystrom?.overheadFloatsPerToken),
    mib(p.softmax?.memoryBytes), gf(p.softmax?.overheadFloatsPerToken),
  ]);
  return [
    `### Memory of a plan (1 head, d = ${mem.d}, m = ${mem.m}, build ${mem.build})`,
    '',
    table(['n', '4·(q+k+v+out) MiB', 'Nyström plan MiB', 'Nyström overhead floats/token', 'softmax plan MiB', 'softmax overhead floats/token'], rows),
    '',
    'Overhead = plan.memoryBytes − 4·(q+k+v+out), per token in floats; constant per token means O(n·(d+m)) memory, not O(n²).',
  ].join('\n');
}

function copiesSection(cp, builds) {
  const rows = [];
  for (const e of cp) {
    for (const b of builds) {
      const a = e.results[`run ${b}`]?.median, z = e.results[`runInPlace ${b}`]?.median;
      if (!ok(a) && !ok(z)) continue;
      rows.push([num(e.n), b, ms(a), ms(z), ms(a - z), ok(a - z) ? `${((100 * (a - z)) / a).toFixed(1)} %` : '—']);
    }
  }
  return [
    '### Cost of the copies (Nyström plan), ms',
    '',
    table(['n', 'build', 'run(q, k, v, out)', 'runInPlace()', 'difference', 'of run'], rows, ['l', 'l', 'r', 'r', 'r', 'r']),
    '',
    '`run` copies the inputs into wasm memory and the result out; `runInPlace` works on `plan.inputs` filled once (zero copy).',
  ].join('\n');
}

// ---------------------------------------------------------------- targets

// Thresholds per build; a build that is not listed here has no target.
const T = {
  matmulGflops: { simd: 30, relaxed: 40 },
  matmulVsTfjs: { simd: 1.2, relaxed: 1.7 },
  exactSpeedup: { simd: 30, relaxed: 30 },
  exactSpeedupOrt: { simd: 35, relaxed: 35 },
  effective: { simd: 0.85, relaxed: 0.85 },
  exactVsPeers: { simd: 2, relaxed: 2 },
  exactEffective: { simd: 0.7, relaxed: 0.7 },
  vsTfjsNystrom: { simd: 2, relaxed: 2.5 },
  growthAt65536: { simd: 18, relaxed: 18 },
  twoThreads: { simd: 1.8, relaxed: 1.8 },
  poolVsOrt2: { simd: 25, relaxed: 25 },
};

function targetsSection(s, builds) {
  const rows = [];
  let pass = 0, total = 0;
  const cell = (b, measured, p) => {
    if (p == null) return measured;
    total++;
    if (p) pass++;
    return `${measured} ${mark(p)}`;
  };
  // threshold text: one value when every build shares it, else "30 (simd), 40 (relaxed)"
  const both = (tbl, fmt) => {
    const bs = builds.filter((b) => tbl[b] != null);
    if (bs.every((b) => tbl[b] === tbl[bs[0]])) return bs.length ? fmt(tbl[bs[0]]) : '—';
    return bs.map((b) => `${fmt(tbl[b])} (${b})`).join(', ');
  };
  // group: rows [caseLabel, fn(b) -> [measuredText, pass|null]]; target text on the first row only
  const group = (target, cases) => cases.forEach(([label, f], i) => {
    rows.push([i === 0 ? target : '', label, ...builds.map((b) => { const [m, p] = f(b); return cell(b, m, p); })]);
  });

  if (s.matmul?.length) {
    const mmTarget = builds.filter((b) => T.matmulGflops[b] != null).map((b) => `${b} ≥ ${T.matmulGflops[b]} GFLOP/s and ≥ ${T.matmulVsTfjs[b]}×`).join('; ');
    const vs = (e, b, row, peer) => {
      const g = e.results[`ours ${b}${row}`]?.gflops;
      const r = g / e.results[peer]?.gflops;
      if (!ok(g) || T.matmulGflops[b] == null) return [ok(g) ? gf(g) : '—', null];
      return [`${gf(g)} GFLOP/s, ${ratio(r)}`, g >= T.matmulGflops[b] && ok(r) && r >= T.matmulVsTfjs[b]];
    };
    group(`matmul, one-shot (A, B copied in, C out) vs tfjs fresh B: ${mmTarget}`,
      s.matmul.map((e) => [shapeLabel(e), (b) => vs(e, b, '', 'tfjs fresh B')]));
    if (s.matmul.some((e) => builds.some((b) => e.results[`ours ${b} constant B`]))) {
      group('matmul, B packed once (`constantB` plan) vs tfjs reused B: the same',
        s.matmul.map((e) => [shapeLabel(e), (b) => vs(e, b, ' constant B', 'tfjs reused B')]));
    }
  }
  const atts = attentionEntries(s);
  const a = atts.find((e) => e.n === 4096) ?? atts.at(-1);
  if (a?.results) {
    const t = (k) => a.results[k]?.median;
    group(`Nyström n = ${a.n} ≥ ${both(T.exactSpeedup, (x) => `${x}×`)} tfjs exact, ≥ ${both(T.exactSpeedupOrt, (x) => `${x}×`)} ort exact (1 thread)`,
      [['tfjs exact', T.exactSpeedup], ['ort exact', T.exactSpeedupOrt]].map(([p, th]) => [`vs ${p}`, (b) => {
        const x = t(p) / t(`ours nystrom ${b}`);
        return [ratio(x), ok(x) && th[b] != null ? x >= th[b] : null];
      }]));
    if (a.effectiveRate) {
      group(`Nyström effective rate ≥ ${both(T.effective, (x) => `${100 * x} %`)} of our matmul 4096×64×64`,
        [[`Nyström n = ${a.n}`, (b) => {
          const e = a.effectiveRate[`nystrom ${b}`];
          if (!e) return ['—', null];
          return [`${gf(e.gflops)} / ${gf(e.matmulGflops)} GFLOP/s = ${pct(e.fraction)}`, T.effective[b] != null ? e.fraction >= T.effective[b] : null];
        }]]);
    }
  }
  const exactRows = atts.filter((e) => e.results).flatMap((e) => ['tfjs exact', 'ort exact'].map((p) => [`n = ${e.n} vs ${p}`, (b) => {
    const x = e.results[p]?.median / e.results[`ours softmax ${b}`]?.median;
    return [ratio(x), ok(x) && T.exactVsPeers[b] != null ? x >= T.exactVsPeers[b] : null];
  }]));
  if (exactRows.length) group(`exact attention ≥ ${both(T.exactVsPeers, (x) => `${x}×`)} tfjs-wasm and onnxruntime-web exact (1 thread)`, exactRows);
  const exactEff = atts.filter((e) => builds.some((b) => e.effectiveRate?.[`softmax ${b}`])).map((e) => [`n = ${e.n}`, (b) => {
    const x = e.effectiveRate[`softmax ${b}`];
    if (!x) return ['—', null];
    return [`${gf(x.gflops)} / ${gf(x.matmulGflops)} GFLOP/s = ${pct(x.fraction)}`, T.exactEffective[b] != null ? x.fraction >= T.exactEffective[b] : null];
  }]);
  if (exactEff.length) group(`exact attention effective rate ≥ ${both(T.exactEffective, (x) => `${100 * x} %`)} of our matmul 4096×64×64`, exactEff);
  if (s['nystrom-peer']?.length) {
    group(`≥ ${both(T.vsTfjsNystrom, (x) => `${x}×`)} faster than tfjs-composed Nyström`,
      s['nystrom-peer'].map((e) => [`n = ${e.n}`, (b) => {
        const x = e.results['tfjs nystrom']?.median / e.results[`ours ${b}`]?.median;
        return [ratio(x), ok(x) && T.vsTfjsNystrom[b] != null ? x >= T.vsTfjsNystrom[b] : null];
      }]));
  }
  if (s.scaling?.points?.length) {
    const g0 = builds.map((b) => scalingGrowth(s.scaling, b)).find(Boolean);
    if (g0) {
      // 18× at 65536/4096 is 1.125× linear; a run with a smaller largest n is held to the same fraction
      const limit = (b) => (T.growthAt65536[b] == null ? null : (T.growthAt65536[b] * (g0.n1 / g0.n0)) / 16);
      group(`scaling growth ≤ ${both(T.growthAt65536, (x) => `${+(x * (g0.n1 / g0.n0) / 16).toFixed(2)}×`)}${g0.n1 === 65536 && g0.n0 === 4096 ? '' : ' (18× at 65536/4096, scaled to the sizes present)'}`,
        [[`t(${g0.n1})/t(${g0.n0})`, (b) => {
          const g = scalingGrowth(s.scaling, b);
          return g ? [ratio(g.growth), limit(b) != null ? g.growth <= limit(b) : null] : ['—', null];
        }]]);
    }
  }
  const th = s.threads;
  if (th?.builds) {
    // 2 threads ÷ 1 (with the machine's own 2-core ceiling of that moment beside it).
    const two = (name) => (b) => {
      const r = th.builds[b]?.[name]?.[2];
      if (!r || !ok(r.speedup)) return ['—', null];
      return [`${ratio(r.speedup)}${r.ceiling ? ` (ceiling ${ratio(r.ceiling)})` : ''}`, T.twoThreads[b] != null ? r.speedup >= T.twoThreads[b] : null];
    };
    const cases = [['nystrom n=16384', 'Nyström n = 16384, one head'], ['nystrom n=16384 in place', 'the same, in place (plans)'],
      ['matmul 1024×1024×1024', 'matmul 1024³']].filter(([name]) => builds.some((b) => th.builds[b]?.[name]));
    if (cases.length) group(`2 threads ≥ ${both(T.twoThreads, (x) => `${x}×`)} one thread`, cases.map(([name, label]) => [label, two(name)]));
    const o = th.ort?.exact4096?.[2];
    if (o != null) {
      group(`Nyström on 2 threads ≥ ${both(T.poolVsOrt2, (x) => `${x}×`)} onnxruntime-web exact on 2 threads`, [['n = 4096', (b) => {
        const ours = th.builds[b]?.['nystrom n=4096']?.[2]?.ms;
        const x = o / ours;
        return ok(x) ? [ratio(x), T.poolVsOrt2[b] != null ? x >= T.poolVsOrt2[b] : null] : ['—', null];
      }]]);
    }
  }
  if (!rows.length) return null;
  return [
    '### Targets',
    '',
    `${pass} of ${total} met.`,
    '',
    table(['target', 'case', ...builds], rows, ['l', 'l', ...builds.map(() => 'l')]),
    '',
    'Ratios are ours ÷ peer (GFLOP/s), or peer time ÷ ours; every figure is from the one run above.',
  ].join('\n');
}

function threadsSection(th, builds) {
  const out = ['### Threads (createPool), ms per call or GFLOP/s'];
  for (const b of builds) {
    const entry = th.builds?.[b];
    if (!entry) continue;
    const counts = Object.keys(Object.values(entry)[0] ?? {}).map(Number).sort((x, y) => x - y);
    // Per thread count: the time or rate, the speedup, and (more than one thread) the machine's
    // ceiling for that many threads with the share of it the pool reached.
    const cols = (t) => (t === 1 ? 2 : 3);
    const rows = Object.entries(entry).map(([name, byT]) => [name, ...counts.flatMap((t) => {
      const r = byT[t];
      if (!r) return Array(cols(t)).fill('—');
      const v = r.gflops != null ? `${r.gflops.toFixed(1)} GF/s` : `${r.ms.toFixed(2)} ms`;
      if (t === 1) return [v, '—'];
      return [v, `${r.speedup.toFixed(2)}×`, r.ceiling ? `${r.ceiling.toFixed(2)}× (${Math.round((100 * r.speedup) / r.ceiling)} %)` : '—'];
    })]);
    out.push('', `${b}:`, '', table(['', ...counts.flatMap((t) => [`${t} thr`, '× vs 1', ...(t > 1 ? ['ceiling (% of it)'] : [])])], rows,
      ['l', ...counts.flatMap((t) => Array(cols(t)).fill('r'))]));
  }
  const o = th.ort?.exact4096;
  if (o) {
    const rows = [];
    for (const b of builds) {
      for (const t of [1, 2]) {
        const ours = th.builds?.[b]?.['nystrom n=4096']?.[t]?.ms;
        if (ours != null && o[t] != null) rows.push([`ours Nyström ${b}, ${t} thr vs ort exact, ${t} thr`, ours.toFixed(2), o[t].toFixed(1), `${(o[t] / ours).toFixed(1)}×`]);
      }
    }
    out.push('', 'n = 4096, d = 64, m = 64, one head: our Nyström against onnxruntime-web exact attention at the same thread count (ort in child processes, `numThreads` 1 and 2):', '',
      table(['', 'ours ms', 'ort ms', '×'], rows, ['l', 'r', 'r', 'r']));
  }
  out.push('', '1 thr is the synchronous call on the calling thread; more threads are `createPool({ threads })`; every pool result was checked bit-identical to the synchronous call first. Copies in and out are included, except in the *in place* rows (a plan on each side, `createAttention` and `pool.createAttention`, inputs written once). *Ceiling*: that many independent one-thread calls running at once, each on a thread and memory of its own (bench/ceiling.mjs), against one alone — what the machine\'s cores give together at that moment; the pool cannot beat it. Calls under the pool\'s `inlineBelow` (64 MFLOP: the two small matmuls) run on the calling thread.');
  return out.join('\n');
}

/** The short summary the README carries: the headline ratios of one run (the full report is bench/README.md). */
export function summary(res) {
  const s = res.sections ?? {};
  const builds = res.meta?.builds ?? [];
  const rows = [];
  const a = attentionEntries(s).find((e) => e.n === 4096)?.results;
  for (const b of builds) {
    const ny = a?.[`ours nystrom ${b}`], ex = a?.[`ours softmax ${b}`];
    if (ny?.speedup) rows.push([`Nyström attention, n = 4096, one head (${b})`, `${ny.median.toFixed(2)} ms`, `${ny.speedup['tfjs exact'].toFixed(1)}× tfjs-wasm exact, ${ny.speedup['ort exact'].toFixed(1)}× onnxruntime-web exact`]);
    if (ex?.speedup) rows.push([`exact attention, n = 4096, one head (${b})`, `${ex.median.toFixed(1)} ms`, `${ex.speedup['tfjs exact'].toFixed(2)}× tfjs-wasm, ${ex.speedup['ort exact'].toFixed(2)}× onnxruntime-web`]);
  }
  for (const m of s.matmul ?? []) {
    if (!(Array.isArray(m.shape) && m.shape.every((x) => x === 1024) && !m.transB)) continue;
    for (const b of builds) {
      const g = m.results?.[`ours ${b}`]?.gflops, tf = m.results?.['tfjs reused B']?.gflops;
      if (g != null && tf != null) rows.push([`matmul 1024³ (${b})`, `${g.toFixed(1)} GFLOP/s`, `${(g / tf).toFixed(2)}× tfjs-wasm (B reused)`]);
    }
  }
  const th = s.threads?.builds;
  for (const b of builds) {
    const r = th?.[b]?.['nystrom n=16384']?.[2];
    if (r) rows.push([`Nyström n = 16384 on 2 threads (${b})`, `${r.ms.toFixed(1)} ms`, `${r.speedup.toFixed(2)}× one thread${r.ceiling ? ` (the machine's 2-core ceiling then: ${r.ceiling.toFixed(2)}×)` : ''}`]);
  }
  const sc = s.scaling;
  if (!rows.length) return '';
  return [table(['', 'time', 'against'], rows, ['l', 'r', 'l']), '',
    `From one run of \`npm run bench\` (${res.meta?.machine ?? '?'}, ${res.meta?.cores ?? '?'} cores, Node ${res.meta?.node ?? '?'}, ${(res.meta?.date ?? '').slice(0, 10)}); every table, ratio and target is in [bench/README.md](bench/README.md).${sc ? '' : ''}`].join('\n');
}

// ---------------------------------------------------------------- main

export function render(res, jsonPath = DEFAULT_JSON) {
  const s = res.sections ?? {};
  const builds = res.meta?.builds ?? [];
  const parts = [header(res, jsonPath)];
  if (s.matmul?.length) parts.push(matmulSection(s.matmul, builds));
  for (const a of attentionEntries(s)) parts.push(attentionSection(a, builds));
  if (s['nystrom-peer']?.length) parts.push(peerSection(s['nystrom-peer'], builds));
  if (s.scaling?.points?.length) parts.push(scalingSection(s.scaling, builds));
  if (s.memory?.points?.length) parts.push(memorySection(s.memory));
  if (s.copies?.length) parts.push(copiesSection(s.copies, builds));
  if (s.threads?.builds) parts.push(threadsSection(s.threads, builds));
  const targets = targetsSection(s, builds);
  if (targets) parts.push(targets);
  return `${parts.join('\n\n')}\n`;
}

function replaceInReadme(md, file = path.join(root, 'README.md')) {
  const text = fs.readFileSync(file, 'utf8');
  const i = text.indexOf(START);
  const j = text.indexOf(END, i + START.length);
  if (i < 0 || j < 0) {
    console.error(`${file} has no ${START} … ${END} markers; add them where the performance section goes.`);
    process.exit(1);
  }
  const next = `${text.slice(0, i + START.length)}\n${md}${text.slice(j)}`;
  fs.writeFileSync(file, next);
  console.error(`${path.relative(root, file)}: performance section updated`);
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = parseArgs(process.argv.slice(2));
  let res;
  try {
    res = JSON.parse(fs.readFileSync(args.json, 'utf8'));
  } catch (e) {
    console.error(`cannot read ${args.json}: ${e.message}`);
    process.exit(1);
  }
  const md = render(res, args.json);
  if (args.write) fs.writeFileSync(args.write, md);
  if (args.readme) {
    // The full report goes to bench/README.md; the README carries the summary.
    replaceInReadme(md, path.join(root, 'bench', 'README.md'));
    replaceInReadme(`${summary(res)}\n`);
  }
  if (!args.write && !args.readme) process.stdout.write(md);
}
