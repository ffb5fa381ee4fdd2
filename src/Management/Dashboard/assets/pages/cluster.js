// Cluster: members, leader and oldest per role (from the live sample, first from /api/cluster),
// and each sharded type's regions with their shard and entity counts (/api/sharding/{type}/stats).
import { getJson } from "../lib/api.js";
import { h, fill, table, badge, num, message } from "../lib/dom.js";

export async function render(main, { live }) {
  const membersBox = h("div", { id: "cluster-members" }, h("p", { class: "muted" }, "loading…"));
  const rolesBox = h("div", { id: "cluster-roles" });
  const shardingBox = h("div", { id: "cluster-sharding" }, h("p", { class: "muted" }, "loading…"));
  main.append(h("h1", {}, "Cluster"), membersBox, h("h2", {}, "Roles"), rolesBox, h("h2", {}, "Sharding"), shardingBox);
  const controller = new AbortController();

  function show(view) {
    fill(membersBox,
      h("p", { class: "muted" }, `Seen from ${view.self} (${view.selfStatus}); leader ${view.leader ?? "none"}.`),
      table(null, ["Address", "Status", "Roles", "Reachable", "Leader", "This node"],
        view.members.map(m => [
          h("code", {}, m.address),
          badge(m.status),
          m.roles.join(", "),
          m.reachable ? "yes" : { value: `no (seen by ${m.unreachableFrom.join(", ") || "?"})`, class: "s-unreachable" },
          m.isLeader ? "leader" : "",
          m.isSelf ? "this node" : "",
        ])));
    const roles = Object.keys({ ...view.roleLeaders, ...view.oldestByRole }).sort();
    fill(rolesBox, roles.length === 0 ? h("p", { class: "empty" }, "No roles.") :
      table(null, ["Role", "Leader", "Oldest (hosts the role's singletons)"],
        roles.map(r => [r, h("code", {}, view.roleLeaders[r] ?? "—"), h("code", {}, view.oldestByRole[r] ?? "—")])));
  }

  async function sharding() {
    const { types } = await getJson("/api/sharding", controller.signal);
    const stats = await Promise.all(types.map(t => getJson(`/api/sharding/${encodeURIComponent(t)}/stats`, controller.signal)));
    fill(shardingBox, stats.length === 0 ? h("p", { class: "empty" }, "This node reaches no sharded type.") :
      stats.map(s => h("div", { class: "panel" },
        h("h2", {}, `${s.type}: ${num(s.regions.reduce((a, r) => a + r.shards, 0))} shards, ${num(s.regions.reduce((a, r) => a + r.entities, 0))} entities`),
        table(null, ["Region", { label: "Shards", num: true }, { label: "Entities", num: true }], s.regions.map(r => [h("code", {}, r.address), num(r.shards), num(r.entities)])),
        s.failed.length ? message("error", `No answer from: ${s.failed.join(", ")}`) : null)));
  }

  try {
    show(await getJson("/api/cluster", controller.signal));
  } catch (e) {
    if (e.name !== "AbortError") fill(membersBox, message("error", `Could not read the cluster: ${e.message}`));
  }
  const loadSharding = () => sharding().catch(e => { if (e.name !== "AbortError") fill(shardingBox, message("error", `Could not read sharding: ${e.message}`)); });
  await loadSharding();

  // Membership follows every sample; shard counts (which ask every region) every fifth.
  let samples = 0;
  const onSample = e => {
    if (e.detail.cluster) show(e.detail.cluster);
    if (++samples % 5 === 0) loadSharding();
  };
  live.addEventListener("sample", onSample);
  return () => { live.removeEventListener("sample", onSample); controller.abort(); };
}
