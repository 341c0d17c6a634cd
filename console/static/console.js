// Nectar console: the little the pages need beyond HTML. No framework;
// every feature is a data- attribute on a server-rendered element.
"use strict";
(function () {
  const meta = (n) => { const m = document.querySelector('meta[name="' + n + '"]'); return m ? m.content : ""; };
  const csrf = meta("csrf");

  // post sends a form (CSRF token in the header too) and returns the
  // response's JSON.
  async function post(form) {
    const res = await fetch(form.action, {
      method: "POST", body: new URLSearchParams(new FormData(form)),
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }, credentials: "same-origin",
    });
    let body = {};
    try { body = await res.json(); } catch (e) { body = { error: "the server answered " + res.status }; }
    return { status: res.status, body: body };
  }
  const pre = (text, id) => { const p = document.createElement("pre"); p.className = "json"; if (id) p.id = id; p.textContent = text; return p; };

  // Timeline bars: positions come as data attributes (the CSP allows no
  // inline style attributes to be trusted for layout).
  document.querySelectorAll(".tl-bar").forEach((b) => {
    b.style.left = b.dataset.left + "%";
    b.style.width = b.dataset.width + "%";
  });
  document.querySelectorAll(".tl").forEach((li) => {
    li.style.setProperty("--depth", li.dataset.depth || "0");
  });

  // Run panel.
  const run = document.querySelector('form[data-js="run"]');
  if (run) {
    run.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.getElementById("run-result");
      out.textContent = "Running…";
      const r = await post(run);
      out.textContent = "";
      if (r.status !== 200) { out.append(pre(r.body.error || JSON.stringify(r.body), "run-error")); return; }
      const head = document.createElement("p");
      const ok = !r.body.error;
      head.innerHTML = "";
      const s = document.createElement("span"); s.className = "status " + (ok ? "ok" : "failed"); s.textContent = ok ? "ok" : "failed";
      head.append(s, " ");
      if (r.body.execution_id) {
        const a = document.createElement("a"); a.id = "run-execution"; a.href = meta("base") + "/executions/" + r.body.execution_id; a.textContent = "execution " + r.body.execution_id;
        head.append(a);
      }
      out.append(head, pre(JSON.stringify(ok ? r.body.output : r.body.error, null, 2), "run-output"));
    });
  }

  // Secrets issued to consumers: fetched, shown once, never in the page.
  const box = document.getElementById("secret-box");
  document.querySelectorAll('form[data-js="secret"]').forEach((f) => {
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await post(f);
      if (r.status !== 201) { alert(r.body.error || "refused"); return; }
      document.getElementById("secret-what").textContent = r.body.what;
      document.getElementById("secret-consumer").textContent = r.body.consumer;
      document.getElementById("secret-value").textContent = r.body.secret;
      box.hidden = false;
      document.getElementById("copy-secret").focus();
    });
  });
  if (box) {
    document.getElementById("copy-secret").addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(document.getElementById("secret-value").textContent); document.getElementById("copy-secret").textContent = "Copied"; } catch (e) { /* clipboard refused: the text stays selectable */ }
    });
    document.getElementById("hide-secret").addEventListener("click", () => location.reload());
  }

  // Live executions (server-sent events).
  const table = document.querySelector("table[data-live]");
  if (table && window.EventSource) {
    const body = table.tBodies[0];
    const es = new EventSource(table.dataset.live);
    es.addEventListener("execution", (ev) => {
      const d = JSON.parse(ev.data);
      if (document.getElementById("exec-" + d.id)) return;
      const t = document.createElement("template");
      t.innerHTML = d.html; // rendered and escaped by the server's template
      const row = t.content.firstElementChild;
      row.classList.add("fresh");
      body.insertBefore(row, body.firstChild);
      const none = document.getElementById("no-executions");
      if (none) none.remove();
    });
    es.onerror = () => { const s = document.getElementById("live-state"); if (s) s.textContent = "Live updates paused; reconnecting…"; };
    es.onopen = () => { const s = document.getElementById("live-state"); if (s) { s.textContent = "Live: new executions appear here as they end."; s.dataset.open = "1"; } };
  }

  // Authorization: wait for the provider's callback, then go back to the
  // account.
  const flow = document.getElementById("authorize-flow");
  if (flow) {
    const state = document.getElementById("authorize-state");
    (async function poll() {
      for (;;) {
        let r;
        try { r = await (await fetch(flow.dataset.state, { credentials: "same-origin" })).json(); } catch (e) { await new Promise((ok) => setTimeout(ok, 1000)); continue; }
        if (r.state === "authorized") { location.assign(r.next); return; }
        if (r.state === "failed") { state.textContent = "Authorization failed: " + r.error; state.className = "error"; return; }
        if (r.error) { state.textContent = r.error; state.className = "error"; return; }
      }
    })();
  }
})();
