// The playground page plays the Telegram app: it relays the shopper's actions to the local Bot API server
// (/play/send, /play/tap) and renders the bot's Bot API calls (/play/events). It decides nothing itself.
"use strict";

const $ = (sel) => document.querySelector(sel);
const chat = $("#chat");
const statusLine = $("#status");
const textInput = $("#text");
const fileInput = $("#file");

// One shopper per browser tab: the chat id lives in this tab's sessionStorage.
let chatId = Number(sessionStorage.getItem("stylist-chat-id"));
const newChat = !chatId;
if (newChat) {
  chatId = 100000 + Math.floor(Math.random() * 2000000000);
  sessionStorage.setItem("stylist-chat-id", String(chatId));
}
document.body.dataset.chatId = String(chatId);

let cursor = 0;
let statusTimer = null;
const pendingTaps = new Map(); // callback query id -> the button that is waiting for its answer

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) setText(node, text);
  return node;
}

// Plain text with http(s) links made clickable, as Telegram shows them; never parsed as HTML.
function setText(node, text) {
  node.textContent = "";
  const parts = String(text).split(/(https?:\/\/[^\s]+)/g);
  parts.forEach((part, i) => {
    if (i % 2 === 0) { node.appendChild(document.createTextNode(part)); return; }
    const a = document.createElement("a");
    a.href = part; a.textContent = part.replace(/^https?:\/\//, ""); a.target = "_blank"; a.rel = "noopener";
    node.appendChild(a);
  });
}

function scrollDown() {
  requestAnimationFrame(() => { chat.scrollTop = chat.scrollHeight; });
}

function addRow(side) {
  const row = el("div", `row ${side}`);
  chat.appendChild(row);
  scrollDown();
  return row;
}

function showToast(text, alert) {
  const toast = $("#toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(showToast.timer);
  showToast.timer = setTimeout(() => { toast.hidden = true; }, alert ? 6000 : 2500);
}

function setStatus(text) {
  statusLine.textContent = text || "bot";
  statusLine.classList.toggle("busy", Boolean(text));
  clearTimeout(statusTimer);
  if (text) statusTimer = setTimeout(() => setStatus(""), 5500); // Telegram shows an action ~5 s
}

// ---- the bot's messages ---------------------------------------------------------------------------

function renderKeyboard(row, messageId, buttons) {
  row.querySelectorAll(".keyboard").forEach((k) => k.remove());
  if (!buttons || !buttons.length) return;
  const keyboard = el("div", "keyboard");
  for (const line of buttons) {
    const krow = el("div", "krow");
    for (const b of line) {
      if (b.url) {
        const button = el("button", "", b.text);
        button.type = "button";
        button.addEventListener("click", () => window.open(b.url, "_blank", "noopener"));
        krow.appendChild(button);
        continue;
      }
      const button = el("button", "", b.text);
      button.type = "button";
      button.dataset.data = b.data;
      button.addEventListener("click", () => tap(messageId, b.data, button));
      krow.appendChild(button);
    }
    keyboard.appendChild(krow);
  }
  row.appendChild(keyboard);
  scrollDown();
}

function photoBubble(url, caption) {
  const bubble = el("div", "bubble media");
  const img = el("img", "photo");
  img.src = url; img.alt = caption || "photo";
  img.addEventListener("load", scrollDown);
  bubble.appendChild(img);
  if (caption) bubble.appendChild(el("div", "caption", caption));
  return bubble;
}

function render(event) {
  switch (event.kind) {
    case "message": {
      setStatus("");
      const row = addRow("theirs");
      row.dataset.messageId = event.id;
      row.appendChild(el("div", "bubble", event.text));
      renderKeyboard(row, event.id, event.buttons);
      break;
    }
    case "photo": {
      setStatus("");
      const row = addRow("theirs");
      row.dataset.messageId = event.id;
      row.appendChild(photoBubble(event.photo, event.caption));
      renderKeyboard(row, event.id, event.buttons);
      break;
    }
    case "album": {
      setStatus("");
      const row = addRow("theirs wide");
      const album = el("div", "album");
      for (const item of event.items) {
        const fig = el("figure");
        fig.dataset.messageId = item.id;
        const img = el("img");
        img.src = item.photo; img.alt = item.caption || "product"; img.loading = "eager";
        img.addEventListener("load", scrollDown);
        fig.appendChild(img);
        if (item.caption) fig.appendChild(el("figcaption", "", item.caption));
        album.appendChild(fig);
      }
      row.appendChild(album);
      break;
    }
    case "edit": {
      const row = chat.querySelector(`.row[data-message-id="${event.id}"]`);
      if (!row) break;
      const bubble = row.querySelector(".bubble");
      if (event.text != null && bubble) setText(bubble, event.text);
      if (event.caption != null && bubble) {
        let caption = bubble.querySelector(".caption");
        if (!caption) { caption = el("div", "caption"); bubble.appendChild(caption); }
        setText(caption, event.caption);
      }
      renderKeyboard(row, event.id, event.buttons);
      break;
    }
    case "answer": {
      const button = pendingTaps.get(event.query_id);
      if (button) { button.classList.remove("pending"); pendingTaps.delete(event.query_id); }
      if (event.text) showToast(event.text, event.alert);
      break;
    }
    case "action":
      setStatus(event.action === "typing" ? "typing…" : "sending photo…");
      break;
  }
}

// ---- the shopper's actions ------------------------------------------------------------------------

async function tap(messageId, data, button) {
  button.classList.add("pending");
  try {
    const response = await fetch("/play/tap", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ chat_id: chatId, message_id: messageId, data }),
    });
    if (!response.ok) throw new Error(await response.text());
    const { query_id: queryId } = await response.json();
    pendingTaps.set(queryId, button);
    setTimeout(() => button.classList.remove("pending"), 4000);
  } catch (err) {
    button.classList.remove("pending");
    showToast("That button is no longer there.", false);
  }
}

async function send(form) {
  form.append("chat_id", String(chatId));
  const response = await fetch("/play/send", { method: "POST", body: form });
  if (!response.ok) showToast(`Not sent (${response.status}). ${await response.text()}`, true);
}

function sendText(text) {
  text = text.trim();
  if (!text) return;
  addRow("mine").appendChild(el("div", "bubble", text));
  const form = new FormData();
  form.append("text", text);
  send(form);
}

function sendFile(file) {
  if (!file) return;
  const caption = textInput.value.trim();
  textInput.value = "";
  const row = addRow("mine");
  if (file.type.startsWith("image/")) {
    row.appendChild(photoBubble(URL.createObjectURL(file), caption));
  } else {
    row.appendChild(el("div", "bubble file", `📄 ${file.name}${caption ? "\n" + caption : ""}`));
  }
  const form = new FormData();
  form.append("file", file, file.name);
  if (caption) form.append("text", caption);
  send(form);
}

$("#composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = textInput.value;
  textInput.value = "";
  sendText(text);
});
fileInput.addEventListener("change", () => {
  sendFile(fileInput.files[0]);
  fileInput.value = "";
});

// Drop a photo anywhere on the page.
let dragDepth = 0;
window.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth++; $("#drop").hidden = false; });
window.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; $("#drop").hidden = true; } });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  $("#drop").hidden = true;
  if (e.dataTransfer && e.dataTransfer.files.length) sendFile(e.dataTransfer.files[0]);
});

async function loadDemos(photos) {
  const list = $("#demo-list");
  if (!photos.length) { $("#demos").hidden = true; return; }
  for (const photo of photos) {
    const button = el("button");
    button.type = "button";
    button.title = `Send ${photo.name}`;
    button.dataset.name = photo.name;
    const img = el("img");
    img.src = photo.url; img.alt = photo.name;
    button.appendChild(img);
    button.addEventListener("click", async () => {
      const blob = await (await fetch(photo.url)).blob();
      sendFile(new File([blob], `${photo.name}.${blob.type === "image/png" ? "png" : "jpg"}`, { type: blob.type }));
    });
    list.appendChild(button);
  }
}

// ---- the bot's side, by long polling ----------------------------------------------------------------

async function poll() {
  for (;;) {
    try {
      const response = await fetch(`/play/events?chat_id=${chatId}&after=${cursor}`);
      if (!response.ok) throw new Error(String(response.status));
      const { events, next } = await response.json();
      cursor = next;
      events.forEach(render);
    } catch (err) {
      setStatus("reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

(async function start() {
  const info = await (await fetch("/play/info")).json();
  cursor = info.next;
  loadDemos(info.demo_photos);
  poll();
  if (newChat) sendText("/start"); // what Telegram's START button sends
  else chat.appendChild(el("div", "service", "Your conversation continues — send a photo or some words."));
  document.body.dataset.ready = "1";
  textInput.focus();
})();
