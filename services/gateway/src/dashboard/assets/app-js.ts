// The dashboard's script, served at /dashboard/app.js (embedded so the compiled gateway carries it).
// Plain ES2017 without template literals (this file is a String.raw template). DOM is built with
// h() — never innerHTML — so nothing from the API is ever interpreted as markup.
export const APP_JS = String.raw`
(function () {
  'use strict';
  var API = '/api/v1';
  var KEY_STORE = 'swarm-mesh-api-key';
  var state = { key: null, me: null, ws: null, wsRetry: 0, panels: {}, stopped: false };

  // ── helpers ────────────────────────────────────────────────────────────
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') el.textContent = String(v);
      else if (k === 'class') el.className = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else if (k === 'checked' || k === 'disabled' || k === 'value') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return el;
  }
  var SVG_NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, children) {
    var el = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] !== undefined && attrs[k] !== null) el.setAttribute(k, String(attrs[k])); });
    (children || []).forEach(function (c) { if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function short(id) { id = String(id || ''); return id.length > 12 ? id.slice(0, 8) + '…' : id; }
  function items(body) {
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body.items)) return body.items;
    if (body && typeof body === 'object') {
      var k = Object.keys(body).find(function (x) { return Array.isArray(body[x]); });
      if (k) return body[k];
    }
    return [];
  }
  function stateClass(v) { return 'state-' + String(v || 'unknown').toLowerCase().replace(/[^a-z_]/g, '_'); }
  function badge(text, kind) { return h('span', { class: 'badge' + (kind ? ' ' + kind : ''), text: text }); }
  function timeOf(ts) { try { return new Date(ts).toLocaleTimeString(); } catch (e) { return String(ts); } }
  function debounce(fn, ms) {
    var t = null;
    return function () { if (t) return; t = setTimeout(function () { t = null; fn(); }, ms); };
  }
  function toast(text, kind) {
    var el = h('div', { class: 'toast' + (kind === 'info' ? ' info' : ''), role: 'status', text: text });
    document.body.appendChild(el);
    setTimeout(function () { el.remove(); }, 5000);
  }

  function api(method, path, body) {
    var headers = { accept: 'application/json', authorization: 'Bearer ' + state.key };
    var init = { method: method, headers: headers };
    if (body !== undefined) { headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(API + path, init).then(function (res) {
      return res.text().then(function (text) {
        var json; try { json = text ? JSON.parse(text) : undefined; } catch (e) { json = undefined; }
        if (res.status === 401 && state.me) { logout('Your API key was refused: log in again.'); }
        return { status: res.status, ok: res.ok, body: json };
      });
    });
  }
  function errText(r) { return r.body && r.body.message ? r.body.code + ': ' + r.body.message : 'HTTP ' + r.status; }
  /** An API that is not there (yet): the route 404s, or its service does not answer. */
  function absent(r) { return r.status === 404 && r.body && r.body.code === 'ROUTE_NOT_FOUND'; }
  function canOperate() { return state.me && (state.me.role === 'operator' || state.me.role === 'admin'); }
  /** Runtime flags are mesh-wide: only operators and admins of the platform tenant (default) may change them. */
  function canChangeFlags() { return !!canOperate() && state.me.tenantId === 'default'; }

  // ── panels ─────────────────────────────────────────────────────────────
  // A panel: {id, title, wide, load(body) -> Promise, events: ['task', ...] kinds that trigger a reload, onEvent(e)}
  var PANELS = [];
  function panel(def) { PANELS.push(def); }

  function mountPanels(main) {
    PANELS.forEach(function (def) {
      var count = h('span', { class: 'count' });
      var body = h('div', { class: 'body' }, [h('div', { class: 'empty', text: 'Loading…' })]);
      var el = h('section', { class: 'panel' + (def.wide ? ' wide' : ''), id: 'panel-' + def.id, 'aria-label': def.title }, [h('h2', null, [def.title, count]), body]);
      main.appendChild(el);
      var p = { def: def, el: el, body: body, count: count, reload: null };
      p.reload = debounce(function () { run(p); }, def.debounceMs || 300);
      state.panels[def.id] = p;
      run(p);
      if (def.everyMs) setInterval(function () { if (state.me) run(p); }, def.everyMs);
    });
  }
  function run(p) {
    if (!p.def.load) return;
    Promise.resolve().then(function () { return p.def.load(p); }).catch(function (err) {
      clear(p.body).appendChild(h('div', { class: 'error', text: String(err && err.message || err) }));
    });
  }
  function empty(p, text) { clear(p.body).appendChild(h('div', { class: 'empty', text: text })); p.count.textContent = ''; }
  function routeMissing(p, what) { empty(p, what + ' are not available on this gateway yet.'); p.el.setAttribute('data-absent', 'true'); }

  // agents: status grid (state, load, capabilities, tier)
  panel({
    id: 'agents', title: 'Agents', wide: true, events: ['agent', 'task.dispatched', 'task.succeeded', 'task.failed', 'task.retry_scheduled'], debounceMs: 250,
    load: function (p) {
      return api('GET', '/agents?limit=500').then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Agents'); throw new Error(errText(r)); }
        var list = items(r.body);
        p.count.textContent = String(list.length);
        if (list.length === 0) return empty(p, 'No agents registered.');
        var grid = h('div', { class: 'grid' });
        list.forEach(function (a) {
          var load = a.load || {};
          var slots = (load.running || 0) + (load.freeSlots || 0);
          var pct = slots > 0 ? Math.round(100 * (load.running || 0) / slots) : 0;
          var actions = null;
          if (canOperate()) {
            var act = a.state === 'draining' ? 'resume' : 'drain';
            actions = h('div', null, [h('button', { 'data-agent-action': act, onclick: function () {
              api('POST', '/agents/' + encodeURIComponent(a.id) + '/' + act).then(function (x) { if (!x.ok) toast(errText(x)); p.reload(); });
            }, text: act })]);
          }
          grid.appendChild(h('div', { class: 'card ' + stateClass(a.state), 'data-agent-id': a.id, 'data-state': a.state }, [
            h('div', { class: 'id', title: a.id, text: a.id }),
            h('div', { class: 'meta' }, [badge(a.state, a.state === 'healthy' ? 'ok' : a.state === 'dead' || a.state === 'quarantined' ? 'bad' : 'warn'), ' ', a.tier ? badge(a.tier) : null, ' ', a.domain ? badge(a.domain) : null]),
            h('div', { class: 'meta', text: 'load ' + (load.running || 0) + '/' + slots }),
            h('div', { class: 'bar' }, [h('span', { style: 'width:' + pct + '%' })]),
            h('div', { class: 'meta', text: (a.capabilities || []).join(', ') }),
            actions,
          ]));
        });
        clear(p.body).appendChild(grid);
      });
    },
  });

  // queue depths by capability and priority
  panel({
    id: 'queues', title: 'Queues', events: ['task'], debounceMs: 500,
    load: function (p) {
      return api('GET', '/queues').then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Queues'); throw new Error(errText(r)); }
        var list = items(r.body);
        p.count.textContent = String(list.length);
        if (list.length === 0) return empty(p, 'No queues yet.');
        var pr = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];
        var head = h('tr', null, [h('th', { text: 'capability' })].concat(pr.map(function (x) { return h('th', { class: 'num', text: x }); }), [h('th', { class: 'num', text: 'running' }), h('th', { class: 'num hide-narrow', text: 'agents' })]));
        var rows = list.map(function (q) {
          var queued = q.queued || {};
          return h('tr', { 'data-queue': q.capability }, [h('td', { text: q.capability })].concat(pr.map(function (x) { return h('td', { class: 'num', text: String(queued[x] || 0) }); }), [h('td', { class: 'num', text: String(q.running || 0) }), h('td', { class: 'num hide-narrow', text: String(q.availableAgents === undefined ? '' : q.availableAgents) })]));
        });
        clear(p.body).appendChild(h('div', { class: 'scroll' }, [h('table', null, [h('thead', null, [head]), h('tbody', null, rows)])]));
      });
    },
  });

  // live task flow: the last task events from the stream
  var flow = [];
  panel({
    id: 'flow', title: 'Live task flow',
    load: function (p) { renderFlow(p); },
    onEvent: function (e, p) {
      if (e.type.indexOf('task.') !== 0 && e.type.indexOf('workflow.') !== 0) return;
      flow.unshift(e); if (flow.length > 60) flow.length = 60;
      renderFlow(p);
    },
  });
  // the trace link of an event (Jaeger UI, when the gateway knows its address)
  var jaegerUi = null;
  fetch('/dashboard/config.json').then(function (r) { return r.ok ? r.json() : null; }).then(function (c) { if (c && c.jaegerUiUrl) jaegerUi = c.jaegerUiUrl; }).catch(function () {});
  function traceLink(d) {
    var tid = d.traceId || (typeof d.traceparent === 'string' ? d.traceparent.split('-')[1] : null);
    if (!jaegerUi || !tid) return null;
    return h('a', { class: 'meta', href: jaegerUi + '/trace/' + tid, target: '_blank', rel: 'noopener', text: 'trace' });
  }
  function renderFlow(p) {
    p.count.textContent = flow.length ? String(flow.length) : '';
    if (flow.length === 0) return empty(p, 'Waiting for task events…');
    var ul = h('ul', { class: 'list flow scroll' });
    flow.forEach(function (e) {
      var d = e.data || {};
      var kind = e.type.slice(e.type.indexOf('.') + 1);
      ul.appendChild(h('li', { 'data-event': e.type }, [
        h('span', { class: 'badge ' + (kind === 'succeeded' ? 'ok' : /failed|dead|timed|cancel/.test(kind) ? 'bad' : 'warn'), text: kind }),
        h('span', { class: 'grow', text: short(d.taskId || d.workflowId) + ' ' + (d.capability || '') + (d.agentId ? ' → ' + d.agentId : '') }),
        traceLink(d),
        h('span', { class: 'meta', text: timeOf(e.ts) }),
      ]));
    });
    clear(p.body).appendChild(ul);
  }

  // workflows: list and the selected one's DAG with node states
  var selectedWorkflow = null;
  panel({
    // events drive it; the timer heals a view that missed one (a stream reconnect, a lazily reported start)
    id: 'workflows', title: 'Workflows', wide: true, events: ['workflow', 'task'], debounceMs: 400, everyMs: 5000,
    load: function (p) {
      return api('GET', '/workflows?limit=20').then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Workflows'); throw new Error(errText(r)); }
        var list = items(r.body);
        p.count.textContent = String(list.length);
        if (list.length === 0) return empty(p, 'No workflows yet.');
        if (!selectedWorkflow || !list.some(function (w) { return w.id === selectedWorkflow; })) selectedWorkflow = list[0].id;
        var select = h('select', { 'aria-label': 'workflow', onchange: function (ev) { selectedWorkflow = ev.target.value; p.reload(); } },
          list.map(function (w) { return h('option', { value: w.id, selected: w.id === selectedWorkflow ? 'selected' : null, text: (w.name || short(w.id)) + ' — ' + (w.state || w.status || '') }); }));
        select.value = selectedWorkflow;
        return api('GET', '/workflows/' + encodeURIComponent(selectedWorkflow)).then(function (d) {
          var wf = d.ok ? d.body : list.find(function (w) { return w.id === selectedWorkflow; });
          clear(p.body).appendChild(h('div', null, [select, ' ', badge(String(wf && (wf.state || wf.status) || ''), null)]));
          p.body.appendChild(dag(wf));
        });
      });
    },
  });
  function nodesOf(wf) {
    var raw = (wf && (wf.nodes || wf.tasks || wf.steps)) || [];
    if (!Array.isArray(raw) && typeof raw === 'object') raw = Object.keys(raw).map(function (k) { var n = raw[k]; n.key = n.key || k; return n; });
    return raw.map(function (n) {
      var deps = n.dependsOn || n.dependencies || n.parents || n.after || [];
      return { id: String(n.key || n.id || n.name), label: String(n.key || n.name || short(n.id)), state: n.state || n.status || 'pending', deps: deps.map(String), taskId: n.taskId || null };
    });
  }
  function dag(wf) {
    var nodes = nodesOf(wf);
    if (nodes.length === 0) return h('div', { class: 'empty', text: 'This workflow has no nodes to show.' });
    var byId = {}; nodes.forEach(function (n) { byId[n.id] = n; });
    var layer = {};
    function depth(n, seen) {
      if (layer[n.id] !== undefined) return layer[n.id];
      if (seen[n.id]) return 0; seen[n.id] = true;
      var d = 0; n.deps.forEach(function (x) { if (byId[x]) d = Math.max(d, depth(byId[x], seen) + 1); });
      layer[n.id] = d; return d;
    }
    nodes.forEach(function (n) { depth(n, {}); });
    var cols = {}; nodes.forEach(function (n) { (cols[layer[n.id]] = cols[layer[n.id]] || []).push(n); });
    var W = 130, H = 34, GX = 50, GY = 14, pos = {}, maxRows = 0, ncols = 0;
    Object.keys(cols).forEach(function (c) {
      ncols = Math.max(ncols, Number(c) + 1); maxRows = Math.max(maxRows, cols[c].length);
      cols[c].forEach(function (n, i) { pos[n.id] = { x: 10 + Number(c) * (W + GX), y: 10 + i * (H + GY) }; });
    });
    var width = 20 + ncols * W + (ncols - 1) * GX, height = 20 + maxRows * H + (maxRows - 1) * GY;
    var svg = s('svg', { viewBox: '0 0 ' + width + ' ' + height, width: width, height: height, role: 'img', 'aria-label': 'workflow DAG', 'data-dag': wf && wf.id });
    nodes.forEach(function (n) {
      n.deps.forEach(function (x) {
        var a = pos[x], b = pos[n.id]; if (!a || !b) return;
        var x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
        svg.appendChild(s('path', { class: 'edge', d: 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2 }));
      });
    });
    nodes.forEach(function (n) {
      var p = pos[n.id];
      svg.appendChild(s('g', { class: 'node ' + stateClass(n.state), 'data-node-id': n.id, 'data-state': n.state, transform: 'translate(' + p.x + ',' + p.y + ')' }, [
        s('rect', { width: W, height: H, rx: 6 }),
        s('text', { x: 8, y: 14 }, [n.label.slice(0, 18)]),
        s('text', { x: 8, y: 28, opacity: 0.7 }, [String(n.state)]),
      ]));
    });
    return h('div', { class: 'scroll' }, [svg]);
  }

  // resource utilisation over time (chart)
  var series = {};
  var COLORS = ['#4ea1ff', '#2fbf71', '#e6b422', '#e5534b', '#8b8bff', '#4dd0e1', '#ff8a65', '#ba68c8'];
  panel({
    id: 'resources', title: 'Resource utilisation', everyMs: 5000,
    load: function (p) {
      return api('GET', '/resources/monitoring').then(function (r) {
        if (r.status === 404 && absent(r)) return api('GET', '/resources/allocation');
        return r;
      }).then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Resource metrics'); throw new Error(errText(r)); }
        var pools = items(r.body && (r.body.pools || r.body.items) ? { items: r.body.pools || r.body.items } : r.body);
        var now = Date.now();
        pools.forEach(function (pl) {
          var id = String(pl.name || pl.poolId || pl.id || pl.provider || '?');
          var u = typeof pl.utilisation === 'number' ? pl.utilisation : typeof pl.utilization === 'number' ? pl.utilization
            : (pl.capacity && typeof pl.used === 'number') ? pl.used / pl.capacity : null;
          if (u === null && pl.utilisation && typeof pl.utilisation === 'object') {
            // per dimension (requests, tokens, concurrency, cost): chart the busiest
            Object.keys(pl.utilisation).forEach(function (k) { var v = pl.utilisation[k]; if (typeof v === 'number' && isFinite(v)) u = u === null ? v : Math.max(u, v); });
          }
          if (u === null || !isFinite(u)) return;
          if (u > 1.5) u = u / 100;
          (series[id] = series[id] || []).push({ t: now, v: Math.max(0, Math.min(1, u)) });
          if (series[id].length > 120) series[id].shift();
        });
        var ids = Object.keys(series);
        p.count.textContent = ids.length ? String(ids.length) : '';
        if (ids.length === 0) return empty(p, pools.length ? 'No utilisation figures in the answer.' : 'No resource pools yet.');
        clear(p.body).appendChild(chart(ids));
      });
    },
  });
  function chart(ids) {
    var W = 340, H = 140, L = 30, B = 16;
    var t0 = Infinity, t1 = -Infinity;
    ids.forEach(function (id) { series[id].forEach(function (pt) { t0 = Math.min(t0, pt.t); t1 = Math.max(t1, pt.t); }); });
    if (t1 <= t0) t1 = t0 + 1;
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img', 'aria-label': 'utilisation chart' });
    [0, 0.5, 1].forEach(function (y) {
      var yy = (H - B) - y * (H - B - 6);
      svg.appendChild(s('line', { class: 'axis', x1: L, x2: W, y1: yy, y2: yy }));
      svg.appendChild(s('text', { x: 0, y: yy + 4 }, [Math.round(y * 100) + '%']));
    });
    var legend = h('div', { class: 'legend' });
    ids.forEach(function (id, i) {
      var color = COLORS[i % COLORS.length];
      var d = series[id].map(function (pt, j) {
        var x = L + (W - L) * (pt.t - t0) / (t1 - t0), y = (H - B) - pt.v * (H - B - 6);
        return (j ? 'L' : 'M') + x.toFixed(1) + ',' + y.toFixed(1);
      }).join(' ');
      svg.appendChild(s('path', { class: 'series', d: d, stroke: color, 'data-series': id }));
      var last = series[id][series[id].length - 1];
      legend.appendChild(h('span', null, [h('i', { style: 'background:' + color }), id + ' ' + Math.round(last.v * 100) + '%']));
    });
    return h('div', null, [svg, legend]);
  }

  // conflicts with a resolve action (POST /resources/conflicts/{id}/resolve {action})
  var RESOLUTIONS = ['accept', 'preempt', 'dismiss'];
  // the operator's pick per conflict: the panel re-renders on every conflict event, which must not
  // put a half-made choice back to the default
  var chosenResolution = {};
  panel({
    id: 'conflicts', title: 'Conflicts', events: ['conflict'],
    load: function (p) {
      return api('GET', '/resources/conflicts?limit=50').then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Conflicts'); throw new Error(errText(r)); }
        var list = items(r.body);
        var isOpen = function (c) { return !/resolved|dismissed|closed/.test(String(c.status || c.state || '')); };
        p.count.textContent = String(list.filter(isOpen).length);
        if (list.length === 0) return empty(p, 'No conflicts.');
        var ul = h('ul', { class: 'list' });
        list.forEach(function (c) {
          var st = String(c.status || c.state || 'open');
          var open = isOpen(c);
          var select = h('select', { 'aria-label': 'resolution', 'data-resolution-for': c.id }, RESOLUTIONS.map(function (a) { return h('option', { value: a, text: a }); }));
          if (chosenResolution[c.id]) select.value = chosenResolution[c.id];
          select.addEventListener('change', function () { chosenResolution[c.id] = select.value; });
          ul.appendChild(h('li', { 'data-conflict-id': c.id, 'data-state': st }, [
            badge(st, open ? 'warn' : 'ok'),
            h('span', { class: 'grow', text: String(c.kind || c.type || 'conflict').replace(/_/g, ' ') + (c.poolId ? ' · pool ' + c.poolId : '') + ' · ' + timeOf(c.detectedAt || c.createdAt) }),
            open && canOperate() ? select : null,
            open && canOperate() ? h('button', { 'data-resolve': c.id, onclick: function (ev) {
              ev.target.disabled = true;
              api('POST', '/resources/conflicts/' + encodeURIComponent(c.id) + '/resolve', { action: select.value }).then(function (x) {
                if (!x.ok) toast(errText(x)); else { delete chosenResolution[c.id]; toast('Conflict ' + (x.body && x.body.status || 'resolved'), 'info'); }
                p.reload();
              });
            }, text: 'Resolve' }) : null,
          ]));
        });
        clear(p.body).appendChild(h('div', { class: 'scroll' }, [ul]));
      });
    },
  });

  // recommendations from the performance optimizer
  panel({
    id: 'recommendations', title: 'Recommendations', events: ['recommendation', 'performance'], everyMs: 30000,
    load: function (p) {
      return api('GET', '/performance/recommendations').then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Recommendations'); throw new Error(errText(r)); }
        var list = items(r.body);
        p.count.textContent = String(list.length);
        if (list.length === 0) return empty(p, 'No recommendations.');
        var ul = h('ul', { class: 'list' });
        list.forEach(function (x) {
          ul.appendChild(h('li', { 'data-recommendation-id': x.id }, [
            badge(String(x.kind || x.type || 'tip')),
            h('span', { class: 'grow', text: x.title || x.summary || x.description || x.message || JSON.stringify(x).slice(0, 160) }),
            x.state || x.status ? badge(String(x.state || x.status)) : null,
          ]));
        });
        clear(p.body).appendChild(h('div', { class: 'scroll' }, [ul]));
      });
    },
  });

  // alerts
  panel({
    id: 'alerts', title: 'Alerts', events: ['alert'],
    load: function (p) {
      return api('GET', '/alerts?limit=20').then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Alerts'); throw new Error(errText(r)); }
        var list = items(r.body);
        p.count.textContent = String(list.length);
        if (list.length === 0) return empty(p, 'No alerts.');
        var ul = h('ul', { class: 'list' });
        list.forEach(function (a) {
          var delivered = (a.deliveries || []).filter(function (d) { return d.state === 'delivered'; }).length;
          ul.appendChild(h('li', { 'data-alert-id': a.id }, [
            badge(a.severity, a.severity === 'critical' ? 'bad' : a.severity === 'warning' ? 'warn' : null),
            h('span', { class: 'grow', text: a.title }),
            h('span', { class: 'meta', text: timeOf(a.firedAt) + ' · ' + delivered + '/' + (a.deliveries || []).length + ' sent' }),
          ]));
        });
        clear(p.body).appendChild(h('div', { class: 'scroll' }, [ul]));
      });
    },
    onEvent: function (e) { if (e.type === 'alert.fired') toast('Alert: ' + ((e.data && e.data.title) || 'fired')); },
  });

  // runtime feature flags
  panel({
    id: 'flags', title: 'Feature flags', events: ['flag'],
    load: function (p) {
      return api('GET', '/flags').then(function (r) {
        if (!r.ok) { if (absent(r)) return routeMissing(p, 'Flags'); throw new Error(errText(r)); }
        var list = items(r.body);
        p.count.textContent = String(list.length);
        var ul = h('ul', { class: 'list' });
        list.forEach(function (f) {
          var box = h('input', { type: 'checkbox', 'data-flag': f.name, 'aria-label': f.name, checked: !!f.enabled, disabled: !canChangeFlags(), onchange: function (ev) {
            var want = ev.target.checked; ev.target.disabled = true;
            api('PUT', '/flags/' + encodeURIComponent(f.name), { enabled: want }).then(function (x) {
              if (!x.ok) { toast(errText(x)); ev.target.checked = !want; }
              ev.target.disabled = !canChangeFlags();
              p.reload();
            });
          } });
          ul.appendChild(h('li', null, [h('label', { class: 'switch grow' }, [box, h('span', null, [h('b', { text: f.name }), h('div', { class: 'meta', text: f.description })])]), badge(f.enabled ? 'on' : 'off', f.enabled ? 'ok' : null)]));
        });
        clear(p.body).appendChild(ul);
      });
    },
  });

  // ── live stream ────────────────────────────────────────────────────────
  function setLive(v) { var el = document.getElementById('live'); if (el) { el.setAttribute('data-live', v ? 'true' : 'false'); el.textContent = v ? 'live' : 'offline'; } }
  function connect() {
    if (!state.key || state.stopped) return;
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws = new WebSocket(proto + '//' + location.host + API + '/stream?token=' + encodeURIComponent(state.key));
    state.ws = ws;
    ws.onmessage = function (m) {
      var e; try { e = JSON.parse(m.data); } catch (err) { return; }
      if (!e || typeof e.type !== 'string') return;
      if (e.type === 'stream.ready') { setLive(true); state.wsRetry = 0; return; }
      Object.keys(state.panels).forEach(function (id) {
        var p = state.panels[id];
        if (p.def.onEvent) p.def.onEvent(e, p);
        if (p.def.events && p.def.events.some(function (k) { return e.type === k || e.type.indexOf(k + '.') === 0; })) p.reload();
      });
    };
    ws.onclose = function (ev) {
      setLive(false);
      if (ev.code === 4401) return logout('Your API key was revoked.');
      if (state.ws === ws && state.me) setTimeout(connect, Math.min(10000, 500 * Math.pow(2, state.wsRetry++)));
    };
  }

  // ── login ──────────────────────────────────────────────────────────────
  function logout(message) {
    try { sessionStorage.removeItem(KEY_STORE); } catch (e) { /* private mode */ }
    state.key = null; state.me = null;
    if (state.ws) { var w = state.ws; state.ws = null; w.close(); }
    showLogin(message);
  }
  function showLogin(message) {
    var root = clear(document.getElementById('app'));
    var input = h('input', { id: 'key', type: 'password', autocomplete: 'off', placeholder: 'sm_…', 'aria-label': 'API key' });
    var err = h('div', { class: 'error', id: 'login-error', text: message || '' });
    var form = h('form', { class: 'login', onsubmit: function (ev) {
      ev.preventDefault();
      login(input.value.trim()).then(function (ok) { if (!ok) err.textContent = 'That key was not accepted.'; });
    } }, [h('h1', { text: 'Swarm Mesh' }), h('p', { text: 'Log in with an API key (viewer, operator or admin).' }), input, h('button', { id: 'login', class: 'primary', type: 'submit', text: 'Log in' }), err]);
    root.appendChild(form);
    input.focus();
  }
  function login(key) {
    if (!key) return Promise.resolve(false);
    state.key = key;
    return api('GET', '/auth/whoami').then(function (r) {
      if (!r.ok) { state.key = null; return false; }
      state.me = r.body;
      try { sessionStorage.setItem(KEY_STORE, key); } catch (e) { /* private mode */ }
      showDashboard();
      return true;
    }).catch(function () { state.key = null; return false; });
  }
  function showDashboard() {
    var root = clear(document.getElementById('app'));
    state.panels = {};
    var header = h('header', null, [
      h('h1', { text: 'Swarm Mesh' }),
      h('span', { class: 'who', id: 'who', text: 'tenant ' + state.me.tenantId + ' · ' + state.me.role }),
      h('span', { class: 'live', id: 'live', 'data-live': 'false', text: 'offline' }),
      h('span', { class: 'spacer' }),
      h('a', { href: '/api/docs', text: 'API', style: 'color:var(--muted)' }),
      h('button', { id: 'logout', onclick: function () { logout(); }, text: 'Log out' }),
    ]);
    var main = h('main', { id: 'dashboard' });
    root.appendChild(header); root.appendChild(main);
    mountPanels(main);
    connect();
  }

  window.addEventListener('DOMContentLoaded', function () {
    var saved = null;
    try { saved = sessionStorage.getItem(KEY_STORE); } catch (e) { /* private mode */ }
    if (saved) login(saved).then(function (ok) { if (!ok) showLogin(); }); else showLogin();
  });
  window.swarmDashboard = { panels: PANELS, panel: panel };
})();
`;
