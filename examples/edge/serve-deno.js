// Serves the edge handler with Deno.serve on 127.0.0.1 — the attention handler, or with --model the
// MaskedLM handler of the checkpoint directory at that URL.
//   deno run --allow-net=127.0.0.1 examples/edge/serve-deno.js [--port 8787] [--model CHECKPOINT_URL]
// --port 0 picks a free port; the first line printed is `listening on http://127.0.0.1:<port>/`.
import attention from './handler.js';
import { createModelHandler } from './model-handler.js';

const arg = (name) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const port = Number(arg('port') ?? 8787);
const model = arg('model');
const handler = model ? createModelHandler({ checkpoint: model }) : attention;

const server = Deno.serve(
  { hostname: '127.0.0.1', port, onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}/`) },
  (request) => handler.fetch(request),
);
// Stop cleanly on SIGTERM / SIGINT (Deno.addSignalListener needs no permission).
for (const signal of ['SIGTERM', 'SIGINT']) Deno.addSignalListener(signal, () => server.shutdown().then(() => Deno.exit(0)));
