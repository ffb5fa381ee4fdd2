// Scheduler: queue depth over time, each semaphore's use against its cap, pools and named quotas,
// all from the live samples (the first view from /api/scheduler).
import { getJson } from "../lib/api.js";
import { h, fill, table, num, message, time } from "../lib/dom.js";
import { lineChart, legend } from "../lib/chart.js";

export async function render(main, { live }) {
  const chartBox = h("div", { id: "scheduler-chart", class: "panel" });
  const semBox = h("div", { id: "scheduler-semaphores", class: "panel" });
  const poolsBox = h("div", { id: "scheduler-pools" });
  const quotasBox = h("div", { id: "scheduler-quotas" });
  main.append(h("h1", {}, "Scheduler"), h("h2", {}, "Queue depth"), chartBox, h("h2", {}, "Semaphores"), semBox,
    h("h2", {}, "Pools"), poolsBox, quotasBox);
  const controller = new AbortController();

  function chart() {
    const points = live.history;
    if (points.length < 2) {
      fill(chartBox, h("p", { class: "empty" }, "Collecting samples (one every 2 s)…"));
      return;
    }
    const t0 = new Date(points[0].at).getTime();
    const series = [
      { name: "queued", points: points.map(p => [(new Date(p.at).getTime() - t0) / 1000, p.queued]) },
      { name: "running", points: points.map(p => [(new Date(p.at).getTime() - t0) / 1000, p.running]) },
      { name: "starting", points: points.map(p => [(new Date(p.at).getTime() - t0) / 1000, p.starting]) },
    ];
    fill(chartBox,
      lineChart(series, { title: "Queue depth over time", yMin: 0, xLabel: `seconds since ${time(points[0].at)}`, xFormat: v => v.toFixed(0) }),
      legend(series.map(s => s.name)));
  }

  function show(s) {
    fill(semBox,
      h("p", { class: "muted" }, `${num(s.queueDepth)} queued, ${num(s.running)} running, ${num(s.starting)} starting.`),
      s.semaphores.map(x => {
        const share = x.limit > 0 ? Math.min(1, x.used / x.limit) : 0;
        return h("div", { class: "meter" },
          h("span", {}, x.name),
          h("div", { class: "bar", role: "meter", "aria-label": x.name, "aria-valuemin": 0, "aria-valuemax": x.limit, "aria-valuenow": x.used },
            h("div", { class: `fill${share >= 1 ? " full" : ""}`, style: `width:${(share * 100).toFixed(1)}%` })),
          h("span", { class: "num" }, `${num(x.used)} / ${num(x.limit)}`));
      }));
    fill(poolsBox, s.pools.length === 0 ? h("p", { class: "empty" }, "No pools yet.") :
      table(null, ["Pool", { label: "Queued", num: true }, { label: "Running / cap", num: true }, { label: "Warm (idle / size)", num: true }, { label: "Max size", num: true }],
        s.pools.map(p => [p.pool, num(p.queued), `${num(p.running)} / ${num(p.cap)}`, `${num(p.idle)} / ${num(p.size)}`, num(p.maxSize)])));
    fill(quotasBox, s.quotas ? [h("h2", {}, "Quotas"), quotas(s.quotas)] : null);
  }

  try {
    show(await getJson("/api/scheduler", controller.signal));
  } catch (e) {
    if (e.name !== "AbortError") fill(semBox, message("error", `Could not read the scheduler: ${e.message}`));
  }
  chart();
  const onSample = e => {
    if (e.detail.scheduler) show(e.detail.scheduler);
    else if (e.detail.schedulerError) fill(semBox, message("error", e.detail.schedulerError));
    chart();
  };
  live.addEventListener("sample", onSample);
  live.addEventListener("history", chart);
  return () => {
    live.removeEventListener("sample", onSample);
    live.removeEventListener("history", chart);
    controller.abort();
  };
}

/** Named quotas in whatever shape the scheduler gives them: a list of objects or a name → value map. */
function quotas(value) {
  const rows = Array.isArray(value) ? value : Object.entries(value).map(([name, v]) => (v && typeof v === "object" ? { name, ...v } : { name, value: v }));
  if (rows.length === 0) return h("p", { class: "empty" }, "No named quotas.");
  const columns = [...new Set(rows.flatMap(r => Object.keys(r)))];
  return table(null, columns, rows.map(r => columns.map(c => (r[c] === null || r[c] === undefined ? "" : typeof r[c] === "object" ? JSON.stringify(r[c]) : String(r[c])))));
}
