// Demo chat on the official `phoenix` client (served from node_modules at /vendor/phoenix.mjs) with
// Switchboard's recovery helper (/recovery.js).
// Flow: GET /demo/token (dev only) -> Socket("/socket", {params: {token}}) over WebSocket, or
// LongPoll when chosen or when a WebSocket cannot connect (`longPollFallbackMs`) -> join
// "room:<name>" with recovery -> push "new_msg" / receive "new_msg" broadcasts -> Presence shows who
// is here. "Drop connection" closes the socket for a few seconds; on the rejoin the server sends what
// was missed (`recovered: true`), and the page counts those messages as they arrive.
// Before the token expires (the server closes with 4001 at `exp`), a fresh one is handed to the live
// socket with `access_token` on topic "phoenix"; `params` is a function, so reconnects use it too.
import { LongPoll, Presence, Socket } from '/vendor/phoenix.mjs';
import { recoverableChannel } from '/recovery.js';

const $ = (id) => document.getElementById(id);
/** Refresh this long before `exp`. */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** How long "Drop connection" stays offline: long enough for others' messages to be missed. */
const DROP_MS = 4_000;
/** The official client's fallback: LongPoll when a WebSocket has not connected within this. */
const FALLBACK_MS = 2_500;

let socket = null;
let room = null;
let token = null;
let refreshTimer = null;
/** While the messages of a recovered rejoin arrive: {epoch, until, expected, count}. */
let replay = null;

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

function setTransport(text, state) {
  const pill = $('transport');
  pill.textContent = text;
  pill.className = `pill ${state}`;
}

function addLine(className, ...nodes) {
  const li = document.createElement('li');
  if (className) li.className = className;
  li.append(...nodes);
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}

function addMessage(from, body, recovered) {
  const who = document.createElement('span');
  who.className = 'from';
  who.textContent = from;
  addLine(recovered ? 'recovered' : '', who, document.createTextNode(body));
}

function addNotice(text) {
  addLine('system', document.createTextNode(text));
}

function renderPresence(presence) {
  $('presence').replaceChildren(
    ...presence.list((user, { metas }) => {
      const li = document.createElement('li');
      li.textContent = metas.length > 1 ? `${user} (${metas.length})` : user;
      li.dataset.user = user;
      return li;
    }),
  );
}

function renderPosition(position) {
  $('position').textContent = position ? `${position.epoch.slice(0, 6)}… : ${position.offset}` : '-';
}

function renderReplay() {
  $('recovered-count').textContent = `${replay.count} of ${replay.expected} missed`;
  $('recovered-count').dataset.count = String(replay.count);
}

/** The join reply of every (re)join: what recovery did for the gap. */
function onJoin(response, before) {
  const recovered = response?.recovered;
  $('recovered').textContent = `recovered: ${recovered}` + (response?.reason ? ` (${response.reason})` : '');
  $('recovered').dataset.recovered = String(recovered);
  if (recovered && before && response.epoch === before.epoch) {
    replay = {
      epoch: response.epoch,
      until: response.offset,
      expected: response.offset - before.offset,
      count: 0,
    };
    renderReplay();
    addNotice(`rejoined: recovered: true, ${replay.expected} missed message(s) follow`);
  } else if (recovered === false) {
    replay = null;
    addNotice(`rejoined: recovered: false (${response.reason}): messages were missed`);
  }
}

async function join(name, roomName, choice) {
  token = await fetchToken(name);
  if (socket) socket.disconnect();
  socket = new Socket('/socket', {
    params: () => ({ token }),
    ...(choice === 'longpoll' ? { transport: LongPoll } : { longPollFallbackMs: FALLBACK_MS }),
  });
  scheduleRefresh(name);
  socket.onOpen(() => {
    setTransport(socket.transport === LongPoll ? 'LongPoll' : 'WebSocket', 'up');
    setStatus(`connected as ${name}`);
  });
  socket.onClose(() => {
    setTransport('disconnected', 'down');
    setStatus($('drop').disabled ? 'offline for a few seconds' : 'disconnected, retrying...');
  });
  socket.connect();

  let before = null;
  room = recoverableChannel(socket, `room:${roomName}`, {
    onMessage: (event, payload, position) => {
      if (event !== 'new_msg') return;
      const recovered = Boolean(
        replay && position && position.epoch === replay.epoch && position.offset <= replay.until,
      );
      addMessage(String(payload.user), String(payload.body), recovered);
      if (recovered) {
        replay.count++;
        renderReplay();
      }
      renderPosition(room.position());
    },
    onJoin: (response) => {
      onJoin(response, before);
      renderPosition(room.position());
    },
  });
  const { channel } = room;
  // The position the next rejoin resumes from, taken when the connection goes.
  socket.onClose(() => {
    before = room.position();
  });
  const presence = new Presence(channel);
  presence.onSync(() => renderPresence(presence));
  channel
    .join()
    .receive('ok', () => {
      document.body.classList.add('joined');
      $('room-name').textContent = `room:${roomName}`;
      $('room-name').hidden = false;
      setStatus(`joined as ${name}`);
      $('message').disabled = false;
      $('send').disabled = false;
      $('drop').disabled = false;
      $('message').focus();
    })
    .receive('error', ({ reason }) => setStatus(`join failed: ${reason}`));
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  join($('name').value.trim(), $('room').value.trim(), $('transport-choice').value).catch((err) =>
    setStatus(String(err.message ?? err)),
  );
});

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const body = $('message').value;
  if (!room || body.trim() === '') return;
  room.channel
    .push('new_msg', { user: $('name').value.trim(), body })
    .receive('error', ({ reason }) => setStatus(`send failed: ${reason}`));
  $('message').value = '';
});

$('drop').addEventListener('click', () => {
  if (!socket) return;
  $('drop').disabled = true;
  addNotice(`connection dropped for ${DROP_MS / 1000} s`);
  socket.disconnect();
  setTimeout(() => {
    socket.connect();
    $('drop').disabled = false;
  }, DROP_MS);
});
