import { Server } from 'node:net';

// Preloaded (`node --import`) into the functions the local stack serves: the Functions
// Framework calls `server.listen(port, callback)`, which listens on every interface, and
// offers no option for the address. On a laptop the functions must answer this machine
// only, as the emulators and stand-ins do, so a listen with no address gets 127.0.0.1.
// Cloud Run is not affected: this file is loaded only by functions/local/function-process.ts.

const listen = Server.prototype.listen;
Server.prototype.listen = function listenOnLoopback(this: Server, ...args: unknown[]) {
  const portOnly = typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]));
  if (portOnly && (args.length === 1 || typeof args[1] === 'function')) args.splice(1, 0, '127.0.0.1');
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
