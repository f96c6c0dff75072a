// The push connection: the stock socket.io-client on the /ws namespace of this origin.
//
// Subscriptions are kept here so that a new session (the old one could not be recovered)
// gets them again, followed by a `resume` from the last event id seen: the page then
// knows how many events it got back and whether any were lost (then it reloads through
// REST). A recovered session needs nothing: the server restored it and replayed.
import { io } from 'socket.io-client';

export const EVENTS = ['device:status', 'device:metrics', 'alert:new', 'alert:update', 'topology:update', 'ml:prediction'];

export class Push {
  constructor(getToken) {
    this.lastEventId = null;
    this.channels = new Map(); // channel key -> {type, id}
    this.listeners = new Map(); // event type -> Set of functions
    this.onState = () => {};
    this.onEnded = () => {}; // the server ended the session (its error event says why)
    this.onLost = () => {}; // events were lost: state must be read again
    this.socket = io('/ws', {
      auth: (cb) => cb(this.lastEventId === null ? { token: getToken() } : { token: getToken(), lastEventId: this.lastEventId }),
    });
    const socket = this.socket;
    this.onState('connecting', '');
    let connectedBefore = false;
    socket.on('connect', () => {
      if (socket.recovered) {
        this.onState('live', 'session recovered');
      } else if (connectedBefore) {
        this.onState('live', 'new session');
        this.resubscribe(true);
      } else {
        this.onState('live', '');
        this.resubscribe(false);
      }
      connectedBefore = true;
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect' || reason === 'io client disconnect') this.onState('offline', reason);
      else this.onState('reconnecting', reason);
    });
    socket.io.on('reconnect_attempt', (attempt) => this.onState('reconnecting', `attempt ${attempt}`));
    socket.on('connect_error', (err) => {
      if (err.data && err.data.code) {
        this.onState('offline', err.data.message || err.message);
        this.onEnded(err.data);
      } else {
        this.onState('reconnecting', err.message);
      }
    });
    socket.on('error', (envelope) => {
      const data = envelope.data || {};
      if (['AUTH_REQUIRED', 'AUTH_INVALID', 'TOKEN_EXPIRED', 'RATE_LIMITED', 'SUBSCRIPTION_LIMIT'].includes(data.code)) this.onEnded(data);
    });
    for (const type of EVENTS) {
      socket.on(type, (envelope) => {
        if (typeof envelope.id === 'number') this.lastEventId = envelope.id;
        if (!envelope.data) return; // an encrypted payload: this page holds no event key
        for (const fn of this.listeners.get(type) || []) fn(envelope.data);
      });
    }
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  subscribe(type, id) {
    const key = id === undefined ? type : `${type}:${id}`;
    this.channels.set(key, { type, id });
    if (this.socket.connected) this.socket.emit('subscribe', id === undefined ? { type } : { type, id });
  }

  unsubscribe(type, id) {
    const key = id === undefined ? type : `${type}:${id}`;
    if (!this.channels.delete(key)) return;
    if (this.socket.connected) this.socket.emit('unsubscribe', id === undefined ? { type } : { type, id });
  }

  resubscribe(resume) {
    for (const { type, id } of this.channels.values()) {
      this.socket.emit('subscribe', id === undefined ? { type } : { type, id });
    }
    if (resume && this.lastEventId !== null) {
      this.socket.emit('resume', { lastEventId: this.lastEventId }, (ack) => {
        if (!ack || ack.status !== 'resumed') return;
        this.onState('live', `replayed ${ack.replayed} event${ack.replayed === 1 ? '' : 's'}`);
        if (!ack.complete) this.onLost();
      });
    }
  }

  refresh(token) {
    return new Promise((resolve) => {
      if (!this.socket.connected) return resolve(null); // the next CONNECT carries the new token
      this.socket.emit('auth:refresh', { token }, resolve);
    });
  }

  close() {
    this.socket.disconnect();
  }
}
