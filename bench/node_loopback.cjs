// Preloaded into a peer's Node process by the benchmark (node --require): Portkey's
// server calls listen(port, undefined, cb), which Node binds to every interface. The
// benchmark's servers listen on 127.0.0.1 only, so a listen with no host gets that one.
"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
    args.splice(1, args[1] === undefined ? 1 : 0, "127.0.0.1");
  } else if (args[0] && typeof args[0] === "object" && args[0].port !== undefined && !args[0].host) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
