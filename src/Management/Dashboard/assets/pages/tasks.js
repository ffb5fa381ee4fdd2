// Tasks: one page of the node's task list (/api/tasks with status, search and paging done by the
// node, so 100,000 tasks cost one page of rows), kept live by the task watch of the rows on screen.
import { getJson, watchTasks, terminal } from "../lib/api.js";
import { h, fill, table, badge, num, fixed, dateTime, message } from "../lib/dom.js";

const PAGE = 50;
const STATUSES = ["submitted", "queued", "admitted", "provisioning", "running", "scoring", "completed", "failed", "timedout", "cancelled"];

export async function render(main, { query, live }) {
  const status = query.get("status") ?? "";
  const q = query.get("q") ?? "";
  const page = Math.max(1, Number(query.get("page")) || 1);
  const go = changes => {
    const next = new URLSearchParams({ status, q, page: String(page), ...changes });
    for (const [k, v] of [...next]) if (!v || (k === "page" && v === "1")) next.delete(k);
    location.hash = `#/tasks${next.size ? "?" + next : ""}`;
  };

  const chips = h("div", { class: "chips", role: "group", "aria-label": "Tasks by status" });
  const select = h("select", { id: "status-filter", name: "status", onchange: e => go({ status: e.target.value, page: "1" }) },
    h("option", { value: "" }, "all statuses"), STATUSES.map(s => h("option", { value: s, selected: s === status }, s)));
  const search = h("input", { id: "task-search", name: "q", type: "search", value: q, placeholder: "part of a task id", autocomplete: "off" });
  const toolbar = h("form", { class: "toolbar", role: "search", onsubmit: e => { e.preventDefault(); go({ q: search.value.trim(), page: "1" }); } },
    h("div", { class: "field" }, h("label", { for: "status-filter" }, "Status"), select),
    h("div", { class: "field" }, h("label", { for: "task-search" }, "Search by id"), search),
    h("button", { type: "submit" }, "Search"),
    q || status ? h("button", { type: "button", onclick: () => { location.hash = "#/tasks"; } }, "Clear") : null);
  const summary = h("p", { id: "tasks-summary", class: "muted", "aria-live": "polite" }, "loading…");
  const holder = h("div", { id: "tasks-table" });
  const pager = h("div", { class: "pager" });
  main.append(h("h1", {}, "Tasks"), chips, toolbar, summary, holder, pager);

  const controller = new AbortController();
  let watching = null;
  let shownTotal = null;

  function renderChips(counts, total) {
    fill(chips,
      h("button", { type: "button", "aria-pressed": String(!status), onclick: () => go({ status: "", page: "1" }) }, `all ${num(total)}`),
      STATUSES.filter(s => counts[s]).map(s =>
        h("button", { type: "button", "aria-pressed": String(s === status), onclick: () => go({ status: s, page: "1" }) }, `${s} ${num(counts[s])}`)));
  }

  function row(t) {
    return [
      { value: h("a", { href: `#/tasks/${encodeURIComponent(t.taskId)}` }, t.taskId) },
      { value: badge(t.status), dataset: { field: "status" } },
      { value: num(t.attempt), dataset: { field: "attempt" } },
      t.pool ?? "",
      { value: t.node ?? "", dataset: { field: "node" } },
      dateTime(t.submittedAt),
      { value: dateTime(t.updatedAt), dataset: { field: "updated" } },
      fixed(t.reward),
      t.failureKind ?? "",
    ];
  }

  async function load() {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String((page - 1) * PAGE), newest: "true" });
    if (status) params.set("status", status);
    if (q) params.set("q", q);
    const list = await getJson(`/api/tasks?${params}`, controller.signal);
    shownTotal = list.total;
    renderChips(list.counts, list.total);
    const first = list.matching === 0 ? 0 : (page - 1) * PAGE + 1;
    const last = (page - 1) * PAGE + list.tasks.length;
    summary.textContent = `${list.matching === 0 ? "No tasks" : `Tasks ${num(first)}–${num(last)} of ${num(list.matching)}`}` +
      `${status ? ` with status ${status}` : ""}${q ? ` matching “${q}”` : ""} (${num(list.total)} in all)` +
      `${list.complete ? "" : "; the node is still reading the journal"}`;
    fill(holder, list.tasks.length === 0 ? h("p", { class: "empty" }, "No task matches.") :
      table(null, ["Task", "Status", { label: "Attempt", num: true }, "Pool", "Node", "Submitted", "Updated", { label: "Reward", num: true }, "Failure"],
        list.tasks.map(row), i => ({ dataset: { taskId: list.tasks[i].taskId } })));
    fill(pager,
      h("button", { type: "button", disabled: page <= 1, onclick: () => go({ page: String(page - 1) }) }, "‹ Previous"),
      h("span", { class: "muted" }, `page ${num(page)} of ${num(Math.max(1, Math.ceil(list.matching / PAGE)))}`),
      h("button", { type: "button", disabled: last >= list.matching, onclick: () => go({ page: String(page + 1) }) }, "Next ›"));
    watch(list.tasks.filter(t => !terminal.has(t.status)).map(t => t.taskId));
  }

  // The rows on screen that can still change, followed through the node's task watch (one stream).
  function watch(ids) {
    watching?.abort();
    watching = null;
    if (ids.length === 0) return;
    const mine = new AbortController();
    watching = mine;
    controller.signal.addEventListener("abort", () => mine.abort());
    watchTasks(ids, change => {
      const tr = holder.querySelector(`tr[data-task-id="${CSS.escape(change.taskId)}"]`);
      if (!tr) return;
      const set = (field, value) => fill(tr.querySelector(`[data-field="${field}"]`), value);
      set("status", badge(change.status));
      set("attempt", num(change.attempt));
      set("node", change.node ?? "");
      set("updated", dateTime(change.at));
      tr.classList.remove("flash");
      void tr.offsetWidth; // restart the highlight
      tr.classList.add("flash");
    }, mine.signal).catch(e => {
      if (e.name !== "AbortError") summary.textContent += ` (live updates stopped: ${e.message})`;
    });
  }

  // New tasks or finished ones change the counts: the chips follow every sample; the first page of
  // the newest tasks also shows the new rows.
  let reloading = false;
  const onSample = async e => {
    const tasks = e.detail.tasks;
    if (!tasks || shownTotal === null) return;
    renderChips(tasks.counts, tasks.total);
    if (tasks.total !== shownTotal && page === 1 && !q && !reloading) {
      reloading = true;
      try { await load(); } catch { /* the next sample tries again */ } finally { reloading = false; }
    }
  };
  live.addEventListener("sample", onSample);

  try {
    await load();
  } catch (e) {
    if (e.name !== "AbortError") fill(holder, message("error", `Could not list tasks: ${e.message}`));
  }
  return () => {
    live.removeEventListener("sample", onSample);
    controller.abort();
  };
}
