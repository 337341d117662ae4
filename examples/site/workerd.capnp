# The demo's portable part (worker.ts) on workerd, Cloudflare's runtime, from npm:
#
#   npx esbuild examples/site/worker.ts --bundle --format=esm --platform=neutral \
#     --conditions=workerd,worker,browser --main-fields=module,main --external:'node:*' \
#     --external:'cloudflare:*' \
#     '--define:import.meta.url="file:///worker.js"' --outfile=examples/site/worker.bundle.js
#   SESSION_SECRET=$(openssl rand -hex 32) npx workerd serve examples/site/workerd.capnp
#
# It listens on http://127.0.0.1:8000/ (`--socket-addr http=127.0.0.1:PORT` for another port).
# The compatibility date turns Node's built-in modules on (nodejs_compat is the default since
# 2026-08-04): errors() reads its stack traces with node:fs and node:module where present.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "site", worker = .site) ],
  sockets = [ (name = "http", address = "127.0.0.1:8000", http = (), service = "site") ],
);

const site :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.bundle.js") ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "SESSION_SECRET", fromEnvironment = "SESSION_SECRET"),
    (name = "GREETING", text = "Hello from a workerd binding"),
  ],
);
