// Training: per experiment (GET /api/training/experiments), the reward curve, pass@1 / pass@k of the
// evaluations, weight versions, trajectories trained / stale / infra-excluded and step timings.
import { getJson } from "../lib/api.js";
import { h, fill, table, num, fixed, message } from "../lib/dom.js";
import { lineChart, legend } from "../lib/chart.js";

const RECENT_STEPS = 20;

export async function render(main, { live }) {
  const box = h("div", { id: "training" }, h("p", { class: "muted" }, "loading…"));
  main.append(h("h1", {}, "Training"), box);
  const controller = new AbortController();

  async function load() {
    let experiments;
    try {
      experiments = await getJson("/api/training/experiments", controller.signal);
    } catch (e) {
      // A node without the trainer's routes answers 404: nothing has been trained here yet.
      if (e.status === 404) experiments = [];
      else throw e;
    }
    fill(box, !Array.isArray(experiments) || experiments.length === 0
      ? h("p", { class: "empty", id: "no-experiments" }, "No experiments yet.")
      : experiments.map(experiment));
  }

  const refresh = () => load().catch(e => { if (e.name !== "AbortError") fill(box, message("error", `Could not read the experiments: ${e.message}`)); });
  await refresh();
  let samples = 0;
  const onSample = () => { if (++samples % 5 === 0) refresh(); };
  live.addEventListener("sample", onSample);
  return () => { live.removeEventListener("sample", onSample); controller.abort(); };
}

function experiment(x) {
  const steps = x.steps ?? [];
  const evaluations = x.evaluations ?? [];
  const sum = key => steps.reduce((a, s) => a + (Number(s[key]) || 0), 0);
  const versions = [...new Set(steps.map(s => s.weightVersion).filter(v => v !== undefined && v !== null))];
  const last = steps.at(-1);
  const mean = key => (steps.length ? sum(key) / steps.length : null);
  const curve = steps.length === 0 ? h("p", { class: "empty" }, "No training steps yet.") : [
    lineChart([
      { name: "mean reward", points: steps.map(s => [s.step, s.meanReward]) },
      { name: "pass@1 (training)", points: steps.filter(s => s.pass1 !== undefined && s.pass1 !== null).map(s => [s.step, s.pass1]) },
    ], { title: `Reward curve of ${x.id}`, xLabel: "step", yFormat: v => v.toFixed(2) }),
    legend(["mean reward", "pass@1 (training)"]),
  ];
  return h("section", { class: "panel experiment", "aria-label": `Experiment ${x.id}`, dataset: { experiment: x.id } },
    h("h2", {}, `${x.id} `, h("span", { class: `badge s-${x.status}` }, x.status ?? "")),
    h("div", { class: "grid" },
      h("div", {}, curve),
      h("dl", { class: "kv" },
        h("dt", {}, "Steps"), h("dd", {}, num(steps.length)),
        h("dt", {}, "Weight versions"), h("dd", {}, versions.length ? `${num(versions.length)} (latest ${versions.at(-1)})` : "—"),
        h("dt", {}, "Latest mean reward"), h("dd", {}, last ? fixed(last.meanReward, 3) : "—"),
        h("dt", {}, "Trajectories trained"), h("dd", {}, num(sum("trained"))),
        h("dt", {}, "Stale (dropped)"), h("dd", {}, num(sum("stale"))),
        h("dt", {}, "Infra-excluded"), h("dd", {}, num(sum("infraExcluded"))),
        h("dt", {}, "Tokens"), h("dd", {}, num(sum("tokens"))),
        h("dt", {}, "Mean rollout / train"), h("dd", {}, steps.length ? `${fixed(mean("rolloutSeconds"), 1)} s / ${fixed(mean("trainSeconds"), 1)} s` : "—"))),
    h("h2", {}, "Evaluations"),
    evaluations.length === 0 ? h("p", { class: "empty" }, "No evaluations yet.") :
      table(null, [{ label: "Step", num: true }, { label: "pass@1", num: true }, { label: "pass@k", num: true }, { label: "k", num: true }],
        evaluations.map(e => [num(e.step), fixed(e.pass1, 3), fixed(e.passK, 3), num(e.k)])),
    h("h2", {}, `Steps (latest ${Math.min(RECENT_STEPS, steps.length)})`),
    steps.length === 0 ? null :
      table(null, [{ label: "Step", num: true }, { label: "Weight version", num: true }, { label: "Mean reward", num: true }, { label: "pass@1", num: true },
        { label: "Tokens", num: true }, { label: "Trained", num: true }, { label: "Stale", num: true }, { label: "Infra-excluded", num: true },
        { label: "Rollout s", num: true }, { label: "Train s", num: true }],
        steps.slice(-RECENT_STEPS).reverse().map(s => [num(s.step), s.weightVersion ?? "", fixed(s.meanReward, 3), fixed(s.pass1, 3), num(s.tokens),
          num(s.trained), num(s.stale), num(s.infraExcluded), fixed(s.rolloutSeconds, 1), fixed(s.trainSeconds, 1)])));
}
