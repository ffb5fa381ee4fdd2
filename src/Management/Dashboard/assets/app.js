// The dashboard's shell: a hash router over the pages, the node's live stream, the token field.
import { token } from "./lib/api.js";
import { fill, message } from "./lib/dom.js";

const pages = {
  cluster: () => import("./pages/cluster.js"),
  scheduler: () => import("./pages/scheduler.js"),
  tasks: () => import("./pages/tasks.js"),
  task: () => import("./pages/task.js"),
  environments: () => import("./pages/environments.js"),
  training: () => import("./pages/training.js"),
};

/**
 * The live stream (/api/dashboard/live): one EventSource for the whole app. Pages listen for
 * "sample" (cluster, scheduler, task counts every few seconds); `history` is the queue depth so far.
 */
export const live = Object.assign(new EventTarget(), { latest: null, history: [] });

function connectLive() {
  const state = document.getElementById("live-state");
  const source = new EventSource("/api/dashboard/live");
  source.addEventListener("open", () => { state.textContent = "live"; state.className = "live on"; });
  source.addEventListener("error", () => { state.textContent = "reconnecting…"; state.className = "live off"; });
  source.addEventListener("history", e => {
    live.history = JSON.parse(e.data);
    live.dispatchEvent(new CustomEvent("history"));
  });
  source.addEventListener("sample", e => {
    const sample = JSON.parse(e.data);
    live.latest = sample;
    if (sample.point) {
      live.history.push(sample.point);
      if (live.history.length > 1800) live.history.shift();
    }
    live.dispatchEvent(new CustomEvent("sample", { detail: sample }));
  });
}

/** "#/tasks/abc?x=1" → { page: "task", id: "abc", query: URLSearchParams }. */
function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, search] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search ?? "");
  if (parts[0] === "tasks" && parts.length > 1) return { page: "task", nav: "tasks", id: parts.slice(1).join("/"), query };
  const page = pages[parts[0]] ? parts[0] : "cluster";
  return { page, nav: page, query };
}

let cleanup = null;
let renderCount = 0;

async function render() {
  const r = route();
  const main = document.getElementById("main");
  for (const a of document.querySelectorAll(".top nav a")) {
    if (a.dataset.page === r.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (cleanup) { try { cleanup(); } catch { /* a page's cleanup must not stop the next page */ } }
  cleanup = null;
  const mine = ++renderCount;
  try {
    const module = await pages[r.page]();
    if (mine !== renderCount) return;
    main.replaceChildren();
    cleanup = (await module.render(main, { ...r, live })) ?? null;
  } catch (e) {
    if (mine === renderCount) fill(main, message("error", `This page could not be shown: ${e.message}`));
  }
}

function setupToken() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  const help = document.getElementById("token-help");
  input.value = token.get();
  const show = () => { help.textContent = token.get() ? "token set for this tab" : "read-only without it"; };
  show();
  form.addEventListener("submit", e => {
    e.preventDefault();
    token.set(input.value.trim());
    show();
  });
}

setupToken();
connectLive();
window.addEventListener("hashchange", () => {
  render();
  document.getElementById("main").focus({ preventScroll: true });
});
render();
