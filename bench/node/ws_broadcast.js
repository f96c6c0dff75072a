'use strict';
// The Node.js peer of bench/ws_broadcast.py: the idiomatic `ws` broadcast
// (client.send(buffer) for each client), paced on bufferedAmount the same way
// as the EyeNet server in that script. Protocol on stdin/stdout, one JSON line
// each way: prints {"ready": true, "port": N}; "go M SIZE BURST" broadcasts M messages
// of SIZE bytes, yielding to the event loop every BURST messages, and prints
// {"done": true, ...}; "quit" exits.
// TLS when BENCH_TLS_CERT and BENCH_TLS_KEY name PEM files.

const fs = require('fs');
const http = require('http');
const https = require('https');
const readline = require('readline');
const { WebSocketServer } = require('ws');
const { maxBuffered, sleep, immediate } = require('./common');

const HIGH = Number(process.env.BENCH_HIGH_WATER || 262144);
const cert = process.env.BENCH_TLS_CERT;
const key = process.env.BENCH_TLS_KEY;

const server = cert
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// The same bytes as payload() in ws_broadcast.py.
function payload(i, size) {
  const head = '{"type":"device:metrics","id":"' + String(i).padStart(10, '0') + '","data":{"pad":"';
  const tail = '"}}';
  return head + 'x'.repeat(size - head.length - tail.length) + tail;
}


async function broadcast(count, size, burst) {
  const clients = [...wss.clients];
  for (let i = 0; i < count; i++) {
    const data = Buffer.from(payload(i, size));
    for (const c of clients) c.send(data, { binary: false });
    if (maxBuffered(clients) > HIGH) {
      do await sleep(1); while (maxBuffered(clients) > HIGH / 4);
    } else if (i % burst === burst - 1) {
      await immediate(); // let socket I/O run, as the Python server's checkpoint does
    }
  }
  while (maxBuffered(clients) > 0) await sleep(1);
  emit({ done: true, clients: clients.length });
}

server.listen(0, '127.0.0.1', () => emit({ ready: true, port: server.address().port }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, b, c] = line.trim().split(/\s+/);
  if (cmd === 'go') broadcast(Number(a), Number(b), Number(c));
  else if (cmd === 'quit') process.exit(0);
});
