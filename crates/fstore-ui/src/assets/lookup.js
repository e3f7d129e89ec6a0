// The lookup form: POSTs the keys to the serving API's table lookup and shows the feature vector.
"use strict";
(function () {
  const form = document.getElementById("lookup-form");
  if (!form) return;
  const table = document.getElementById("lookup-table");
  const keys = document.getElementById("lookup-keys");
  const token = document.getElementById("lookup-token");
  const out = document.getElementById("lookup-result");
  const err = document.getElementById("lookup-error");
  const template = () => {
    const opt = table.options[table.selectedIndex];
    if (opt) keys.value = opt.dataset.template;
  };
  table.addEventListener("change", template);
  if (!keys.value) template();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    err.textContent = "";
    let key;
    try { key = JSON.parse(keys.value); } catch (e) { err.textContent = "the key is not JSON: " + e.message; return; }
    const headers = { "content-type": "application/json" };
    if (token.value) headers["authorization"] = "Bearer " + token.value;
    const url = "/v1/feature-tables/" + encodeURIComponent(table.value) + "/lookup";
    try {
      const resp = await fetch(url, { method: "POST", headers, body: JSON.stringify({ keys: [key] }) });
      const body = await resp.json();
      if (!resp.ok) { err.textContent = resp.status + ": " + (body.error || JSON.stringify(body)); return; }
      const row = body.results[0];
      if (row === null) { err.textContent = "this key is not online"; return; }
      const types = {};
      for (const f of body.metadata.features) types[f.name] = f.type;
      const t = document.createElement("table");
      t.id = "lookup-vector";
      const head = t.createTHead().insertRow();
      for (const h of ["feature", "type", "value"]) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
      const tbody = t.createTBody();
      for (const [name, value] of Object.entries(row)) {
        const tr = tbody.insertRow();
        tr.dataset.feature = name;
        tr.insertCell().textContent = name;
        tr.insertCell().textContent = types[name] || "key";
        tr.insertCell().textContent = typeof value === "string" ? value : JSON.stringify(value);
      }
      const note = document.createElement("p");
      note.className = "muted";
      note.textContent = body.metadata.feature_table + " → " + body.metadata.online_table + ", Delta version " + body.metadata.delta_version;
      out.append(t, note);
    } catch (e) {
      err.textContent = "the lookup failed: " + e.message;
    }
  });
})();
