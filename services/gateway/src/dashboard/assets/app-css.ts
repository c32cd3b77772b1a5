// The dashboard's stylesheet, served at /dashboard/app.css (embedded so the compiled gateway carries it).
export const APP_CSS = String.raw`
:root { --bg:#0f1419; --panel:#171d24; --line:#2a333d; --text:#e6e9ec; --muted:#8b96a1; --accent:#4ea1ff;
  --ok:#2fbf71; --warn:#e6b422; --bad:#e5534b; --info:#8b8bff; font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font-size:14px; }
header { display:flex; flex-wrap:wrap; align-items:center; gap:8px 16px; padding:10px 16px; border-bottom:1px solid var(--line); position:sticky; top:0; background:var(--bg); z-index:2; }
header h1 { font-size:16px; margin:0; font-weight:600; }
header .who { color:var(--muted); font-size:12px; }
header .spacer { flex:1; }
button, select, input { font:inherit; color:var(--text); background:#222a33; border:1px solid var(--line); border-radius:6px; padding:6px 10px; }
button { cursor:pointer; } button:hover { border-color:var(--accent); } button:disabled { opacity:.5; cursor:default; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
.live { font-size:12px; padding:2px 8px; border-radius:10px; background:#33200f; color:var(--warn); }
.live[data-live="true"] { background:#0f3320; color:var(--ok); }
main { display:grid; grid-template-columns:repeat(auto-fit, minmax(360px, 1fr)); gap:12px; padding:12px; }
section.panel { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px; min-width:0; }
section.panel.wide { grid-column:1 / -1; }
section.panel h2 { margin:0 0 8px; font-size:14px; display:flex; align-items:center; gap:8px; }
section.panel h2 .count { color:var(--muted); font-weight:400; }
.empty { color:var(--muted); font-style:italic; padding:8px 0; }
.error { color:var(--bad); }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:8px; }
.card { border:1px solid var(--line); border-left:4px solid var(--muted); border-radius:6px; padding:8px; background:#1b222a; min-width:0; }
.card .id { font-weight:600; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.card .meta { color:var(--muted); font-size:12px; overflow-wrap:anywhere; }
.state-healthy, .state-succeeded, .state-delivered, .state-resolved, .state-completed { border-left-color:var(--ok); }
.state-degraded, .state-draining, .state-running, .state-dispatched, .state-pending, .state-queued, .state-open { border-left-color:var(--warn); }
.state-unresponsive, .state-dead, .state-quarantined, .state-failed, .state-dead_lettered, .state-timed_out, .state-cancelled { border-left-color:var(--bad); }
.badge { display:inline-block; font-size:11px; padding:1px 6px; border-radius:8px; background:#26303a; color:var(--muted); }
.badge.ok { background:#0f3320; color:var(--ok); } .badge.warn { background:#33290f; color:var(--warn); } .badge.bad { background:#3a1614; color:var(--bad); }
.bar { height:6px; background:#26303a; border-radius:3px; overflow:hidden; margin-top:4px; } .bar > span { display:block; height:100%; background:var(--accent); }
table { width:100%; border-collapse:collapse; font-size:13px; } th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--muted); font-weight:500; } td.num, th.num { text-align:right; }
.scroll { overflow:auto; max-height:320px; }
ul.list { list-style:none; margin:0; padding:0; } ul.list li { padding:6px 0; border-bottom:1px solid var(--line); display:flex; gap:8px; align-items:flex-start; flex-wrap:wrap; }
ul.list li .grow { flex:1; min-width:160px; overflow-wrap:anywhere; }
.flow li { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.switch { display:flex; align-items:center; gap:8px; } .switch input { width:18px; height:18px; }
svg { max-width:100%; } svg text { fill:var(--text); font-size:11px; }
svg .edge { stroke:#4b5763; stroke-width:1.5; fill:none; }
svg .node rect { fill:#1b222a; stroke:#4b5763; stroke-width:1.5; rx:6; }
svg .node.state-succeeded rect, svg .node.state-completed rect { stroke:var(--ok); } svg .node.state-running rect, svg .node.state-dispatched rect { stroke:var(--accent); }
svg .node.state-failed rect, svg .node.state-dead_lettered rect, svg .node.state-cancelled rect { stroke:var(--bad); } svg .node.state-queued rect, svg .node.state-pending rect { stroke:var(--warn); }
svg .axis { stroke:#3a444e; } svg .series { fill:none; stroke-width:2; }
.login { max-width:420px; margin:12vh auto; padding:24px; background:var(--panel); border:1px solid var(--line); border-radius:10px; }
.login h1 { margin-top:0; font-size:20px; } .login input { width:100%; margin:8px 0 12px; } .login p { color:var(--muted); }
.toast { position:fixed; right:12px; bottom:12px; max-width:90vw; background:#3a1614; color:#fff; border:1px solid var(--bad); border-radius:8px; padding:10px 14px; z-index:5; }
.toast.info { background:#10263d; border-color:var(--accent); }
.legend { display:flex; flex-wrap:wrap; gap:4px 12px; font-size:12px; color:var(--muted); margin-top:4px; } .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; }
@media (max-width: 640px) {
  main { grid-template-columns:1fr; padding:8px; gap:8px; }
  header { padding:8px; } .grid { grid-template-columns:repeat(auto-fill, minmax(130px, 1fr)); }
  th, td { padding:3px 4px; } .hide-narrow { display:none; }
}
`;
