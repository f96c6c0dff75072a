// How an event changes a device as GET /api/devices gave it (the same names, kept current).

export function applyStatus(device, data) {
  device.status = data.status;
  device.reason = data.reason || null;
  device.metrics.uptime = data.metrics.uptime;
  device.lastSeen = data.metrics.lastSeen;
}

export function applyMetrics(device, data) {
  Object.assign(device.metrics, { cpu: data.metrics.cpu, memory: data.metrics.memory, bandwidth: data.metrics.bandwidth });
  device.lastSeen = data.timestamp;
}
