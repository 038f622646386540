// The bbscout chat page: plain DOM, no framework, no build step.
// Repository text (questions, titles, progress arguments, errors) only ever enters the page through
// textContent; the answer's HTML comes from the server, which escapes it (agent/service/render.py).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: localStorage.getItem("bbscout.key") || "", thread: null, busy: false };

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

class ApiError extends Error {
  constructor(problem) { super(problem.detail || problem.title); this.problem = problem; }
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.key}` }, options.headers || {});
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { askForKey("The service did not accept this API key."); }
  if (!response.ok) {
    let problem;
    try { problem = await response.json(); } catch (e) { problem = { title: response.statusText, detail: `HTTP ${response.status}` }; }
    throw new ApiError(problem);
  }
  return response;
}

function askForKey(message) {
  $("key-error").hidden = !message;
  $("key-error").textContent = message || "";
  if (!$("key-dialog").open) $("key-dialog").showModal();
}

async function loadConnections() {
  const { connections } = await (await api("/v1/connections")).json();
  const select = $("connection");
  select.replaceChildren();
  for (const c of connections) {
    const test = c.last_test ? (c.last_test.ok ? " ✓" : " ✗ failed its test") : "";
    const option = el("option", `${c.name} — ${c.workspace}${test}`);
    option.value = c.name;
    option.dataset.detail = c.last_test ? c.last_test.detail : "";
    if (c.default) option.selected = true;
    select.append(option);
  }
  showConnectionStatus();
}

function showConnectionStatus() {
  const option = $("connection").selectedOptions[0];
  const status = $("connection-status");
  const failed = option && option.textContent.includes("failed");
  status.className = "status " + (failed ? "bad" : "ok");
  status.textContent = failed ? option.dataset.detail : "";
}

async function loadThreads() {
  const { threads } = await (await api("/v1/threads")).json();
  const list = $("threads");
  list.replaceChildren();
  for (const t of threads) {
    const item = el("li", t.title);
    item.append(el("small", `${t.connection || ""} · ${t.turns} message${t.turns === 1 ? "" : "s"}`));
    item.dataset.id = t.id;
    item.classList.toggle("active", state.thread && state.thread.id === t.id);
    item.addEventListener("click", () => openThread(t.id));
    list.append(item);
  }
}

function turnNode(question) {
  const turn = el("div", null, "turn");
  turn.append(el("div", question, "question"));
  const progress = el("ul", null, "progress");
  turn.append(progress);
  $("messages").append(turn);
  return { turn, progress };
}

function showAnswer(node, payload) {
  const answer = el("div", null, "answer");
  answer.innerHTML = payload.html; // escaped server-side: the one place (render.answer_html)
  node.turn.append(answer);
  const s = payload.document.stats || {};
  node.turn.append(el("div", `${s.http_requests ?? "?"} Bitbucket requests · ${s.tool_calls ?? "?"} tool calls · ${s.seconds ?? "?"} s · planner ${payload.document.planner}`, "stats"));
  $("messages").scrollTop = $("messages").scrollHeight;
}

async function openThread(id) {
  const thread = await (await api(`/v1/threads/${encodeURIComponent(id)}`)).json();
  state.thread = thread;
  $("connection").value = thread.connection;
  $("messages").replaceChildren();
  for (const m of thread.messages) showAnswer(turnNode(m.question), m);
  await loadThreads();
}

function progressLine(node, event) {
  const list = node.progress;
  if (event.event === "planned") {
    list.append(el("li", `plan: ${event.intent} (${event.steps} call${event.steps === 1 ? "" : "s"})`));
  } else if (event.event === "step_started") {
    const item = el("li", `${event.tool} ${event.args}`, "running");
    item.dataset.step = `${event.tool} ${event.args}`;
    list.append(item);
  } else if (event.event === "step_finished") {
    const key = `${event.tool} ${event.args}`;
    const item = [...list.children].find((li) => li.dataset.step === key && li.classList.contains("running")) || el("li");
    item.className = event.status === "ok" ? "ok" : "warn";
    item.textContent = `${key} · ${Number(event.seconds).toFixed(2)}s · ${event.requests} req · ${event.records} records · ${event.status}`;
    if (!item.parentNode) list.append(item);
  } else if (event.event === "reported") {
    list.append(el("li", `answer written (${event.entities} cited)`, "ok"));
  }
  $("messages").scrollTop = $("messages").scrollHeight;
}

async function* sse(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { name, data: JSON.parse(data) };
    }
  }
}

async function ask(question) {
  if (!state.thread) {
    const created = await (await api("/v1/threads", {
      method: "POST",
      body: JSON.stringify({ title: question.slice(0, 80), connection: $("connection").value || null }),
    })).json();
    state.thread = Object.assign(created, { messages: [] });
    $("messages").replaceChildren();
    await loadThreads();
  }
  const node = turnNode(question);
  try {
    const response = await api(`/v1/threads/${encodeURIComponent(state.thread.id)}/messages`, {
      method: "POST",
      headers: { Accept: "text/event-stream" },
      body: JSON.stringify({ question }),
    });
    for await (const { name, data } of sse(response)) {
      if (name === "document") showAnswer(node, data);
      else if (name === "problem") node.turn.append(el("p", `${data.title}: ${data.detail}`, "error"));
      else progressLine(node, data);
    }
  } catch (error) {
    node.turn.append(el("p", error.message, "error"));
  }
  await loadThreads();
}

function setBusy(busy) {
  state.busy = busy;
  $("send").disabled = busy;
  $("question").disabled = busy;
  document.body.dataset.busy = busy ? "yes" : "no";
}

async function start() {
  try {
    await loadConnections();
    await loadThreads();
  } catch (error) {
    if (!(error instanceof ApiError) || error.problem.status !== 401) $("messages").append(el("p", error.message, "error"));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", async () => {
    state.key = $("key").value.trim();
    localStorage.setItem("bbscout.key", state.key);
    await start();
  });
  $("forget-key").addEventListener("click", () => askForKey(""));
  $("connection").addEventListener("change", () => {
    showConnectionStatus();
    if (state.thread && state.thread.connection !== $("connection").value) {
      state.thread = null;
      $("messages").replaceChildren();
      loadThreads();
    }
  });
  $("new-thread").addEventListener("click", () => {
    state.thread = null;
    $("messages").replaceChildren();
    loadThreads();
    $("question").focus();
  });
  $("ask").addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (!question || state.busy) return;
    $("question").value = "";
    setBusy(true);
    try { await ask(question); } finally { setBusy(false); $("question").focus(); }
  });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("ask").requestSubmit(); }
  });
  if (state.key) start(); else askForKey("");
});
