// The fan-out reference: a minimal socket.io server that does what pillow-web does for screens.
// On connect it sends `state` and `status`; POST /emit with a JSON state makes it the current one,
// stamps `received_at` just before the broadcast (as pillow-web's watcher does) and sends it to
// every client. GET /healthz answers once listening.   Usage: node server.js PORT
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
let state = {
  state: "NEUTRAL", text: "Waiting for the pillow", at: null, received_at: null,
  image: "/static/img/neutral.svg", color: null,
};
const status = { queue_ok: true, since: null, last_poll: null, last_ok: null, last_error: null };

const httpServer = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/emit") {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      try {
        state = JSON.parse(body);
      } catch (err) {
        res.writeHead(400).end("bad json");
        return;
      }
      state.received_at = new Date().toISOString();
      io.emit("state", state);
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  } else if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
  } else {
    res.writeHead(404).end();
  }
});

const io = new Server(httpServer, {
  serveClient: false,
  maxHttpBufferSize: 4096,
  perMessageDeflate: false,
});

io.on("connection", (socket) => {
  socket.emit("state", state);
  socket.emit("status", status);
});

httpServer.listen(port, "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => { io.close(); process.exit(0); });
}
