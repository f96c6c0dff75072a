// A time chart (uPlot) of one or more series that grows as events arrive and keeps the
// last `span` seconds.
import uPlot from 'uplot';

const COLOURS = ['#2b7bd6', '#d9822b', '#3aa35b', '#b8457a'];

function cssColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export class TimeChart {
  constructor(container, { title, series, format, span }) {
    this.span = span;
    this.data = [[], ...series.map(() => [])];
    const axis = { stroke: cssColour('--fg-dim'), grid: { stroke: cssColour('--grid') }, ticks: { stroke: cssColour('--grid') } };
    this.plot = new uPlot({
      title,
      width: Math.max(260, container.clientWidth || 600),
      height: 200,
      scales: {
        // The whole range asked for, whatever the points cover: a new device's first minutes
        // show as the start of the hour, not stretched over it.
        x: { time: true, range: () => [Date.now() / 1000 - this.span, Date.now() / 1000] },
        y: { range: (u, min, max) => [0, Math.max(max, format === 'percent' ? 100 : 1)] },
      },
      axes: [axis, { ...axis, size: 70, values: (u, values) => values.map((v) => format === 'percent' ? `${v}%` : bitsShort(v)) }],
      series: [{}, ...series.map((label, i) => ({ label, stroke: COLOURS[i], width: 1.5, value: (u, v) => v === null ? '–' : format === 'percent' ? `${v.toFixed(1)} %` : bitsShort(v) }))],
    }, this.data, container);
    this.container = container;
    this.container.dataset.peak = '';
    this.resize = () => this.plot.setSize({ width: Math.max(260, container.clientWidth), height: 200 });
    window.addEventListener('resize', this.resize);
  }

  set(data) {
    this.data = data;
    this.show();
  }

  // Drawn, and the highest value shown told on the box (data-peak): a glance for tests and
  // tools that do not read canvases.
  show() {
    this.plot.setData(this.data);
    const peak = Math.max(...this.data.slice(1).flat().filter((v) => v !== null));
    this.container.dataset.peak = Number.isFinite(peak) ? String(peak) : '';
  }

  add(time, values) {
    const [times, ...columns] = this.data;
    if (times.length && time <= times[times.length - 1]) return;
    times.push(time);
    values.forEach((v, i) => columns[i].push(v));
    while (times.length && times[0] < time - this.span) {
      times.shift();
      columns.forEach((c) => c.shift());
    }
    this.show();
  }

  destroy() {
    window.removeEventListener('resize', this.resize);
    this.plot.destroy();
  }
}

function bitsShort(v) {
  if (v === null) return '';
  const units = ['', 'k', 'M', 'G', 'T'];
  let unit = 0;
  while (Math.abs(v) >= 1000 && unit < units.length - 1) {
    v /= 1000;
    unit += 1;
  }
  return `${+v.toFixed(1)}${units[unit]}b/s`;
}
