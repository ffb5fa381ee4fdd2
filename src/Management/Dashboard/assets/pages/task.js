// One task: its state (GET /api/tasks/{id}) with attempts, steps, model calls, score and failure;
// refreshed when the task watch reports a change, and a cancel that needs the token.
import { getJson, post, refusal, watchTasks, terminal } from "../lib/api.js";
import { h, fill, table, badge, num, fixed, dateTime, message } from "../lib/dom.js";

const EXCERPT = 600;

export async function render(main, { id }) {
  const controller = new AbortController();
  const notice = h("div", { id: "task-notice", "aria-live": "polite" });
  const body = h("div", {});
  main.append(h("p", {}, h("a", { href: "#/tasks" }, "‹ all tasks")), h("h1", {}, "Task ", h("code", {}, id)), notice, body);

  let current = null;
  async function load() {
    current = await getJson(`/api/tasks/${encodeURIComponent(id)}`, controller.signal);
    fill(body, view(current));
  }

  function view(t) {
    const spec = t.spec ?? {};
    const cancel = h("button", { type: "button", class: "danger", id: "cancel-task", disabled: terminal.has(t.status), onclick: onCancel }, "Cancel task");
    const facts = [
      ["Status", h("span", { id: "task-status" }, badge(t.status))],
      ["Attempt", num(t.attempt)],
      ["Failure", t.failureKind ? `${t.failureKind}: ${t.failureReason ?? ""}` : t.timedOutPhase ? `timed out in ${t.timedOutPhase}` : "—"],
      ["Score", t.score ? `reward ${fixed(t.score.reward)} (exit code ${t.score.exitCode})` : "—"],
      ["Image / pool", `${spec.image ?? ""}${spec.pool ? " / " + spec.pool : ""}${spec.mode ? ` (${spec.mode})` : ""}`],
      ["Agent", spec.agent?.kind ?? "scripted"],
      ["Node", t.lease?.node ?? "—"],
      ["Submitted", dateTime(t.submittedAt)],
      ["Admitted", dateTime(t.admittedAt)],
      ["Finished", dateTime(t.finishedAt)],
    ];
    if (t.modelUsage) facts.push(["Model calls", `${num(t.modelUsage.calls)} calls, ${num(t.modelUsage.promptTokens)} tokens in, ${num(t.modelUsage.completionTokens)} out, weight versions ${(t.modelUsage.weightVersions ?? []).join(", ") || "not reported"}`]);
    return [
      h("div", { class: "panel" }, h("dl", { class: "kv" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
        h("p", {}, cancel, " ", h("span", { class: "muted" }, "needs the node's token"))),
      t.score?.output ? [h("h2", {}, "Score output"), h("pre", {}, excerpt(t.score.output))] : null,
      h("h2", {}, "Attempts"),
      h("div", { id: "task-attempts" }, attempts(t)),
      h("h2", {}, `Steps of attempt ${t.attempt}`),
      steps(t),
      h("h2", {}, "Model calls"),
      modelCalls(t),
    ];
  }

  function attempts(t) {
    const rows = (t.history ?? []).map(a => [num(a.attempt), a.outcome, a.reason ?? "", num(a.steps), a.lease?.node ?? "", dateTime(a.admittedAt), dateTime(a.endedAt)]);
    // A finished task's history already holds its last attempt; a running one's does not yet.
    if (!(t.history ?? []).some(a => a.attempt === t.attempt))
      rows.push([num(t.attempt), h("span", {}, badge(t.status), " (current)"), t.failureReason ?? "", num(t.steps?.length ?? 0), t.lease?.node ?? "", dateTime(t.admittedAt), dateTime(t.finishedAt)]);
    return table(null, [{ label: "Attempt", num: true }, "Outcome", "Reason", { label: "Steps", num: true }, "Node", "Admitted", "Ended"], rows);
  }

  function steps(t) {
    if (!t.steps?.length) return h("p", { class: "empty" }, "No steps yet.");
    return h("div", { id: "task-steps" }, table(null,
      [{ label: "Round", num: true }, "Command", { label: "Exit", num: true }, { label: "ms", num: true }, "Output (excerpt)", "Full output"],
      t.steps.map(s => [
        num(s.round),
        h("code", {}, s.command),
        { value: s.timedOut ? "timed out" : String(s.exitCode), class: s.exitCode === 0 ? "s-completed" : "s-failed" },
        fixed(s.durationMs, 0),
        h("pre", {}, excerpt(s.output) || "(no output)"),
        s.artifactPath ? h("a", { href: `/api/tasks/${encodeURIComponent(t.taskId)}/artifact?location=${encodeURIComponent(s.artifactPath)}`, target: "_blank", rel: "noopener" }, "artifact") : "",
      ])));
  }

  function modelCalls(t) {
    if (!t.modelCalls?.length) return h("p", { class: "empty" }, "No model calls (a scripted agent calls no model).");
    return table(null,
      [{ label: "Round", num: true }, "Model", "Route", { label: "Weight version", num: true }, { label: "Tokens in", num: true }, { label: "Tokens out", num: true }, { label: "Latency ms", num: true }, { label: "Status", num: true }, "Error"],
      t.modelCalls.map(m => [num(m.round), m.model, m.route, m.weightVersion ?? "—", num(m.promptTokens), num(m.completionTokens), fixed(m.latencyMs, 0), String(m.status), m.error ?? ""]));
  }

  async function onCancel() {
    try {
      const result = await post(`/api/tasks/${encodeURIComponent(id)}/cancel`, { reason: "cancelled from the dashboard" });
      fill(notice, message("ok", result.message));
    } catch (e) {
      fill(notice, message("error", refusal(e, "Cancelling a task")));
    }
  }

  try {
    await load();
  } catch (e) {
    if (e.name !== "AbortError") fill(body, message("error", e.status === 404 ? `No task '${id}'.` : `Could not read the task: ${e.message}`));
    return () => controller.abort();
  }
  if (!terminal.has(current.status)) {
    // Every status change re-reads the task: its steps and score arrive with the transitions.
    watchTasks([id], () => load().catch(() => {}), controller.signal).catch(e => {
      if (e.name !== "AbortError") fill(notice, message("error", `Live updates stopped: ${e.message}`));
    });
  }
  return () => controller.abort();
}

function excerpt(text) {
  if (!text) return "";
  return text.length <= EXCERPT ? text : `${text.slice(0, EXCERPT)}… (${num(text.length - EXCERPT)} more characters)`;
}
