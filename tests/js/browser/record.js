// What a test page saw, for tests/js/browser_check.js to read: window.results.
// Pages call see(what, fields) for everything they observe and finish(fields) once
// they have what their test needs; browser_check.js waits (bounded) for results.done.
'use strict';

window.results = { done: false, seen: [] };

function see(what, fields) {
  window.results.seen.push(Object.assign({ what }, fields || {}));
}

function finish(fields) {
  if (window.results.done) return;
  Object.assign(window.results, fields || {});
  window.results.done = true;
  document.getElementById('state').textContent = JSON.stringify(window.results, null, 2);
}

window.addEventListener('error', (e) => see('page_error', { message: String(e.message) }));

// A Socket.IO page: subscribe to the devices firehose with an ack, and finish with the
// ack, the first device:metrics (all its arguments) and the transport once upgraded;
// or with the connect_error when the server refuses the CONNECT (no retry follows).
function watchSocket(socket) {
  const transport = () => (socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : null);
  let ack = null;
  let metrics = null;

  function check() {
    if (ack !== null && metrics !== null && transport() === 'websocket') {
      finish({ ack, metrics, transport: transport() });
    }
  }

  socket.io.on('open', () => {
    see('open', { transport: transport() });
    socket.io.engine.on('upgrade', (t) => { see('upgrade', { transport: t.name }); check(); });
  });
  socket.io.on('reconnect_attempt', (attempt) => see('reconnect_attempt', { attempt }));
  socket.on('connect', () => {
    see('connect', { id: socket.id, transport: transport() });
    socket.emit('subscribe', { type: 'devices' }, (...args) => {
      see('ack', { args, transport: transport() });
      ack = args;
      check();
    });
  });
  socket.on('connect_error', (err) => {
    const error = { message: err.message, data: err.data, type: err.type || null, description: String(err.description || ''), active: socket.active };
    see('connect_error', error);
    if (!socket.active) finish({ connect_error: error });
  });
  socket.on('disconnect', (reason) => see('disconnect', { reason }));
  socket.on('device:metrics', (...args) => {
    if (metrics === null) {
      metrics = args;
      see('device:metrics', { transport: transport() });
      check();
    }
  });
}
