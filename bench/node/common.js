'use strict';
// What the Node peers of bench/ws_broadcast.py and bench/push_fanout.py share.

// The largest send backlog over the clients: both peers pace on it, as the EyeNet servers do.
function maxBuffered(clients) {
  let max = 0;
  for (const c of clients) if (c.bufferedAmount > max) max = c.bufferedAmount;
  return max;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const immediate = () => new Promise((resolve) => setImmediate(resolve));

module.exports = { maxBuffered, sleep, immediate };
