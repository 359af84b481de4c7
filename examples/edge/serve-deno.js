// Serves the edge handler with Deno.serve on 127.0.0.1.
//   deno run --allow-net=127.0.0.1 examples/edge/serve-deno.js [--port 8787]
// --port 0 picks a free port; the first line printed is `listening on http://127.0.0.1:<port>/`.
import handler from './handler.js';

const i = Deno.args.indexOf('--port');
const port = i >= 0 ? Number(Deno.args[i + 1]) : 8787;

const server = Deno.serve(
  { hostname: '127.0.0.1', port, onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}/`) },
  (request) => handler.fetch(request),
);
// Stop cleanly on SIGTERM / SIGINT (Deno.addSignalListener needs no permission).
for (const signal of ['SIGTERM', 'SIGINT']) Deno.addSignalListener(signal, () => server.shutdown().then(() => Deno.exit(0)));
