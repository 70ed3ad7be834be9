// The runs page: every run of the record, newest first, filtered by status,
// kind and flow in the query (?status=failed&flow=hello).
"use strict";

(function () {
  const { el } = weir;
  const statuses = ["", "running", "completed", "failed", "canceled", "queued"];
  const kinds = ["", "batch", "run", "serve"];

  // link goes to a batch's page, or to the one line of a single run.
  const link = (r) => (r.kind === "run" ? weir.lineLink(r.id, 1, r.id) : weir.runLink(r.id));

  function select(name, values, current) {
    const s = el("select", { name: name, id: "filter-" + name });
    for (const v of values) {
      s.append(el("option", { value: v, selected: v === current }, v || "any " + name));
    }
    s.addEventListener("change", () => {
      const q = new URLSearchParams(location.search);
      if (s.value) {
        q.set(name, s.value);
      } else {
        q.delete(name);
      }
      history.replaceState(null, "", "?" + q.toString());
      load();
    });
    return s;
  }

  async function load() {
    const q = new URLSearchParams(location.search);
    const status = q.get("status") || "";
    const kind = q.get("kind") || "";
    const flow = q.get("flow") || "";
    const api = new URLSearchParams();
    if (status) api.set("status", status);
    if (kind) api.set("kind", kind);
    if (flow) api.set("flow", flow);
    const data = await weir.api("runs?" + api.toString());
    const rows = data.runs.map((r) => [
      link(r),
      r.kind,
      r.flow,
      weir.status(r.status),
      String(r.succeeded),
      r.failed ? el("span", { class: "bad" }, String(r.failed)) : "0",
      r.carried ? String(r.carried) : "",
      weir.ms(r.duration_ms),
      weir.time(r.created),
    ]);
    weir.page(
      el("h1", {}, "Runs"),
      el("div", { class: "filters" }, select("status", statuses, status), select("kind", kinds, kind), select("flow", [""].concat(data.flows || []), flow)),
      rows.length
        ? weir.table(["run", "kind", "flow", "status", "succeeded", "failed", "carried", "duration", "started"], rows, { id: "runs" })
        : el("p", { class: "muted" }, "No run in the record matches. weir batch, and weir run --record, add runs."),
    );
  }

  load().catch(weir.fail);
})();
