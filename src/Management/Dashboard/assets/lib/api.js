// The node's JSON API as the pages use it. Changes carry the token the operator typed in the header.

const TOKEN_KEY = "megaflow.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? "",
  set: value => (value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY)),
};

/** An answer that was not 2xx: status and the API's own message ({error, code}). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }

  /** The node refused a change for want of a (right) token, or because it is read-only. */
  get refused() {
    return this.status === 401 || this.status === 403;
  }
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: text }; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function getJson(path, signal) {
  return answer(await fetch(path, { headers: { Accept: "application/json" }, signal }));
}

/** A change (cancel, destroy): sends the token when there is one; the node answers 401/403 otherwise. */
export async function post(path, body) {
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  return answer(await fetch(path, { method: "POST", headers, body: JSON.stringify(body ?? {}) }));
}

/** What to tell the operator when a change failed. */
export function refusal(error, what) {
  if (error instanceof ApiError && error.refused)
    return `Refused: ${what} needs the node's management token. ${error.message}. ` +
      "Type the token into the field at the top right (the dashboard is read-only without it).";
  return `${what} failed: ${error.message}`;
}

/**
 * Follows the node's task watch (POST /api/tasks/watch, a server-sent-event stream) for the given ids:
 * onChange gets each change; resolves when the stream ends (all terminal) or the signal aborts.
 */
export async function watchTasks(ids, onChange, signal) {
  const response = await fetch("/api/tasks/watch", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ ids }),
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, null);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event?.name === "change") onChange(event.data);
      if (event?.name === "done") return;
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // keep-alive comment
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return null;
  return { name, data: JSON.parse(data.join("\n")) };
}

export const terminal = new Set(["completed", "failed", "timedout", "cancelled"]);
