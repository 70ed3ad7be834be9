// The deployments page, inside weir serve: each flow's versions with their
// share of the traffic, and the work pool the server sends runs to.
"use strict";

(function () {
  const { el } = weir;

  function deployments(ds, c) {
    if (!ds.length) {
      return el("p", { class: "muted" }, "No flow is deployed.");
    }
    return weir.table(
      ["flow", "version", "traffic", "default", "bundle", "deployed"],
      ds.map((d) => [
        d.flow,
        c.deployed_flows
          ? el("a", { href: `flow.html?flow=${encodeURIComponent(d.flow)}&version=${encodeURIComponent(d.version)}` }, d.version)
          : d.version,
        el("span", { class: "split" }, el("span", { class: "split-bar", "data-weight": d.weight }), d.weight + "%"),
        d.default ? "yes" : "",
        d.digest ? el("code", {}, d.digest.slice(0, 19)) : "from a file",
        weir.time(d.created),
      ]),
      { id: "deployments" },
    );
  }

  function pool(p) {
    const now = Date.now();
    return [
      el(
        "div",
        { class: "counts", id: "pool" },
        el("div", {}, el("b", {}, String(p.workers.length)), " workers"),
        el("div", {}, el("b", {}, String(p.queued)), " queued"),
        el("div", {}, el("b", {}, String(p.in_flight)), " in flight"),
        el("div", {}, el("b", {}, String(p.redelivered)), " redelivered"),
        el("div", {}, el("b", { class: p.dead ? "bad" : "" }, String(p.dead)), " dead letters"),
      ),
      p.workers.length
        ? weir.table(
            ["worker", "host", "concurrency", "running", "lines", "runs", "last heartbeat"],
            p.workers.map((w) => [
              w.id, w.host, String(w.concurrency), String(w.running), String(w.lines), String(w.runs),
              Math.round((now - new Date(w.heartbeat)) / 1000) + " s ago" + (w.draining ? " (draining)" : ""),
            ]),
          )
        : el("p", { class: "muted" }, "No worker."),
    ];
  }

  async function load() {
    const c = await weir.config;
    const parts = [el("h1", {}, "Deployments")];
    if (c.deployments) {
      parts.push(deployments((await weir.api("deployments")).deployments, c));
    }
    if (c.pool) {
      const p = await weir.api("pool");
      parts.push(el("h2", {}, "Pool ", el("code", {}, p.name)), pool(p));
    }
    weir.page(parts);
    // The bars' widths, set from script: the policy allows no inline style.
    for (const bar of document.querySelectorAll(".split-bar")) {
      bar.style.width = bar.dataset.weight + "px";
    }
  }

  load().catch(weir.fail);
})();
