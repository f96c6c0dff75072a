// The seed's Socket.IO client (docs/events.md, "Socket.IO"), driven by
// tests/test_socketio.py: it connects exactly as the seed does, reports on stdout
// one JSON line per thing it sees, and obeys JSON command lines on stdin.
//
//   EYENET_PORT      the server's port (the seed's 5000)
//   EYENET_TOKEN     the JWT for auth.token
//   EYENET_TRANSPORTS  optional, e.g. "websocket" or "polling": adds the `transports` option
//   EYENET_TIMEOUT_MS  the script exits with status 2 after this long, whatever happens
//
// Commands: {"cmd": "emit", "name": ..., "data": ...} (with an ack, reported as "ack"),
// {"cmd": "state"}, {"cmd": "close-engine"} (drops the transport as a network failure
// would), {"cmd": "connect"}, {"cmd": "exit"}.
'use strict';

const readline = require('readline');
const { io } = require('socket.io-client');

const PORT = process.env.EYENET_PORT;
const token = process.env.EYENET_TOKEN;
const transports = process.env.EYENET_TRANSPORTS;
const timeoutMs = Number(process.env.EYENET_TIMEOUT_MS || 30000);

function report(what, fields) {
  process.stdout.write(JSON.stringify({ what, ...fields }) + '\n');
}

setTimeout(() => {
  report('timeout', {});
  process.exit(2);
}, timeoutMs);

// The seed's snippet, with only the port and the token filled in (and the transports
// option when the test restricts them).
const socket = transports
  ? io(`ws://localhost:${PORT}/ws`, { auth: { token }, transports: transports.split(',') })
  : io(`ws://localhost:${PORT}/ws`, { auth: { token } });

function state() {
  const engine = socket.io.engine;
  return {
    id: socket.id,
    connected: socket.connected,
    active: socket.active,
    recovered: socket.recovered,
    transport: engine && engine.transport ? engine.transport.name : null,
  };
}

socket.io.on('open', () => {
  const engine = socket.io.engine;
  report('open', { transport: engine.transport.name });
  engine.on('upgrade', (transport) => report('upgrade', { transport: transport.name }));
  engine.on('ping', () => report('ping', {}));
});
socket.io.on('reconnect_attempt', (attempt) => report('reconnect_attempt', { attempt }));
socket.on('connect', () => report('connect', state()));
socket.on('connect_error', (err) => report('connect_error', { message: err.message, data: err.data, type: err.type, active: socket.active }));
socket.on('disconnect', (reason) => report('disconnect', { reason, active: socket.active }));
socket.onAny((name, ...args) => report('event', { name, args }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  switch (command.cmd) {
    case 'emit':
      socket.emit(command.name, command.data, (...args) => report('ack', { name: command.name, args }));
      break;
    case 'state':
      report('state', state());
      break;
    case 'close-engine':
      socket.io.engine.close();
      break;
    case 'connect':
      socket.connect();
      break;
    case 'exit':
      socket.disconnect();
      process.exit(0);
      break;
    default:
      report('bad_command', { command });
  }
});
