// Training: per experiment (GET /api/training/experiments, the trainer's ExperimentReport list) the
// reward curve per step, held-out pass@1 / pass@k per evaluation, weight versions, trajectories
// trained / stale / infra-excluded, step timings (rollout, wait, train, sync), status and error.
import { getJson } from "../lib/api.js";
import { h, fill, table, num, fixed, message } from "../lib/dom.js";
import { lineChart, legend } from "../lib/chart.js";

const RECENT_STEPS = 20;

export async function render(main, { live }) {
  const box = h("div", { id: "training" }, h("p", { class: "muted" }, "loading…"));
  main.append(h("h1", {}, "Training"), box);
  const controller = new AbortController();

  // The trainer singleton lives on the oldest Up member with the trainer role. Without one, the page
  // says so from the cluster view and does not ask the training route, whose 503 the browser would
  // log as an error on every refresh. The view is read fresh (one small GET per refresh), not from
  // the live sample, which may not have arrived yet when the page opens.
  async function trainerMember() {
    const view = await getJson("/api/cluster", controller.signal);
    return view?.oldestByRole?.trainer ?? null;
  }

  async function load() {
    if (!(await trainerMember())) {
      fill(box, h("p", { class: "empty", id: "no-trainer" }, "No trainer node: no member of the cluster has the trainer role."));
      return;
    }
    let experiments;
    try {
      experiments = await getJson("/api/training/experiments", controller.signal);
    } catch (e) {
      // The trainer's node just left (or its singleton is moving): the node says so at once (503 no_trainer).
      if (e.status === 503 && e.code === "no_trainer") {
        fill(box, h("p", { class: "empty", id: "no-trainer" }, `No trainer node: ${e.message}`));
        return;
      }
      throw e;
    }
    fill(box, !Array.isArray(experiments) || experiments.length === 0
      ? h("p", { class: "empty", id: "no-experiments" }, "No experiments yet.")
      : experiments.map(experiment));
  }

  const refresh = () => load().catch(e => { if (e.name !== "AbortError") fill(box, message("error", `Could not read the experiments: ${e.message}`)); });
  await refresh();
  // Refreshed on the live feed's cadence (every fifth sample), not by a polling loop of its own.
  let samples = 0;
  const onSample = () => { if (++samples % 5 === 0) refresh(); };
  live.addEventListener("sample", onSample);
  return () => { live.removeEventListener("sample", onSample); controller.abort(); };
}

const versions = s => (s.sampledVersionMin === s.sampledVersionMax ? `v${s.sampledVersionMin}` : `v${s.sampledVersionMin}–${s.sampledVersionMax}`);

function experiment(x) {
  const steps = x.steps ?? [];
  const evaluations = x.evaluations ?? [];
  const spec = x.spec ?? {};
  const sum = key => steps.reduce((a, s) => a + (Number(s[key]) || 0), 0);
  const mean = key => (steps.length ? sum(key) / steps.length : null);
  const last = steps.at(-1);
  // x is "steps trained": step n's rollouts (sampled before it trained) at n + 1, an evaluation after n steps at n.
  const series = [
    { name: "mean reward", points: steps.map(s => [s.step + 1, s.meanReward]) },
    { name: "pass@1 (rollouts)", points: steps.map(s => [s.step + 1, s.pass1]) },
    { name: "held-out pass@1", points: evaluations.map(e => [e.afterStep, e.pass1]) },
  ].filter(s => s.points.length > 0);
  const yMax = Math.max(1, ...series.flatMap(s => s.points.map(p => p[1])));
  const curve = steps.length === 0 ? h("p", { class: "empty" }, "No training steps yet.") : [
    lineChart(series, { title: `Reward curve of ${x.id}`, xLabel: "steps trained", yMin: 0, yMax, yFormat: v => v.toFixed(2) }),
    legend(series.map(s => s.name)),
  ];
  const progress = `${num(steps.length)} of ${num(spec.steps)}`;
  return h("section", { class: "panel experiment", "aria-label": `Experiment ${x.id}`, dataset: { experiment: x.id } },
    h("h2", {}, `${x.id} `, h("span", { class: `badge s-${x.status}` }, x.status ?? ""),
      x.intakePaused ? h("span", { class: "badge s-paused", title: "the trainer takes no trajectories until resumed" }, "intake paused") : null),
    x.error ? message("error", `Failed: ${x.error}`) : null,
    h("div", { class: "grid" },
      h("div", {}, curve),
      h("dl", { class: "kv" },
        h("dt", {}, "Dataset"), h("dd", {}, spec.dataset ?? ""),
        h("dt", {}, "Steps"), h("dd", { class: "steps-done" }, progress),
        h("dt", {}, "Weights"), h("dd", { class: "weights" }, `v${x.version}`, x.startVersion !== x.version ? ` (from v${x.startVersion})` : ""),
        h("dt", {}, "Latest mean reward"), h("dd", {}, last ? fixed(last.meanReward, 3) : "—"),
        h("dt", {}, "Trajectories trained"), h("dd", { class: "trained" }, num(sum("trained"))),
        h("dt", {}, "Stale (dropped)"), h("dd", { class: "stale" }, num(sum("stale"))),
        h("dt", {}, "Infra-excluded"), h("dd", { class: "infra" }, num(sum("infraExcluded"))),
        h("dt", {}, "Pending"), h("dd", {}, num(x.pendingTrajectories)),
        h("dt", {}, "Tokens"), h("dd", {}, num(sum("tokens"))),
        h("dt", {}, "Mean step time"), h("dd", { class: "timings" }, steps.length
          ? `rollout ${fixed(mean("rolloutSeconds"), 1)} s · wait ${fixed(mean("waitSeconds"), 1)} s · train ${fixed(mean("trainSeconds"), 1)} s · sync ${fixed(mean("syncSeconds"), 2)} s`
          : "—"))),
    h("h2", {}, "Held-out evaluations"),
    evaluations.length === 0 ? h("p", { class: "empty" }, "No evaluations yet.") :
      table(null, [{ label: "After step", num: true }, { label: "Weights", num: true }, { label: "Problems", num: true }, { label: "Samples", num: true },
        { label: "pass@1", num: true }, { label: "pass@k", num: true }, { label: "k", num: true }, { label: "Infra-excluded", num: true }],
        evaluations.map(e => [num(e.afterStep), `v${e.version}`, num(e.problems), num(e.samples), fixed(e.pass1, 3), fixed(e.passK, 3), num(e.k), num(e.infraExcluded)])),
    steps.length === 0 ? null : h("h2", {}, `Steps (latest ${Math.min(RECENT_STEPS, steps.length)})`),
    steps.length === 0 ? null :
      table(null, [{ label: "Step", num: true }, { label: "Sampled with", num: true }, { label: "→ weights", num: true }, { label: "Mean reward", num: true },
        { label: "pass@1", num: true }, { label: "Tokens", num: true }, { label: "Trained", num: true }, { label: "Stale", num: true },
        { label: "Infra-excluded", num: true }, { label: "Rollout s", num: true }, { label: "Wait s", num: true }, { label: "Train s", num: true }, { label: "Sync s", num: true }],
        steps.slice(-RECENT_STEPS).reverse().map(s => [num(s.step), versions(s), `v${s.version}`, fixed(s.meanReward, 3), fixed(s.pass1, 3), num(s.tokens),
          num(s.trained), num(s.stale), num(s.infraExcluded), fixed(s.rolloutSeconds, 1), fixed(s.waitSeconds, 1), fixed(s.trainSeconds, 1), fixed(s.syncSeconds, 2)])));
}
