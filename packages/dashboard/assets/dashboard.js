/* vigil dashboard page: reads the Server-Sent Events stream and draws it (uPlot for the charts). */
(function () {
  'use strict';
  var base = document.body.getAttribute('data-base') || '';
  var MAX_POINTS = 900;
  // columns: t, rate, error %, p50, p95, p99, apdex, cpu %, rss MB, heap MB, lag p99 ms
  var columns = [];
  for (var c = 0; c < 11; c++) columns.push([]);

  function $(id) { return document.getElementById(id); }
  function esc(v) {
    return String(v == null ? '' : v).replace(/[&<>"']/g, function (ch) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch];
    });
  }
  function fmt(v, digits) {
    if (v == null || typeof v !== 'number' || !isFinite(v)) return '–';
    if (digits == null) digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    return v.toFixed(digits);
  }
  function pct(ratio) { return ratio == null ? '–' : (ratio * 100).toFixed(ratio >= 0.1 ? 1 : 2) + ' %'; }
  function mb(bytes) { return (bytes / 1048576).toFixed(1); }
  function ago(epochMs) {
    if (!epochMs) return 'never';
    var s = Math.max(0, Math.round((Date.now() - epochMs) / 1000));
    return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
  }
  function clock(epochMs) { return new Date(epochMs).toLocaleTimeString(); }
  function duration(sec) { return sec < 120 ? sec + ' s' : sec < 7200 ? Math.round(sec / 60) + ' min' : Math.round(sec / 3600) + ' h'; }

  // ---- charts ---------------------------------------------------------------------------
  var palette = ['#58a6ff', '#f0883e', '#f85149', '#3fb950', '#d2a8ff'];
  var chartDefs = [
    { id: 'chart-rate', cols: [1], labels: ['req/s'] },
    { id: 'chart-errors', cols: [2], labels: ['error %'], colors: ['#f85149'] },
    { id: 'chart-latency', cols: [3, 4, 5], labels: ['p50', 'p95', 'p99'], colors: ['#3fb950', '#f0883e', '#f85149'] },
    { id: 'chart-apdex', cols: [6], labels: ['Apdex'], colors: ['#d2a8ff'], range: [0, 1] },
    { id: 'chart-cpu', cols: [7], labels: ['CPU %'] },
    { id: 'chart-memory', cols: [8, 9], labels: ['RSS', 'heap used'], colors: ['#58a6ff', '#3fb950'] },
    { id: 'chart-lag', cols: [10], labels: ['lag p99'], colors: ['#f0883e'] }
  ];
  var charts = [];
  function chartWidth(el) { return Math.max(280, el.clientWidth - 16); }
  function makeCharts() {
    if (typeof uPlot !== 'function') return;
    chartDefs.forEach(function (def) {
      var el = $(def.id);
      var series = [{}];
      def.cols.forEach(function (_, i) {
        var color = (def.colors || palette)[i % palette.length];
        series.push({ label: def.labels[i], stroke: color, width: 1.5, fill: def.cols.length === 1 ? color + '22' : undefined, spanGaps: false });
      });
      var axisStyle = { stroke: '#8a96a8', grid: { stroke: '#263040', width: 1 }, ticks: { stroke: '#263040' } };
      var opts = {
        width: chartWidth(el), height: 170, series: series, legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: def.range ? { range: def.range } : { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
        axes: [axisStyle, Object.assign({ size: 50 }, axisStyle)]
      };
      charts.push({ def: def, el: el, plot: new uPlot(opts, dataFor(def), el) });
    });
    window.addEventListener('resize', function () {
      charts.forEach(function (ch) { ch.plot.setSize({ width: chartWidth(ch.el), height: 170 }); });
    });
  }
  function dataFor(def) {
    var d = [columns[0]];
    def.cols.forEach(function (col) { d.push(columns[col]); });
    return d;
  }
  function redrawCharts() {
    charts.forEach(function (ch) {
      ch.plot.setData(dataFor(ch.def));
      var n = 0;
      ch.def.cols.forEach(function (col) { columns[col].forEach(function (v) { if (v != null) n++; }); });
      ch.el.setAttribute('data-points', String(n));
    });
  }
  function addPoint(point) {
    if (!point) return;
    var last = columns[0][columns[0].length - 1];
    if (last !== undefined && point[0] <= last) return;
    for (var i = 0; i < columns.length; i++) columns[i].push(point[i] == null ? null : point[i]);
    if (columns[0].length > MAX_POINTS) columns.forEach(function (col) { col.splice(0, col.length - MAX_POINTS); });
  }

  // ---- route table ------------------------------------------------------------------------
  var sortKey = 'count', sortDir = -1, filter = '', lastRoutes = [];
  function renderRoutes() {
    var rows = lastRoutes;
    if (filter) rows = rows.filter(function (r) { return r.route.toLowerCase().indexOf(filter) !== -1; });
    rows = rows.slice().sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      if (sortKey === 'route') return sortDir * String(x).localeCompare(String(y));
      if (x == null) x = -Infinity;
      if (y == null) y = -Infinity;
      return sortDir * (x - y);
    });
    var html = '';
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var errClass = r.errorRatio >= 0.05 ? 'bad' : r.errorRatio > 0 ? 'warn' : '';
      var apdexClass = r.apdex < 0.7 ? 'bad' : r.apdex < 0.94 ? 'warn' : 'good';
      html += '<tr><td class="route">' + esc(r.route) + '</td><td class="num">' + fmt(r.rate) + '</td><td class="num ' + errClass + '">' + pct(r.errorRatio) +
        '</td><td class="num">' + fmt(r.p50) + '</td><td class="num">' + fmt(r.p95) + '</td><td class="num">' + fmt(r.p99) +
        '</td><td class="num ' + apdexClass + '">' + fmt(r.apdex, 2) + '</td><td class="num">' + r.count + '</td></tr>';
    }
    document.querySelector('#route-table tbody').innerHTML = html;
    $('routes-count').textContent = rows.length + (rows.length === lastRoutes.length ? '' : ' of ' + lastRoutes.length) + ' routes';
    var ths = document.querySelectorAll('#route-table th');
    for (var j = 0; j < ths.length; j++) {
      var th = ths[j];
      th.className = (th.getAttribute('data-key') === 'route' ? '' : 'num') + (th.getAttribute('data-key') === sortKey ? ' sorted' + (sortDir > 0 ? ' asc' : '') : '');
    }
  }
  document.querySelector('#route-table thead').addEventListener('click', function (e) {
    var key = e.target && e.target.getAttribute && e.target.getAttribute('data-key');
    if (!key) return;
    if (key === sortKey) sortDir = -sortDir;
    else { sortKey = key; sortDir = key === 'route' ? 1 : -1; }
    renderRoutes();
  });
  $('route-filter').addEventListener('input', function (e) { filter = e.target.value.trim().toLowerCase(); renderRoutes(); });

  // ---- sections ---------------------------------------------------------------------------
  function show(id, on) { $(id).hidden = !on; }

  function renderHealth(h) {
    show('health-section', !!h); show('sum-health-card', !!h);
    if (!h) return;
    var badge = $('health-status');
    badge.textContent = h.status; badge.className = 'badge ' + h.status;
    $('sum-health').innerHTML = '<span class="badge ' + esc(h.status) + '">' + esc(h.status) + '</span>';
    var html = '';
    h.checks.forEach(function (c) {
      html += '<tr data-check="' + esc(c.name) + '"><td class="mono">' + esc(c.name) + '</td><td><span class="badge ' + esc(c.status) + '">' + esc(c.status) +
        '</span></td><td>' + (c.critical ? 'yes' : 'no') + '</td><td class="num">' + fmt(c.durationMs) + '</td><td>' + esc(ago(c.lastRunEpochMs)) +
        '</td><td>' + esc(c.observed) + '</td><td class="mono">' + esc(c.output) + '</td></tr>';
    });
    document.querySelector('#health-table tbody').innerHTML = html || '<tr><td colspan="7" class="muted">no checks registered</td></tr>';
    $('health-transitions').textContent = h.transitions.length ? 'Recent changes: ' + h.transitions.slice(0, 5).map(function (t) {
      return clock(t.timeEpochMs) + ' ' + t.check + ' ' + t.from + '→' + t.to;
    }).join(' · ') : '';
  }

  function renderAlerts(a) {
    show('alerts-section', !!a); show('sum-alerts-card', !!a);
    if (!a) return;
    var active = a.alerts.filter(function (x) { return x.state !== 'inactive'; });
    var firing = active.filter(function (x) { return x.state === 'firing'; }).length;
    $('sum-alerts').innerHTML = '<span class="badge ' + (firing ? 'firing' : 'ok') + '">' + firing + '</span>';
    var html = '';
    active.forEach(function (x) {
      var ann = '';
      Object.keys(x.annotations).forEach(function (k) { ann += '<div class="ann"><b>' + esc(k) + ':</b> ' + esc(x.annotations[k]) + '</div>'; });
      var labels = Object.keys(x.labels).map(function (k) { return esc(k) + '=' + esc(x.labels[k]); }).join(' ');
      html += '<div class="alert ' + esc(x.state) + '" data-alert="' + esc(x.name) + '" data-state="' + esc(x.state) + '"><span class="badge ' + esc(x.state) + '">' + esc(x.state) +
        '</span> <span class="title">' + esc(x.name) + '</span> <span class="muted">' + esc(x.severity) + (x.value != null ? ' · value ' + fmt(x.value, 3) : '') +
        (x.activeSinceEpochMs ? ' · since ' + esc(clock(x.activeSinceEpochMs)) : '') + (labels ? ' · ' + labels : '') + '</span>' + ann + '</div>';
    });
    $('alerts-list').innerHTML = html || '<div class="muted">No alert pending or firing.</div>';
    var inactive = a.alerts.length - active.length;
    $('alerts-note').textContent = a.alerts.length + ' rules, ' + inactive + ' inactive';
  }

  var openTraces = {}, traceSignature = '';
  function renderTraces(t) {
    show('traces-section', !!t);
    if (!t) return;
    var sig = t.traces.map(function (x) { return x.traceId; }).join(',');
    if (sig === traceSignature) return;
    traceSignature = sig;
    var list = $('traces-list');
    list.textContent = '';
    if (!t.traces.length) { list.innerHTML = '<div class="muted">No finished traces yet.</div>'; return; }
    t.traces.forEach(function (tr) {
      var box = document.createElement('div');
      box.className = 'trace' + (tr.error ? ' failed' : '');
      box.setAttribute('data-trace', tr.traceId);
      var row = document.createElement('div');
      row.className = 'row';
      row.innerHTML = '<span class="badge ' + (tr.error ? 'error' : 'ok') + '">' + esc(tr.status || (tr.error ? 'error' : 'ok')) + '</span><span class="name">' + esc(tr.name) +
        '</span><span class="num">' + fmt(tr.durationMs) + ' ms</span><span class="muted">' + tr.spans.length + ' spans</span><span class="muted">' + esc(clock(tr.startEpochMs)) + '</span>';
      box.appendChild(row);
      var wf = document.createElement('div');
      wf.className = 'waterfall';
      wf.hidden = !openTraces[tr.traceId];
      drawWaterfall(wf, tr);
      box.appendChild(wf);
      row.addEventListener('click', function () { wf.hidden = !wf.hidden; openTraces[tr.traceId] = !wf.hidden; });
      list.appendChild(box);
    });
  }
  function drawWaterfall(wf, tr) {
    var total = tr.durationMs;
    tr.spans.forEach(function (s) { total = Math.max(total, s.offsetMs + s.durationMs); });
    total = total || 1;
    var depth = {};
    var byId = {};
    tr.spans.forEach(function (s) { byId[s.spanId] = s; });
    function depthOf(s, guard) {
      if (depth[s.spanId] != null) return depth[s.spanId];
      var p = s.parentSpanId && byId[s.parentSpanId];
      var d = p && guard < 20 ? depthOf(p, guard + 1) + 1 : 0;
      depth[s.spanId] = d;
      return d;
    }
    tr.spans.slice().sort(function (a, b) { return a.offsetMs - b.offsetMs; }).forEach(function (s) {
      var line = document.createElement('div');
      line.className = 'span' + (s.error ? ' error' : '');
      var name = document.createElement('div');
      name.className = 'sname';
      name.textContent = s.name;
      name.style.paddingLeft = depthOf(s, 0) * 12 + 'px';
      name.title = s.name;
      var track = document.createElement('div');
      track.className = 'track';
      var bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.left = (s.offsetMs / total) * 100 + '%';
      bar.style.width = (s.durationMs / total) * 100 + '%';
      track.appendChild(bar);
      var d = document.createElement('div');
      d.className = 'num';
      d.textContent = fmt(s.durationMs) + ' ms';
      line.appendChild(name); line.appendChild(track); line.appendChild(d);
      wf.appendChild(line);
    });
  }

  function renderLogs(l) {
    show('logs-section', !!l);
    if (!l) return;
    var html = '';
    l.logs.forEach(function (x) {
      html += '<tr><td>' + esc(clock(x.timeEpochMs)) + '</td><td class="level-' + esc(x.level) + '">' + esc(x.level) + '</td><td class="mono">' + esc(x.message) +
        '</td><td class="mono">' + esc(x.requestId) + '</td><td class="mono">' + esc(x.traceId ? x.traceId.slice(0, 16) : '') + '</td></tr>';
    });
    document.querySelector('#logs-table tbody').innerHTML = html || '<tr><td colspan="5" class="muted">No warnings or errors.</td></tr>';
    $('logs-note').textContent = l.dropped ? '(older lines dropped: ' + l.dropped + ')' : '';
  }

  function renderProcesses(list, workers) {
    var html = '';
    list.forEach(function (p) {
      html += '<tr><td>' + p.pid + '</td><td class="num">' + fmt(p.cpuPercent, 1) + '</td><td class="num">' + mb(p.rssBytes) + '</td><td class="num">' + mb(p.heapUsedBytes) + ' / ' + mb(p.heapTotalBytes) +
        '</td><td class="num">' + fmt(p.lagMeanMs) + ' / ' + fmt(p.lagP99Ms) + '</td><td class="num">' + esc(duration(p.uptimeSec)) + '</td></tr>';
    });
    document.querySelector('#process-table tbody').innerHTML = html;
    $('process-note').textContent = workers > 1 ? workers + ' cluster workers' : '';
  }

  function renderSummary(f) {
    var o = f.overall;
    $('sum-rate').textContent = fmt(o.rate);
    $('sum-errors').textContent = pct(o.errorRatio) + ' (' + o.errors + ')';
    $('sum-latency').textContent = fmt(o.p50) + ' / ' + fmt(o.p95) + ' / ' + fmt(o.p99);
    $('sum-apdex').textContent = o.count ? fmt(o.apdex, 2) : '–';
    $('window-note').textContent = '(' + Math.round(f.windowMs / 1000) + ' s rolling window, sampled every second' + (f.workers > 1 ? ', ' + f.workers + ' workers merged' : '') + ')';
    $('meta').textContent = (f.service ? f.service + ' · ' : '') + 'pid ' + f.pid + (f.workers > 1 ? ' · ' + f.workers + ' workers' : '') + ' · ' + clock(f.t);
    $('packages').innerHTML = f.packages.map(function (p) { return '<span class="badge pkg">' + esc(p.name) + (p.version ? ' ' + esc(p.version) : '') + '</span>'; }).join('');
  }

  function renderPackages(list) {
    show('packages-section', list.length > 0);
    var html = '';
    list.forEach(function (p) {
      var fields = Object.keys(p.fields || {}).map(function (k) {
        var v = p.fields[k];
        return esc(k) + ' <b>' + esc(typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(2)) : v) + '</b>';
      }).join(' · ');
      html += '<tr data-package="' + esc(p.name) + '"><td class="mono">@vigil/' + esc(p.name) + '</td><td>' + esc(p.version) + '</td><td class="muted">' + fields + '</td></tr>';
    });
    document.querySelector('#packages-table tbody').innerHTML = html;
  }

  var lastFrame = null;
  function onTick(f) {
    lastFrame = f;
    window.__vigilLastFrame = f;
    addPoint(f.point);
    if (document.hidden) return;
    render();
  }
  function render() {
    var f = lastFrame;
    if (!f) return;
    redrawCharts();
    renderSummary(f);
    lastRoutes = f.routes;
    renderRoutes();
    renderHealth(f.health);
    renderAlerts(f.alerts);
    renderTraces(f.traces);
    renderLogs(f.logs);
    renderProcesses(f.processes, f.workers);
    renderPackages(f.packages);
  }
  document.addEventListener('visibilitychange', function () { if (!document.hidden) render(); });

  // ---- stream -----------------------------------------------------------------------------
  makeCharts();
  var conn = $('conn');
  function connect() {
    var source = new EventSource(base + '/events');
    source.addEventListener('open', function () { conn.textContent = 'live'; conn.className = 'badge live'; });
    source.addEventListener('error', function () { conn.textContent = 'reconnecting…'; conn.className = 'badge down'; });
    source.addEventListener('history', function (e) {
      var h = JSON.parse(e.data);
      columns.forEach(function (col) { col.length = 0; });
      h.points.forEach(addPoint);
    });
    source.addEventListener('tick', function (e) { onTick(JSON.parse(e.data)); });
  }
  connect();
})();
