'use strict';
// The Node.js peer of bench/push_fanout.py: a `ws` 8 broadcast server whose clients
// subscribe the way EyeNet's /ws clients do. Any path is accepted and the token is
// not checked; a client's {"type":"subscribe","ref":R,...} adds it to the broadcast
// set and is answered {"type":"ack","ref":R,"data":{"status":"subscribed","channel":"devices"}}.
//
// Each message is BENCH_HEAD + <16-digit event id> + BENCH_TAIL: the bytes of the
// device:metrics envelope EyeNet sends on /ws, made by the orchestrator from EyeNet's
// own encoder, so both servers write frames of the same length. The broadcast is the
// idiomatic one (client.send(buffer) for each client), paced on bufferedAmount as in
// bench/node/ws_broadcast.js.
//
// Protocol, one line each way on stdin/stdout (JSON out): it prints
// {"ready": true, "port": N} once listening on 127.0.0.1, then answers
//   count                        -> {"subscribed": n}
//   go M BURST                   M messages as fast as the clients take them, yielding
//                                to the event loop every BURST messages
//                                -> {"done": true, "first_id", "last_id", "clients", "paced"}
//   rate R N                     N messages at R a second (message k at t0 + k/R)
//                                -> {"done": true, "publish": [[id, t], ...]} with t in
//                                seconds of CLOCK_MONOTONIC (process.hrtime), the clock of
//                                Python's time.monotonic()
//   quit                         exits; so does the end of stdin.

const http = require('http');
const readline = require('readline');
const { WebSocketServer } = require('ws');
const { maxBuffered, sleep, immediate } = require('./common');

const HIGH = Number(process.env.BENCH_HIGH_WATER || 262144);
const HEAD = process.env.BENCH_HEAD;
const TAIL = process.env.BENCH_TAIL;
let nextId = BigInt(process.env.BENCH_FIRST_ID);

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const subscribed = new Set();

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch (e) {
      return;
    }
    if (msg && msg.type === 'subscribe') {
      subscribed.add(ws);
      ws.send(JSON.stringify({ type: 'ack', ref: msg.ref, data: { status: 'subscribed', channel: 'devices' } }));
    }
  });
  ws.on('close', () => subscribed.delete(ws));
  ws.on('error', () => subscribed.delete(ws));
});

const monotonic = () => Number(process.hrtime.bigint()) / 1e9;

function message() {
  const id = nextId;
  nextId += 1n;
  return [id, Buffer.from(HEAD + id.toString() + TAIL)];
}

async function saturate(count, burst) {
  const clients = [...subscribed];
  const first = nextId;
  let paced = 0;
  for (let i = 0; i < count; i++) {
    const [, data] = message();
    for (const c of clients) c.send(data, { binary: false });
    if (maxBuffered(clients) > HIGH) {
      paced += 1;
      do await sleep(1); while (maxBuffered(clients) > HIGH / 4);
    } else if (i % burst === burst - 1) {
      await immediate();
    }
  }
  while (maxBuffered(clients) > 0) await sleep(1);
  emit({ done: true, first_id: first.toString(), last_id: (nextId - 1n).toString(), clients: clients.length, paced });
}

async function paced(rate, count) {
  const clients = [...subscribed];
  const publish = [];
  const t0 = monotonic();
  for (let k = 0; k < count; k++) {
    const wait = (t0 + k / rate - monotonic()) * 1000;
    if (wait > 0) await sleep(wait);
    const t = monotonic(); // before the message is built, as the EyeNet server times hub.publish()
    const [id, data] = message();
    publish.push([id.toString(), t]);
    for (const c of clients) c.send(data, { binary: false });
  }
  while (maxBuffered(clients) > 0) await sleep(1);
  emit({ done: true, publish, clients: clients.length });
}

server.listen(0, '127.0.0.1', () => emit({ ready: true, port: server.address().port }));

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, a, b] = line.trim().split(/\s+/);
  if (cmd === 'count') emit({ subscribed: subscribed.size });
  else if (cmd === 'go') saturate(Number(a), Number(b));
  else if (cmd === 'rate') paced(Number(a), Number(b));
  else if (cmd === 'quit') process.exit(0);
});
lines.on('close', () => process.exit(0));
