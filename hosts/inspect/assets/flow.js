// The page of a flow: the flow a run ran, from its snapshot
// (flow.html?run=ID), or a version weir serve has deployed
// (flow.html?flow=NAME&version=V): its graph, inputs, outputs, sub-flows,
// conditions, and each node's tool with its contract.
"use strict";

(function () {
  const { el } = weir;
  const id = weir.param("run");
  const deployed = weir.param("flow");
  const version = weir.param("version");
  const base = deployed
    ? `deployments/${encodeURIComponent(deployed)}/${encodeURIComponent(version)}`
    : `runs/${encodeURIComponent(id)}`;

  const types = (t) => (t && t.length ? t.join(" | ") : "any");

  async function load() {
    const f = await weir.api(base + "/flow");
    const graph = el("div", { class: "graph", id: "graph" });
    const nodes = f.nodes.map((n) =>
      el(
        "section",
        { class: "node-card", id: "card-" + n.name },
        el("h3", {}, el("code", {}, n.name), " ", el("span", { class: "muted" }, n.tool + " (" + n.kind + ")")),
        el(
          "p",
          { class: "meta" },
          n.deps ? ["after ", n.deps.join(", ")] : "first",
          n.inputs ? [" · reads inputs ", n.inputs.join(", ")] : null,
          n.conditional ? " · runs only when its condition holds (when)" : null,
          n.aggregate ? " · aggregate: once per batch" : null,
        ),
        n.contract.description ? el("p", {}, n.contract.description) : null,
        el("div", { class: "columns" },
          el("div", {}, el("h4", {}, "Contract inputs"), weir.json(n.contract.inputs)),
          el("div", {}, el("h4", {}, "Contract outputs"), weir.json(n.contract.outputs))),
      ),
    );
    weir.page(
      el("h1", {}, "Flow ", el("code", {}, f.name)),
      el("p", { class: "meta" },
        deployed ? ["version ", el("code", {}, version), " as ", el("a", { href: "deployments.html" }, "deployed")] : ["as run by ", weir.runLink(id)],
        " · ", el("code", {}, f.file)),
      f.description ? el("p", {}, f.description) : null,
      graph,
      el("div", { class: "columns" },
        el("div", {}, el("h2", {}, "Inputs"),
          weir.table(["input", "type", "required"], f.inputs.map((i) => [i.name, types(i.types), i.required ? "yes" : "no"]), { id: "inputs" })),
        el("div", {}, el("h2", {}, "Outputs"),
          weir.table(["output", "type", "from"], f.outputs.map((o) => [o.name, types(o.types), (o.nodes || []).concat((o.inputs || []).map((i) => "inputs." + i)).join(", ")]), { id: "outputs" }))),
      f.subflows.length ? [el("h2", {}, "Sub-flows"), weir.table(["node", "file"], f.subflows.map((s) => [s.node, s.file]))] : null,
      el("h2", {}, "Nodes and their tools' contracts"),
      nodes,
    );
    const svg = await weir.graph(base, graph);
    for (const n of f.nodes) {
      const box = svg && svg.getElementById("node-" + n.name);
      if (box) {
        box.addEventListener("click", () => document.getElementById("card-" + n.name).scrollIntoView({ behavior: "smooth" }));
      }
    }
  }

  load().catch(weir.fail);
})();
