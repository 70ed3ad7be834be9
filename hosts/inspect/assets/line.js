// The page of one run (line.html?run=ID&line=N): a batch line, a served
// request or a weir run --record. The flow's DAG with each node's status,
// a timeline of the nodes, and, for the node clicked, its inputs, outputs,
// logs and error as the record kept them.
"use strict";

(function () {
  const { el } = weir;
  const id = weir.param("run");
  const line = weir.param("line") || "1";

  // nodeBox is the group of a node in the Graphviz drawing.
  const nodeBox = (svg, name) => svg && svg.getElementById("node-" + name);

  function summary(n) {
    const parts = [n.status];
    if (n.attempts > 1) parts.push(n.attempts + " attempts");
    if (n.duration_ms !== undefined) parts.push(weir.ms(n.duration_ms));
    if (n.cached) parts.push("cache hit");
    return parts.join(" · ");
  }

  // payload shows what the record kept of a node's data, or says it kept none.
  function payload(title, v) {
    return [
      el("h3", {}, title),
      v === undefined
        ? el("p", { class: "muted" }, "Not kept: a batch keeps the values of its failed lines' nodes (weir batch --node-values all keeps every line's).")
        : weir.json(v),
    ];
  }

  // logs lists the lines the node's tool logged, when the record kept
  // them (with its values), each with its time, level and attributes.
  function logs(n) {
    if (!n.logs) {
      return n.inputs === undefined ? null : [el("h3", {}, "Logs"), el("p", { class: "muted" }, "None.")];
    }
    return [
      el("h3", {}, "Logs"),
      el("table", { class: "logs", id: "node-logs" }, ...n.logs.map((l) => el(
        "tr",
        { class: "log-" + l.level.toLowerCase() },
        el("td", { class: "muted" }, new Date(l.time).toISOString().slice(11, 23)),
        el("td", {}, l.level),
        el("td", {}, el("pre", {}, l.message)),
        el("td", { class: "muted" }, Object.entries(l.attrs || {}).map(([k, v]) => k + "=" + v).join(" ")),
      ))),
    ];
  }

  function showNode(n, svg) {
    for (const g of (svg && svg.querySelectorAll(".node.selected")) || []) {
      g.classList.remove("selected");
    }
    const box = nodeBox(svg, n.node);
    if (box) box.classList.add("selected");
    for (const tr of document.querySelectorAll("#node-list tr.selected")) {
      tr.classList.remove("selected");
    }
    const row = document.getElementById("row-" + n.node);
    if (row) row.classList.add("selected");
    document.getElementById("node-detail").replaceChildren(...weir.nodes([
      el("h2", {}, "Node ", el("code", {}, n.node)),
      el(
        "p",
        { class: "meta" },
        weir.status(n.status),
        " tool ", el("code", {}, n.tool),
        " · attempts ", String(n.attempts),
        " · ", weir.ms(n.duration_ms),
        n.start_ms !== undefined ? " · started at +" + weir.ms(n.start_ms) : null,
        n.cached ? " · cache hit" : null,
      ),
      n.error ? el("p", { class: "error", id: "node-error" }, n.error) : null,
      payload("Inputs", n.inputs),
      payload("Outputs", n.outputs),
      logs(n),
      n.usage ? [el("h3", {}, "Usage"), weir.json(n.usage)] : null,
    ]));
  }

  // gantt draws a bar per node from its start to its end, when the record
  // has start times.
  function gantt(nodes, total, svgGraph) {
    const timed = nodes.filter((n) => n.start_ms !== undefined);
    if (!timed.length) {
      return el("p", { class: "muted" }, "No timeline: this record has no start times of nodes (older weir).");
    }
    const end = Math.max(total || 0, ...timed.map((n) => n.start_ms + (n.duration_ms || 0)), 0.001);
    const row = 22, label = 140, w = 760;
    const svg = weir.svg("svg", { viewBox: `0 0 ${w} ${timed.length * row + 24}`, class: "gantt", id: "gantt" });
    const x = (t) => label + (t / end) * (w - label - 10);
    timed.forEach((n, i) => {
      const y = i * row;
      svg.append(weir.svg("text", { x: label - 6, y: y + 15, class: "axis", "text-anchor": "end" }, n.node));
      const bar = weir.svg("rect", {
        x: x(n.start_ms), y: y + 3, height: row - 6,
        width: Math.max(x(n.start_ms + (n.duration_ms || 0)) - x(n.start_ms), 2),
        class: "bar st-" + n.status, id: "bar-" + n.node,
      });
      bar.append(weir.svg("title", {}, `${n.node}: +${weir.ms(n.start_ms)}, ${summary(n)}`));
      bar.addEventListener("click", () => showNode(n, svgGraph));
      svg.append(bar);
    });
    const y = timed.length * row + 16;
    svg.append(weir.svg("text", { x: label, y: y, class: "axis" }, "0"));
    svg.append(weir.svg("text", { x: w - 10, y: y, class: "axis", "text-anchor": "end" }, weir.ms(end)));
    return svg;
  }

  async function load() {
    const [d, config] = await Promise.all([weir.api(`runs/${encodeURIComponent(id)}/lines/${line}`), weir.config]);
    const nodes = d.nodes || [];
    const trace = d.trace_id
      ? [" · trace ", d.trace_url ? el("a", { href: d.trace_url, id: "trace", rel: "noreferrer" }, d.trace_id) : el("code", { id: "trace" }, d.trace_id)]
      : null;
    const graph = el("div", { class: "graph", id: "graph" }, el("p", { class: "muted" }, "Drawing…"));
    const list = weir.table(
      ["node", "tool", "status", "attempts", "duration", "cached"],
      nodes.map((n) => [n.node, n.tool, weir.status(n.status), String(n.attempts), weir.ms(n.duration_ms), n.cached ? "hit" : ""]),
      { id: "node-list", class: "clickable" },
    );
    weir.page(
      el("h1", {}, "Line ", String(d.line), " of ", weir.runLink(d.run.id)),
      el("p", { class: "meta" }, weir.status(d.status), " · ", weir.ms(d.duration_ms), " · flow ",
        el("a", { href: "flow.html?run=" + encodeURIComponent(d.run.id) }, d.run.flow), trace),
      d.error ? el("p", { class: "error", id: "line-error" }, (d.error_kind ? d.error_kind + " error: " : "") + d.error) : null,
      el("div", { class: "columns" },
        el("div", {}, el("h2", {}, "Inputs"), d.inputs !== undefined ? weir.json(d.inputs) : el("p", { class: "muted" }, "Not recorded.")),
        el("div", {}, el("h2", {}, "Outputs"), d.outputs !== undefined ? weir.json(d.outputs) : el("p", { class: "muted" }, "None."))),
      el("h2", {}, "DAG"),
      graph,
      el("h2", {}, "Timeline"),
      el("div", { id: "timeline" }),
      el("h2", {}, "Nodes"),
      nodes.length ? list : el("p", { class: "muted" }, "The record kept no node of this line."),
      el("div", { id: "node-detail", class: "detail" }, el("p", { class: "muted" }, "Click a node to see its inputs, outputs, logs and error.")),
    );
    const svg = config.flows ? await weir.graph("runs/" + encodeURIComponent(id), graph) : null;
    if (!config.flows) {
      graph.replaceChildren(el("p", { class: "muted" }, "No graph: this inspector does not load flows."));
    }
    document.getElementById("timeline").replaceChildren(gantt(nodes, d.duration_ms, svg));
    nodes.forEach((n, i) => {
      const tr = list.tBodies[0].rows[i];
      tr.id = "row-" + n.node;
      tr.addEventListener("click", () => showNode(n, svg));
      const box = nodeBox(svg, n.node);
      if (box) {
        box.classList.add("st-" + n.status);
        if (n.cached) box.classList.add("cached");
        const title = box.querySelector("title");
        if (title) title.textContent = n.node + ": " + summary(n);
        box.addEventListener("click", () => showNode(n, svg));
      }
    });
    const first = nodes.find((n) => n.status === "failed");
    if (first) showNode(first, svg);
  }

  load().catch(weir.fail);
})();
