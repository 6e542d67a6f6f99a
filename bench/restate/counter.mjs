// The Restate side of the counter benchmark: a virtual object "Counter" whose
// `add` handler increments a durable counter in the object's K/V state and
// returns the new value, served over HTTP/2 by the Restate TypeScript SDK.
//
// The same process counts the completed `add` executions and serves that
// number as plain text on a second, HTTP/1.1 server:
//   GET http://127.0.0.1:<countPort>/count  ->  12345
//
// Usage: node counter.mjs [--port N] [--count-port N]
//   (or PORT / COUNT_PORT in the environment; 0 = any free port).
// Both servers listen on 127.0.0.1 only. When both are up, one line goes to
// stdout: READY {"port":N,"countPort":N}
//
// Handlers (ingress paths, see restate.js):
//   add  (exclusive)  +1, returns the new value; counted.
//   get  (shared)     the current value; not counted (readiness probe).

// The SDK uses Promise.withResolvers (Node >= 22); Node 20 lacks it. The
// polyfill must be in place before the SDK is loaded, hence the dynamic import.
if (typeof Promise.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

const http = await import("node:http");
const http2 = await import("node:http2");
const restate = await import("@restatedev/restate-sdk");

function option(flag, envName, fallback) {
  const i = process.argv.indexOf(flag);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[envName];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`counter.mjs: bad ${flag} ${raw}`);
    process.exit(2);
  }
  return n;
}

const HOST = "127.0.0.1";
const port = option("--port", "PORT", 9080);
const countPort = option("--count-port", "COUNT_PORT", 0);

let completedAdds = 0;

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx) => {
      const next = ((await ctx.get("count")) ?? 0) + 1;
      ctx.set("count", next);
      completedAdds++;
      return next;
    },
    get: restate.handlers.object.shared(async (ctx) => (await ctx.get("count")) ?? 0),
  },
});

// endpoint().listen(port) binds every interface; the SDK's own HTTP/2 handler
// on a server bound to 127.0.0.1 is the same endpoint, loopback only.
const handler = restate.endpoint().bind(counter).http2Handler();
const restateServer = http2.createServer(handler);

const countServer = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/count") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(String(completedAdds));
  } else {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  }
});

function listen(server, p) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(p, HOST, () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
}

const [actualPort, actualCountPort] = await Promise.all([
  listen(restateServer, port),
  listen(countServer, countPort),
]);

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.once(sig, () => {
    restateServer.close();
    countServer.close();
    // Open HTTP/2 sessions from the server would keep the process alive.
    setTimeout(() => process.exit(0), 200).unref();
  });
}

process.stdout.write(`READY ${JSON.stringify({ port: actualPort, countPort: actualCountPort })}\n`);
