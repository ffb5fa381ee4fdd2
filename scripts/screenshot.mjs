// Screenshot of a page that renders after load (the dashboard draws from its API and live feed):
// starts Debian's chromium headless, opens the URL through the DevTools protocol, waits, and
// saves a full-page PNG. Used for the README's pictures of a live node, e.g. the training page of
// a real `megaflow train` run:
//   node --experimental-websocket scripts/screenshot.mjs http://127.0.0.1:8558/dashboard/#/training docs/dashboard/training.png
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";

const [url, out, waitMs = "6000", width = "1280"] = process.argv.slice(2);
if (!url || !out) {
  console.error("usage: node --experimental-websocket scripts/screenshot.mjs URL OUT.png [wait-ms] [width]");
  process.exit(2);
}
const port = 9300 + Math.floor(Math.random() * 600);
const chrome = spawn(process.env.CHROMIUM ?? "/usr/bin/chromium", [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--hide-scrollbars",
  `--remote-debugging-port=${port}`, `--window-size=${width},900`, "about:blank",
], { stdio: "ignore" });
const sleep = ms => new Promise(r => setTimeout(r, ms));

try {
  let target;
  for (let i = 0; i < 50 && !target; i++) {
    try { target = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()).find(t => t.type === "page"); }
    catch { await sleep(200); }
  }
  if (!target) throw new Error("chromium did not open its DevTools port");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  let id = 0;
  const pending = new Map();
  ws.onmessage = e => {
    const m = JSON.parse(e.data);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  };
  const send = (method, params = {}) => new Promise((ok, fail) => {
    const n = ++id;
    pending.set(n, m => (m.error ? fail(new Error(`${method}: ${m.error.message}`)) : ok(m.result)));
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  await send("Page.enable");
  await send("Page.navigate", { url });
  await sleep(Number(waitMs));
  // The whole page, not just the window: measure the document and capture beyond the viewport.
  const { cssContentSize } = await send("Page.getLayoutMetrics");
  await send("Emulation.setDeviceMetricsOverride", { width: Number(width), height: Math.ceil(cssContentSize.height), deviceScaleFactor: 1, mobile: false });
  const { data } = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
  writeFileSync(out, Buffer.from(data, "base64"));
  console.log(`${out}: ${url}`);
  ws.close();
} finally {
  chrome.kill();
}
