// What every page of the inspector shares: fetching the JSON API, building
// DOM nodes (never HTML text: the record's strings are data), formatting,
// and the Graphviz drawing of a flow.
"use strict";

const weir = {};

// api fetches a path of the JSON API, relative to the page, and throws an
// Error with the API's message when it answers an error.
weir.api = async function (path) {
  const res = await fetch("api/" + path, { headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => ({ error: res.status + " " + res.statusText }));
  if (!res.ok) {
    throw new Error(body.error || res.status + " " + res.statusText);
  }
  return body;
};

// el builds an element: el("a", {href: "x", class: "y"}, "text", child).
// Attributes named on* are refused: events go through addEventListener.
weir.el = function (tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) {
      throw new Error("el: no inline event handlers");
    }
    if (v !== undefined && v !== null && v !== false) {
      e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  e.append(...weir.nodes(children));
  return e;
};

// nodes flattens children, nested lists and all, into DOM nodes: strings
// become text, null and undefined nothing.
weir.nodes = (children) =>
  children
    .flat(Infinity)
    .filter((c) => c !== undefined && c !== null && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));

// svg builds an SVG element, as el does.
weir.svg = function (tag, attrs, ...children) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    e.setAttribute(k, String(v));
  }
  e.append(...weir.nodes(children));
  return e;
};

weir.param = (name) => new URLSearchParams(location.search).get(name);

// ms formats a duration in milliseconds for people.
weir.ms = function (v) {
  if (v === undefined || v === null) {
    return "–";
  }
  if (v < 1) {
    return Math.round(v * 1000) + " µs";
  }
  if (v < 1000) {
    return (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)) + " ms";
  }
  if (v < 60000) {
    return (v / 1000).toFixed(v < 10000 ? 2 : 1) + " s";
  }
  const m = Math.floor(v / 60000);
  return m + " min " + Math.round((v % 60000) / 1000) + " s";
};

weir.time = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

weir.status = (s) => weir.el("span", { class: "status st-" + s }, s);

weir.json = (v) => weir.el("pre", { class: "json" }, JSON.stringify(v, null, 2));

weir.runLink = (id) => weir.el("a", { href: "run.html?run=" + encodeURIComponent(id) }, id);

weir.lineLink = (id, line, text) =>
  weir.el("a", { href: "line.html?run=" + encodeURIComponent(id) + "&line=" + line }, text || "line " + line);

// table builds a table of rows under a header; each row is a list of
// cells (strings or nodes).
weir.table = function (head, rows, attrs) {
  return weir.el(
    "table",
    attrs,
    weir.el("thead", {}, weir.el("tr", {}, head.map((h) => weir.el("th", {}, h)))),
    weir.el("tbody", {}, rows.map((r) => weir.el("tr", {}, r.map((c) => weir.el("td", {}, c))))),
  );
};

// page replaces the page's main part with children.
weir.page = function (...children) {
  document.getElementById("main").replaceChildren(...weir.nodes(children));
};

weir.fail = function (err) {
  weir.page(weir.el("p", { class: "error", id: "page-error" }, String(err.message || err)));
};

// graph fetches the Graphviz drawing of a flow into container (base is
// the API path of a run, runs/ID, or of a deployed version,
// deployments/FLOW/VERSION), and returns its svg element, whose node boxes
// have the ids node-NAME; or null, with the reason shown, when the flow
// cannot be drawn.
weir.graph = async function (base, container) {
  const res = await fetch("api/" + base + "/graph.svg");
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    container.replaceChildren(weir.el("p", { class: "muted" }, "No graph: " + (body.error || res.statusText)));
    return null;
  }
  const doc = new DOMParser().parseFromString(await res.text(), "image/svg+xml");
  const svg = document.importNode(doc.documentElement, true);
  svg.classList.add("dag");
  container.replaceChildren(svg);
  return svg;
};

// The navigation bar: runs always, deployments inside weir serve.
weir.config = weir.api("config");
document.addEventListener("DOMContentLoaded", async () => {
  const nav = document.getElementById("nav");
  nav.append(weir.el("a", { href: "./" }, "Runs"));
  try {
    const c = await weir.config;
    if (c.deployments || c.pool) {
      nav.append(weir.el("a", { href: "deployments.html" }, "Deployments"));
    }
    nav.append(weir.el("span", { class: "muted", title: "the run record" }, c.record));
  } catch (err) {
    weir.fail(err);
  }
});
