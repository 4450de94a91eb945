"""A self-contained API docs page: it renders /openapi.json with no external asset."""

from __future__ import annotations

__all__ = ["DOCS_HTML", "RECOVERY_HTML"]

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Afisha API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#222}
h1{margin-bottom:.2rem} .op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0}
.op summary{cursor:pointer;padding:.5rem .7rem;display:flex;gap:.8rem;align-items:baseline}
.m{font:600 13px monospace;min-width:4.5rem} .p{font-family:monospace}
.GET{color:#0a7} .POST{color:#06c} .PUT{color:#a60} .PATCH{color:#80a} .DELETE{color:#c22}
.body{padding:0 .9rem .7rem} pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:12px}
.lock{color:#888;font-size:12px} h2{margin-top:1.6rem;text-transform:capitalize}
</style></head><body>
<h1>Afisha API</h1><p id="intro">Loading <a href="/openapi.json">/openapi.json</a>...</p>
<div id="ops"></div>
<script>
function el(tag, attrs, ...kids){const e=document.createElement(tag);
  Object.assign(e, attrs||{}); for(const k of kids){e.append(k)} return e}
fetch("/openapi.json").then(r=>r.json()).then(doc=>{
  document.getElementById("intro").textContent=doc.info.description+" Version "+doc.info.version+".";
  const byTag={};
  for(const [path,ops] of Object.entries(doc.paths)){for(const [method,op] of Object.entries(ops)){
    (byTag[op.tags[0]]=byTag[op.tags[0]]||[]).push([method.toUpperCase(),path,op])}}
  const root=document.getElementById("ops");
  for(const [tag,ops] of Object.entries(byTag)){root.append(el("h2",{textContent:tag}));
    for(const [method,path,op] of ops){
      const summary=el("summary",{},el("span",{className:"m "+method,textContent:method}),
        el("span",{className:"p",textContent:path}),el("span",{textContent:op.summary}),
        el("span",{className:"lock",textContent:op.security?"(bearer token)":""}));
      const body=el("div",{className:"body"});
      if(op.parameters){body.append(el("p",{textContent:"Parameters: "+
        op.parameters.map(p=>p.name+" ("+p.in+")").join(", ")}))}
      if(op.requestBody){body.append(el("p",{textContent:"Body:"}),
        el("pre",{textContent:JSON.stringify(op.requestBody.content,null,1)}))}
      body.append(el("p",{textContent:"Responses: "+Object.entries(op.responses)
        .map(([c,r])=>c+" "+r.description).join("; ")}));
      root.append(el("details",{className:"op"},summary,body))}}
  root.append(el("h2",{textContent:"schemas"}),
    el("pre",{textContent:JSON.stringify(doc.components.schemas,null,1)}));
});
</script></body></html>
"""

RECOVERY_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Set a new password - Afisha</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
input,button{font:inherit;width:100%;padding:.5rem;margin:.3rem 0;box-sizing:border-box}
#msg{margin-top:1rem}</style></head><body>
<h1>Set a new password</h1>
<form id="f"><label>New password (at least 8 characters)
<input id="pw" type="password" autocomplete="new-password" minlength="8" required></label>
<button type="submit">Set password</button></form><p id="msg" role="status"></p>
<script>
const token = location.pathname.split("/").pop();
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const msg = document.getElementById("msg");
  const r = await fetch("/v1/password-recovery/" + encodeURIComponent(token), {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({password: document.getElementById("pw").value})});
  if (r.status === 204) { msg.textContent = "Done: log in with your new password."; return; }
  const p = await r.json().catch(() => ({}));
  msg.textContent = p.detail || ("Something went wrong (" + r.status + ").");
});
</script></body></html>
"""
