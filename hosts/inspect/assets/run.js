// The page of a batch (run.html?run=ID): its progress, live while it runs
// (server-sent events), the latency histogram of its lines, the per-node
// table and aggregate metrics once it finished, its failed lines with
// their errors, and a link to each line.
"use strict";

(function () {
  const { el } = weir;
  const id = weir.param("run");

  // counts shows a run's progress; the events update it in place.
  function counts(r) {
    return el(
      "div",
      { class: "counts", id: "counts" },
      el("div", {}, el("b", { id: "done" }, String(r.succeeded + r.failed)), " lines done"),
      el("div", {}, el("b", { id: "succeeded", class: "good" }, String(r.succeeded)), " succeeded"),
      el("div", {}, el("b", { id: "failed", class: r.failed ? "bad" : "" }, String(r.failed)), " failed"),
      r.carried ? el("div", {}, el("b", {}, String(r.carried)), " carried from earlier runs") : null,
      el("div", {}, el("b", { id: "elapsed" }, weir.ms(r.duration_ms)), " elapsed"),
      el("div", {}, weir.el("span", { id: "run-status" }, weir.status(r.status))),
    );
  }

  // histogram draws the latency bars as SVG.
  function histogram(bars) {
    if (!bars.length) {
      return el("p", { class: "muted" }, "No line yet.");
    }
    const w = 600, h = 110, pad = 30;
    const most = Math.max(...bars.map((b) => b.count), 1);
    const bw = (w - pad) / bars.length;
    const svg = weir.svg("svg", { viewBox: `0 0 ${w} ${h + 30}`, class: "histogram", id: "histogram" });
    bars.forEach((b, i) => {
      const bh = (b.count / most) * h;
      const rect = weir.svg("rect", { x: pad + i * bw + 1, y: h - bh, width: Math.max(bw - 2, 1), height: bh, class: "bar" });
      rect.append(weir.svg("title", {}, `≤ ${weir.ms(b.le_ms)}: ${b.count} lines`));
      svg.append(rect);
    });
    svg.append(weir.svg("text", { x: pad, y: h + 18, class: "axis" }, "0"));
    svg.append(weir.svg("text", { x: w, y: h + 18, class: "axis", "text-anchor": "end" }, weir.ms(bars[bars.length - 1].le_ms)));
    svg.append(weir.svg("text", { x: pad - 4, y: 12, class: "axis", "text-anchor": "end" }, String(most)));
    return svg;
  }

  function nodeTable(nodes) {
    const rows = nodes.map((n) => [
      n.node,
      String(n.runs),
      n.failed ? el("span", { class: "bad" }, String(n.failed)) : "0",
      String(n.bypassed),
      String(n.canceled),
      String(n.cached || 0),
      weir.ms(n.latency_ms.p50),
      weir.ms(n.latency_ms.p95),
      weir.ms(n.latency_ms.p99),
      weir.ms(n.latency_ms.max),
    ]);
    return weir.table(["node", "runs", "failed", "bypassed", "canceled", "cached", "p50", "p95", "p99", "max"], rows, { id: "nodes" });
  }

  function metricsPart(m) {
    if (!m) {
      return el("p", { class: "muted" }, "Metrics come when the run ends.");
    }
    const lat = m.latency_ms;
    return [
      el(
        "div",
        { class: "counts" },
        el("div", {}, el("b", {}, (m.lines_per_second || 0).toFixed(1)), " lines/s"),
        el("div", {}, el("b", {}, weir.ms(lat.p50)), " p50"),
        el("div", {}, el("b", {}, weir.ms(lat.p95)), " p95"),
        el("div", {}, el("b", {}, weir.ms(lat.p99)), " p99"),
        el("div", {}, el("b", {}, weir.ms(lat.max)), " max"),
      ),
      el("h2", {}, "Nodes"),
      nodeTable(m.nodes || []),
      m.metrics || m.aggregates
        ? [el("h2", {}, "Aggregate metrics"), weir.json(m.metrics || m.aggregates)]
        : null,
      m.aggregate_nodes
        ? weir.table(
            ["aggregate node", "tool", "status", "duration", "error"],
            m.aggregate_nodes.map((n) => [n.node, n.tool, weir.status(n.status), weir.ms(n.duration_ms), n.error || ""]),
          )
        : null,
    ];
  }

  function render(data) {
    const r = data.run;
    const failed = data.failed_lines.map((l) => [weir.lineLink(r.id, l.line), l.error_kind || "", el("code", {}, l.error || "")]);
    const lines = data.lines.map((l) => [weir.lineLink(r.id, l.line), weir.status(l.status), weir.ms(l.duration_ms)]);
    weir.page(
      el("h1", {}, "Batch ", el("code", {}, r.id)),
      el(
        "p",
        { class: "meta" },
        "flow ", el("a", { href: "flow.html?run=" + encodeURIComponent(r.id) }, r.flow),
        r.data ? [" · data ", el("code", {}, r.data)] : null,
        " · started ", weir.time(r.created),
        r.resumed_from ? [" · resumes ", weir.runLink(r.resumed_from)] : null,
      ),
      r.error ? el("p", { class: "error" }, r.error) : null,
      counts(r),
      data.lines_error ? el("p", { class: "error" }, data.lines_error) : null,
      el("h2", {}, "Latency of the lines"),
      histogram(data.histogram),
      metricsPart(data.metrics),
      el("h2", {}, "Failed lines"),
      failed.length
        ? weir.table(["line", "kind", "error"], failed, { id: "failed-lines" })
        : el("p", { class: "muted" }, "None."),
      el("h2", {}, "Lines"),
      data.lines_total > data.lines.length
        ? el("p", { class: "muted" }, `The first ${data.lines.length} of ${data.lines_total}.`)
        : null,
      lines.length ? weir.table(["line", "status", "duration"], lines, { id: "lines" }) : el("p", { class: "muted" }, "None yet."),
    );
  }

  // While the run runs, each progress event updates the counts at once,
  // and the rest of the page at most once a second.
  function follow() {
    const events = new EventSource("api/runs/" + encodeURIComponent(id) + "/events");
    let pending = null;
    const reload = () => {
      if (pending) return;
      pending = setTimeout(async () => {
        pending = null;
        try {
          render(await weir.api("runs/" + encodeURIComponent(id)));
        } catch (err) {
          weir.fail(err);
        }
      }, 1000);
    };
    events.addEventListener("progress", (e) => {
      const p = JSON.parse(e.data);
      const set = (eid, v) => {
        const n = document.getElementById(eid);
        if (n) n.textContent = v;
      };
      set("done", String(p.succeeded + p.failed));
      set("succeeded", String(p.succeeded));
      set("failed", String(p.failed));
      set("elapsed", weir.ms(p.duration_ms));
      const st = document.getElementById("run-status");
      if (st) st.replaceChildren(weir.status(p.status));
      reload();
    });
    events.addEventListener("end", async () => {
      events.close();
      clearTimeout(pending);
      pending = null;
      render(await weir.api("runs/" + encodeURIComponent(id)));
    });
    events.addEventListener("error", () => events.close());
  }

  async function load() {
    const data = await weir.api("runs/" + encodeURIComponent(id));
    render(data);
    if (data.run.status === "running" || data.run.status === "queued") {
      follow();
    }
  }

  load().catch(weir.fail);
})();
