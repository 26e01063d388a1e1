// Demo chat on the official `phoenix` client (served from node_modules at /vendor/phoenix.mjs).
// Flow: GET /demo/token (dev only) -> Socket("/socket", {params: {token}}) -> join "room:<name>"
// -> push "new_msg" / receive "new_msg" broadcasts -> Presence shows who is here. Before the token
// expires (the server closes with 4001 at `exp`), a fresh one is handed to the live socket with
// `access_token` on topic "phoenix"; `params` is a function, so reconnects use it too.
import { Socket, Presence } from '/vendor/phoenix.mjs';

const $ = (id) => document.getElementById(id);
let socket = null;
let channel = null;
let token = null;
let refreshTimer = null;

/** Refresh this long before `exp`. */
const REFRESH_BEFORE_MS = 5 * 60_000;

async function fetchToken(name) {
  const res = await fetch(`/demo/token?user=${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error((await res.json()).error ?? `token request failed (${res.status})`);
  return (await res.json()).token;
}

function expiresAtMs(jwt) {
  const payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(window.atob(payload)).exp * 1000;
}

function scheduleRefresh(name) {
  clearTimeout(refreshTimer);
  const inMs = Math.max(1000, expiresAtMs(token) - Date.now() - REFRESH_BEFORE_MS);
  refreshTimer = setTimeout(async () => {
    try {
      token = await fetchToken(name);
      socket.push({ topic: 'phoenix', event: 'access_token', payload: { token }, ref: socket.makeRef() });
      scheduleRefresh(name);
    } catch (err) {
      setStatus(`token refresh failed: ${err.message ?? err}`);
    }
  }, inMs);
}

function setStatus(text) {
  $('status').textContent = text;
}

function addMessage(from, body) {
  const li = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'from';
  who.textContent = from;
  li.append(who, document.createTextNode(body));
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}

function renderPresence(presence) {
  const list = $('presence');
  list.replaceChildren(
    ...presence.list((user, { metas }) => {
      const li = document.createElement('li');
      li.textContent = metas.length > 1 ? `${user} (${metas.length})` : user;
      li.dataset.user = user;
      return li;
    }),
  );
}

async function join(name, room) {
  token = await fetchToken(name);
  if (socket) socket.disconnect();
  socket = new Socket('/socket', { params: () => ({ token }) });
  scheduleRefresh(name);
  socket.onOpen(() => setStatus(`connected as ${name}`));
  socket.onClose(() => setStatus('disconnected, retrying...'));
  socket.connect();
  channel = socket.channel(`room:${room}`, {});
  const presence = new Presence(channel);
  presence.onSync(() => renderPresence(presence));
  channel.on('new_msg', (msg) => addMessage(String(msg.user), String(msg.body)));
  channel
    .join()
    .receive('ok', () => {
      setStatus(`joined room:${room} as ${name}`);
      $('message').disabled = false;
      $('send').disabled = false;
      $('message').focus();
    })
    .receive('error', ({ reason }) => setStatus(`join failed: ${reason}`));
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  join($('name').value.trim(), $('room').value.trim()).catch((err) => setStatus(String(err.message ?? err)));
});

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const body = $('message').value;
  if (!channel || body.trim() === '') return;
  channel
    .push('new_msg', { user: $('name').value.trim(), body })
    .receive('error', ({ reason }) => setStatus(`send failed: ${reason}`));
  $('message').value = '';
});
