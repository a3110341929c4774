// Shared by the dashboard pages: the bearer token, API calls and formatting.
"use strict";

const TOKEN_KEY = "fleetgov.token";

const fg = {
  token() { return localStorage.getItem(TOKEN_KEY) || ""; },

  setToken(token) { localStorage.setItem(TOKEN_KEY, token); },

  // Calls the JSON API; throws an Error carrying the API's status and code.
  async api(path, options = {}) {
    const headers = { Authorization: `Bearer ${fg.token()}` };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      error.code = data && data.error ? data.error.code : "HTTP_" + response.status;
      throw error;
    }
    return data;
  },

  // Fills the token picker with the server's demo tokens (if any) and a custom entry.
  async initTokenPicker(onChange) {
    const select = document.getElementById("token-select");
    const custom = document.getElementById("token-custom");
    let demo = [];
    // 404 unless the server runs the demo configuration: then only a custom token.
    try {
      const r = await fetch("/api/v1/demo-tokens");
      demo = r.ok ? await r.json() : [];
    } catch (_) { demo = []; }
    select.innerHTML = "";
    for (const t of demo) {
      const option = document.createElement("option");
      option.value = t.token;
      option.textContent = `${t.role} — ${t.actor}`;
      select.appendChild(option);
    }
    const other = document.createElement("option");
    other.value = "";
    other.textContent = "custom token…";
    select.appendChild(other);
    const current = fg.token();
    const known = demo.find((t) => t.token === current);
    if (known) select.value = known.token;
    else if (current) { select.value = ""; custom.value = current; custom.hidden = false; }
    else if (demo.length) {
      const preferred = demo.find((t) => t.role === "operator") || demo[0];
      select.value = preferred.token;
      fg.setToken(preferred.token);
    } else custom.hidden = false;
    select.addEventListener("change", () => {
      custom.hidden = select.value !== "";
      if (select.value) { fg.setToken(select.value); onChange(); }
    });
    custom.addEventListener("change", () => { fg.setToken(custom.value.trim()); onChange(); });
  },

  // Opens the event stream (EventSource cannot send headers, hence the query token).
  events(handlers, statusElement) {
    const source = new EventSource(`/api/v1/events?access_token=${encodeURIComponent(fg.token())}`);
    source.addEventListener("ready", () => statusElement && statusElement.classList.add("on"));
    source.onerror = () => statusElement && statusElement.classList.remove("on");
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => handler(JSON.parse(e.data)));
    }
    return source;
  },

  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return node;
  },

  badge(text, cls) { return fg.el("span", { class: `badge ${cls || text}` }, text); },

  num(n) { return Number(n).toLocaleString("en-US"); },

  pct(n) { return `${Math.round(n)}%`; },

  // A cluster's cohesion from its basis points (floored by the server):
  // "100%" only when every node is verified, else two decimals ("99.50%").
  cohesion(c) {
    const bp = c.cohesionBasisPoints;
    if (bp >= 10000) return "100%";
    return `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, "0")}%`;
  },

  // The colour of a cluster's status: the bar and the badge follow the
  // status, never a rounded number.
  statusColour(status) { return { HEALTHY: "green", SYNCING: "yellow", DIVERGENT: "red" }[status] || "red"; },

  // A heartbeat's age as the server measured it at the query (null: never).
  age(ms) {
    if (ms === null || ms === undefined) return "never";
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    return `${Math.floor(s / 3600)} h ago`;
  },

  shortHash(h) { return h ? `${h.slice(0, 12)}…${h.slice(-6)}` : "—"; },

  // Unix milliseconds as "YYYY-MM-DD HH:MM:SS" (UTC).
  when(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 19); },

  // Shows `text` in the toast element `t` for four seconds.
  toast(t, text) {
    t.textContent = text;
    t.hidden = false;
    clearTimeout(fg.toastTimer);
    fg.toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
  },
};
