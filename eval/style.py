"""The evaluation page's stylesheet (inlined into report.html, so the page stands alone)."""

CSS = """
:root{color-scheme:light;--ink:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--soft:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.7rem;margin:.5rem 0}h2{font-size:1.3rem;margin:2rem 0 .6rem;
border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.02rem;margin:0 0 .4rem}h4{font-size:.8rem;text-transform:uppercase;
letter-spacing:.04em;color:var(--muted);margin:.8rem 0 .2rem}
code{font:.88em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.meta{display:flex;flex-wrap:wrap;gap:.3rem 1.6rem;margin:0 0 1rem}
.meta dt{font-size:.75rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.meta dd{margin:0;overflow-wrap:anywhere}
.gate{padding:.7rem 1rem;border-radius:8px;border-left:6px solid}
.gate ul{margin:.4rem 0 0;padding-left:1.2rem}
.pass{background:#e8f5ec;border-color:#1e8e3e}.fail{background:#fdecea;border-color:#c5221f}
.note{color:var(--muted);font-size:.9rem;margin:.2rem 0 .6rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;min-width:100%}
th,td{padding:.35rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-size:.85rem;background:var(--soft)}
td{text-align:right}th code{overflow-wrap:normal}.v,.ci span{white-space:nowrap}
tr.group th{background:var(--soft);font-size:.78rem;text-transform:uppercase;
letter-spacing:.05em;color:var(--muted)}
.v{display:block}.ci{display:block;font-size:.78rem;color:var(--muted)}
td.best .v{font-weight:700}.lower{display:block;font-size:.75rem;color:var(--muted)}
.charts{display:grid;align-items:start;gap:1.2rem;
grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr))}
figure{margin:0;padding:.6rem;border:1px solid var(--line);border-radius:8px}
figcaption{font-size:.85rem;color:var(--muted);margin-top:.3rem}
svg{display:block;width:100%;height:auto}
svg text{font-size:13px;fill:var(--ink)}svg text.title{fill:var(--muted);text-anchor:middle}
svg text.kind{font-weight:600}svg text.value{font-size:12px}
svg .grid{stroke:#eceef1}svg .axis{stroke:#777;fill:none}
svg .ring{fill:none;stroke:var(--ink);stroke-width:2}
.failure{border:1px solid var(--line);border-left:5px solid #c5221f;border-radius:8px;
padding:.8rem 1rem;margin:0 0 1rem}
.qid{font:600 .85rem ui-monospace,Menlo,Consolas,monospace;color:var(--muted)}
.tag{display:inline-block;font-size:.72rem;font-weight:600;padding:0 .4rem;border-radius:4px;
background:#e8eaed;vertical-align:.1em}.tag.gold{background:#e6f4ea;color:#137333}
.tag.bad{background:#fce8e6;color:#a50e0e}
.flip.fixed{border-left-color:#1e8e3e}.flip.changed{border-left-color:#9aa0a6}
.problems{margin:.2rem 0;padding-left:1.2rem;color:#a50e0e;font-weight:600}
.facts{margin:.2rem 0;color:var(--muted);font-size:.88rem}
blockquote{margin:.2rem 0;padding:.3rem .8rem;border-left:3px solid var(--line);
background:var(--soft);white-space:pre-wrap;overflow-wrap:anywhere}
.golds{padding-left:1.3rem;margin:.2rem 0}
.cites{list-style:none;padding:0;margin:.2rem 0}.cites li{margin-bottom:.5rem}
.src{margin:0;font-size:.9rem}q{overflow-wrap:anywhere}
@media (max-width:520px){main{padding:.6rem .6rem 2rem}th,td{padding:.3rem .25rem}
table{font-size:.9rem}.ci{font-size:.7rem}
h1{font-size:1.4rem}.failure{padding:.6rem .7rem}}
"""
