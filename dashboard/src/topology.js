// The map: GET /api/topology drawn with Cytoscape.js, nodes coloured by their device's
// status (GET /api/devices, then device:status) and shaped by type, links labelled with
// their ports. Positions are kept in the browser's storage, so the map keeps its shape
// across updates and reloads; a node new to it is put beside a neighbour already placed.
// topology:update reloads the graph and the changes are listed as they come.
import cytoscape from 'cytoscape';
import { h, setText, clock } from './dom.js';

const STORE = 'eyenet.map.positions';
const SHAPES = { router: 'diamond', switch: 'round-rectangle', endpoint: 'ellipse' };

function saved() {
  try {
    return JSON.parse(localStorage.getItem(STORE)) || {};
  } catch {
    return {};
  }
}

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function topologyView(app) {
  const box = h('div', { class: 'map', role: 'img', 'aria-label': 'Network map' });
  const summary = h('span', { class: 'summary' });
  const changes = h('ol', { class: 'changes', reversed: true });
  const nodeList = h('ul', { class: 'map-nodes' }); // the map's nodes as links: the keyboard's way in
  const element = h('section', { class: 'view' },
    h('div', { class: 'tools' }, h('h1', {}, 'Topology'), summary),
    box,
    h('h2', {}, 'Devices on the map'), nodeList,
    h('h2', {}, 'Changes'), changes);
  const status = new Map(); // device id -> status
  let cy = null;
  let stopped = false;

  function colour(node) {
    if (!node.data('managed')) return css('--unknown');
    return css(`--${status.get(node.id()) || 'unknown'}`) || css('--unknown');
  }

  function paintStatus() {
    if (cy) cy.nodes().forEach((n) => n.style('background-color', colour(n)));
    for (const li of nodeList.children) li.className = `status-${status.get(li.dataset.id) || 'unknown'}`;
  }

  function keep() {
    const positions = saved();
    cy.nodes().forEach((n) => { positions[n.id()] = n.position(); });
    localStorage.setItem(STORE, JSON.stringify(positions));
  }

  function draw(graph) {
    const positions = saved();
    const elements = [
      ...graph.nodes.map((n) => ({ group: 'nodes', data: { id: n.id, label: n.name || n.id, type: n.type, managed: n.managed } })),
      ...graph.links.map((l, i) => ({
        group: 'edges',
        data: { id: `l${i}`, source: l.source, target: l.target, label: [l.sourcePort, l.targetPort].filter(Boolean).join(' – ') },
      })),
    ];
    if (!cy) {
      cy = cytoscape({
        container: box,
        style: [
          { selector: 'node', style: {
            label: 'data(label)', color: css('--fg'), 'font-size': 11, 'text-valign': 'bottom', 'text-margin-y': 4,
            width: 28, height: 28, 'border-width': 1, 'border-color': css('--line'),
          } },
          ...Object.entries(SHAPES).map(([type, shape]) => ({ selector: `node[type="${type}"]`, style: { shape } })),
          { selector: 'edge', style: {
            label: 'data(label)', 'font-size': 8, color: css('--fg-dim'), 'text-rotation': 'autorotate',
            'line-color': css('--line'), width: 2, 'curve-style': 'bezier',
          } },
          { selector: '.changed', style: { 'line-color': css('--degraded'), 'border-color': css('--degraded'), 'border-width': 3 } },
        ],
        layout: { name: 'preset' },
      });
      cy.on('dragfree', 'node', keep);
      cy.on('tap', 'node', (e) => { if (e.target.data('managed')) location.hash = `#/device/${encodeURIComponent(e.target.id())}`; });
    }
    // Every node placed before the next frame draws them: none is ever drawn at the origin.
    cy.startBatch();
    cy.elements().remove();
    cy.add(elements);
    const placed = cy.nodes().filter((n) => positions[n.id()]);
    placed.forEach((n) => n.position(positions[n.id()]));
    const unplaced = cy.nodes().difference(placed);
    cy.endBatch();
    if (unplaced.nonempty()) {
      if (placed.empty()) {
        cy.layout({ name: 'breadthfirst', roots: cy.nodes('[type="router"]'), spacingFactor: 1.1, animate: false }).run();
      } else {
        unplaced.forEach((n, i) => {
          const neighbour = n.neighborhood('node').filter((m) => positions[m.id()]).first();
          const at = neighbour.nonempty() ? neighbour.position() : { x: 0, y: 0 };
          n.position({ x: at.x + 60 + 20 * i, y: at.y + 60 });
        });
      }
      keep();
    }
    cy.fit(undefined, 30);
    paintStatus();
    box.dataset.nodes = String(cy.nodes().length);
    box.dataset.links = String(cy.edges().length);
    setText(summary, `${graph.nodes.length} devices · ${graph.links.length} links · discovered ${clock(graph.updatedAt)}`);
    nodeList.replaceChildren(...graph.nodes.map((n) => h('li', { dataset: { id: n.id } }, h('span', { class: 'dot' }),
      n.managed ? h('a', { href: `#/device/${encodeURIComponent(n.id)}` }, n.name || n.id) : `${n.name || n.id} (not monitored)`,
      ` · ${n.type}`)));
    paintStatus();
  }

  async function load() {
    try {
      const [graph, devices] = await Promise.all([app.api.get('/api/topology'), app.api.get('/api/devices')]);
      if (stopped) return;
      for (const d of devices.devices) status.set(d.id, d.status);
      draw(graph);
    } catch (err) {
      setText(summary, `could not load the map: ${err.message}`);
    }
  }

  function showChanges() {
    changes.replaceChildren(...app.topologyChanges.map((c) => h('li', { class: `change ${c.changeType}` },
      `${clock(c.timestamp)} · ${c.changeType.replace('_', ' ')}: ${c.devices.map((d) => d.id).join(', ')}`)));
  }

  const off = [
    app.push.on('device:status', (data) => {
      status.set(data.deviceId, data.status);
      paintStatus();
    }),
    app.push.on('topology:update', async (change) => {
      showChanges();
      await load();
      if (!cy || stopped) return;
      const ids = change.devices.map((d) => d.id);
      const touched = cy.nodes().filter((n) => ids.includes(n.id()));
      touched.union(touched.connectedEdges()).addClass('changed');
      setTimeout(() => cy && cy.elements().removeClass('changed'), 10000);
    }),
  ];
  app.push.subscribe('devices');
  showChanges();
  requestAnimationFrame(() => { if (!stopped) load(); });
  return {
    element,
    stop() {
      stopped = true;
      off.forEach((fn) => fn());
      app.push.unsubscribe('devices');
      if (cy) cy.destroy();
      cy = null;
    },
  };
}
