// Line charts as inline SVG: axes, a few ticks, one polyline per series. No library.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Up to `count` round tick values covering [min, max]. */
function ticks(min, max, count = 5) {
  if (max === min) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map(m => m * magnitude).find(x => x >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * series: [{ name, points: [[x, y], …] }]; options: { title, xLabel, yMin, yMax, xFormat, yFormat, width, height }.
 * The SVG is an image with a text alternative (title + the last value of each series).
 */
export function lineChart(series, options = {}) {
  const width = options.width ?? 640, height = options.height ?? 220;
  const pad = { left: 48, right: 14, top: 12, bottom: 32 };
  const all = series.flatMap(x => x.points);
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  const xMin = Math.min(...xs), xMax = Math.max(...xs);
  let yMin = options.yMin ?? Math.min(...ys), yMax = options.yMax ?? Math.max(...ys);
  if (yMin === yMax) { yMin -= 1; yMax += 1; }
  const x = v => pad.left + (xMax === xMin ? 0.5 : (v - xMin) / (xMax - xMin)) * (width - pad.left - pad.right);
  const y = v => height - pad.bottom - ((v - yMin) / (yMax - yMin)) * (height - pad.top - pad.bottom);
  const summary = series.map(x => `${x.name}: ${x.points.length ? (options.yFormat ?? String)(x.points.at(-1)[1]) : "none"}`).join(", ");
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${options.title ?? "chart"} (latest ${summary})` });
  svg.append(s("title", {}, options.title ?? "chart"));
  const yFormat = options.yFormat ?? (v => String(v));
  const xFormat = options.xFormat ?? (v => String(v));
  for (const t of ticks(yMin, yMax, 4)) {
    svg.append(s("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }));
    svg.append(s("text", { x: pad.left - 6, y: y(t) + 4, "text-anchor": "end" }, yFormat(t)));
  }
  const xTicks = xMax === xMin ? [xMin] : ticks(xMin, xMax, 5);
  for (const t of xTicks) svg.append(s("text", { x: x(t), y: height - pad.bottom + 16, "text-anchor": "middle" }, xFormat(t)));
  svg.append(s("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: height - pad.bottom }));
  svg.append(s("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom }));
  if (options.xLabel) svg.append(s("text", { x: width - pad.right, y: height - 4, "text-anchor": "end" }, options.xLabel));
  series.forEach((one, i) => {
    if (one.points.length === 0) return;
    const d = one.points.map((p, j) => `${j ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
    svg.append(s("path", { class: `line c${i % 3}`, d, "data-series": one.name }));
    if (one.points.length === 1) svg.append(s("circle", { cx: x(one.points[0][0]), cy: y(one.points[0][1]), r: 3, class: `line c${i % 3}` }));
  });
  return svg;
}

/** The legend under a chart, in the series' colours. */
export function legend(names) {
  const div = document.createElement("div");
  div.className = "legend";
  names.forEach((name, i) => {
    const span = document.createElement("span");
    span.className = `c${i % 3}`;
    span.textContent = `— ${name}`;
    div.append(span);
  });
  return div;
}
