// Small DOM helpers: build elements without innerHTML (every value from the API is text, never markup).

/** h("a", {href: "#/x", class: "c"}, "text", child) → element. Attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table with a header row; rows are arrays of cells (a cell is text, a node, or {value, class}). */
export function table(caption, headers, rows, rowAttrs = () => ({})) {
  return h("table", {},
    caption ? h("caption", { class: "muted", style: "text-align:left" }, caption) : null,
    h("thead", {}, h("tr", {}, headers.map(x => h("th", { scope: "col", class: isNumeric(x) ? "num" : null }, label(x))))),
    h("tbody", {}, rows.map((cells, i) => h("tr", rowAttrs(i), cells.map((c, j) => cell(c, headers[j]))))));
}

const label = x => (typeof x === "object" ? x.label : x);
const isNumeric = x => typeof x === "object" && x.num;

function cell(c, header) {
  const cls = isNumeric(header) ? "num" : null;
  if (c && typeof c === "object" && !(c instanceof Node) && "value" in c)
    return h("td", { class: [cls, c.class].filter(Boolean).join(" ") || null, dataset: c.dataset }, c.value);
  return h("td", { class: cls }, c);
}

export const badge = status => h("span", { class: `badge s-${status}` }, status);

export const num = n => (n === undefined || n === null ? "" : Number(n).toLocaleString("en-US"));

export function fixed(n, digits = 2) {
  return n === undefined || n === null || Number.isNaN(Number(n)) ? "" : Number(n).toFixed(digits);
}

export function time(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString("en-GB", { hour12: false });
}

export function dateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** "3 s", "4 min", "2 h 5 min" since an instant. */
export function age(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function message(kind, text) {
  return h("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
