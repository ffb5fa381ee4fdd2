// Environments: the live environments of every region (/api/environments) with status, node, pool,
// lease and age; destroying one needs the token. The list follows the live samples every 5 s.
import { getJson, post, refusal } from "../lib/api.js";
import { h, fill, table, badge, num, age, message } from "../lib/dom.js";

export async function render(main, { live }) {
  const notice = h("div", { id: "environments-notice", "aria-live": "polite" });
  const box = h("div", { id: "environments-table" }, h("p", { class: "muted" }, "loading…"));
  main.append(h("h1", {}, "Environments"), notice, box);
  const controller = new AbortController();

  async function destroy(id) {
    try {
      const result = await post(`/api/environments/${encodeURIComponent(id)}/destroy`);
      fill(notice, message("ok", result.message));
      await load();
    } catch (e) {
      fill(notice, message("error", refusal(e, `Destroying environment ${id}`)));
    }
  }

  async function load() {
    const list = await getJson("/api/environments", controller.signal);
    const now = Date.now();
    fill(box,
      list.environments.length === 0 ? h("p", { class: "empty" }, "No live environments.") :
        table(`${num(list.environments.length)} live environments`,
          ["Environment", "Status", "Node", "Pool", "Mode", "Image", "Leased to", { label: "Leases", num: true }, "Age", "Problem", ""],
          list.environments.map(e => [
            h("code", {}, e.environmentId), badge(e.status), e.node, e.pool ?? "", e.mode ?? "", e.image ?? "",
            e.leasedTo ? h("a", { href: `#/tasks/${encodeURIComponent(e.leasedTo)}` }, e.leasedTo) : "",
            num(e.leases), age(e.readyAt, now), e.problem ?? "",
            h("button", { type: "button", class: "danger", "aria-label": `Destroy ${e.environmentId}`, onclick: () => destroy(e.environmentId) }, "Destroy"),
          ])),
      list.failed.length ? message("error", `Regions that did not answer: ${list.failed.join(", ")}`) : null,
      list.unanswered.length ? message("error", `Environments that did not answer: ${list.unanswered.map(u => `${u.environmentId} (${u.reason})`).join("; ")}`) : null);
  }

  const refresh = () => load().catch(e => { if (e.name !== "AbortError") fill(box, message("error", `Could not list environments: ${e.message}`)); });
  await refresh();
  let samples = 0, busy = false;
  const onSample = async () => {
    if (++samples % 3 !== 0 || busy) return;
    busy = true;
    try { await refresh(); } finally { busy = false; }
  };
  live.addEventListener("sample", onSample);
  return () => { live.removeEventListener("sample", onSample); controller.abort(); };
}
