// The door check-in app (templates/checkin/door.html). It must keep working when the venue's
// network drops, so the phone is the source of truth for what it did:
// - the attendee list lives in IndexedDB (one database per meetup) and is refreshed every ~10 s
//   from roster.json?since=…, so other doors' check-ins show up;
// - a scanned ticket is judged on the phone (SHA-256 of the code against the list's ticket
//   fingerprints) and the answer is shown at once;
// - every action goes into an IndexedDB queue with a random nonce and is sent to /door/sync
//   when there is a network; the server applies a nonce once, so sending twice is harmless;
// - the server's answer wins: where it differs from the phone's guess (another door was
//   first), the door is told.
(function () {
  "use strict";

  const root = document.getElementById("door");
  if (!root) { return; }

  const MSG = JSON.parse(document.getElementById("door-messages").textContent);
  const LABEL = JSON.parse(document.getElementById("door-labels").textContent);
  const EVENT_ID = root.dataset.eventId;
  const PAYLOAD_PREFIX = "JH1:"; // planner/registrations/tickets.py
  const TICK_MS = 10000; // send the queue and refresh the list this often
  const SINCE_OVERLAP_MS = 30000; // ask a little further back than the last answer: no gaps
  const BATCH = 100; // actions per request (the server takes up to 500)
  const REFUSED = { cancelled: MSG.cancelled, waitlisted: MSG.waitlisted, pending: MSG.pending };
  const $ = (id) => document.getElementById(id);

  const state = {
    db: null,
    people: new Map(), // id (or "local:<nonce>" for a walk-in not yet sent) → attendee
    byTicket: new Map(), // ticket fingerprint → id
    waiting: 0,
    since: "",
    door: root.dataset.door,
    reachable: true, // the last request got an answer
    panelNonce: "",
  };

  // ---- small helpers -----------------------------------------------------------------------

  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g,
      (whole, key) => (key in values ? String(values[key]) : whole));
  }

  function newNonce() {
    if (crypto.randomUUID) { return crypto.randomUUID(); }
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function sha256Hex(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Mirrors code_from_payload(): "JH1:<code>" from the QR, or a bare code typed by hand.
  function codeFromPayload(text) {
    const trimmed = text.trim();
    if (trimmed.startsWith(PAYLOAD_PREFIX)) { return trimmed.slice(PAYLOAD_PREFIX.length) || null; }
    return trimmed && !trimmed.includes(":") ? trimmed : null;
  }

  const clockFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: root.dataset.timezone });

  function clock(iso) { return iso ? clockFormat.format(new Date(iso)) : ""; }

  function isOnline() { return navigator.onLine && state.reachable; }

  // ---- IndexedDB ---------------------------------------------------------------------------

  function openDatabase() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open("juhui-door-" + EVENT_ID, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("attendees", { keyPath: "id" });
        db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        db.createObjectStore("meta");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  // Runs `work(stores)` in one transaction; resolves with what it returned once committed.
  function transact(names, mode, work) {
    return new Promise((resolve, reject) => {
      const tx = state.db.transaction(names, mode);
      const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
      const result = work(stores);
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  function readAll(name) {
    return transact([name], "readonly", (s) => {
      const out = [];
      s[name].openCursor().onsuccess = (e) => {
        const cursor = e.target.result;
        if (cursor) { out.push(cursor.value); cursor.continue(); }
      };
      return out;
    });
  }

  function readMeta(key) {
    return transact(["meta"], "readonly", (s) => {
      const box = {};
      s.meta.get(key).onsuccess = (e) => { box.value = e.target.result; };
      return box;
    }).then((box) => box.value);
  }

  // ---- the attendee list in memory ----------------------------------------------------------

  function remember(person) {
    state.people.set(person.id, person);
    if (person.ticket) { state.byTicket.set(person.ticket, person.id); }
  }

  function forget(id) {
    const person = state.people.get(id);
    if (person && person.ticket) { state.byTicket.delete(person.ticket); }
    state.people.delete(id);
  }

  function counts() {
    const c = { checked_in: 0, expected: 0, checked_in_parties: 0, expected_parties: 0 };
    for (const p of state.people.values()) {
      const seats = 1 + (p.guests || 0);
      if (p.checked_in_at) { c.checked_in += seats; c.checked_in_parties += 1; }
      if (p.status === "going") { c.expected += seats; c.expected_parties += 1; }
    }
    return c;
  }

  // ---- what the door sees --------------------------------------------------------------------

  function showPanel(kind, text, detail, nonce, undoId) {
    const panel = $("door-result");
    panel.className = "door-result is-" + kind;
    $("door-result-text").textContent = text;
    $("door-result-detail").textContent = detail || "";
    const undo = $("door-result-undo");
    undo.hidden = !(kind !== "bad" && typeof undoId === "number");
    undo.dataset.id = undo.hidden ? "" : String(undoId);
    state.panelNonce = nonce || "";
  }

  function guestsText(person) {
    return person && person.guests ? format(LABEL.guests, { count: person.guests }) : "";
  }

  function log(nonce, kind, text) {
    const list = $("door-log");
    let item = list.querySelector(`li[data-nonce="${CSS.escape(nonce)}"]`);
    if (!item) {
      item = document.createElement("li");
      item.dataset.nonce = nonce;
      list.prepend(item);
      while (list.children.length > 30) { list.lastElementChild.remove(); }
    }
    item.className = "is-" + kind;
    item.textContent = text;
  }

  function renderStatus() {
    const online = isOnline();
    const network = $("door-network");
    network.classList.toggle("is-online", online);
    network.classList.toggle("is-offline", !online);
    $("door-network-text").textContent = online ? MSG.online : MSG.offline;
    $("door-waiting").textContent = format(MSG.waiting, { count: state.waiting });
    root.dataset.waiting = String(state.waiting);
    if (state.since) { renderCounts(counts()); } // until the list is in, the page's own counts stand
    renderMatches();
  }

  function renderCounts(c) {
    $("count-checked-in").textContent = c.checked_in;
    $("count-expected").textContent = c.expected;
    $("count-checked-in-parties").textContent = c.checked_in_parties;
    $("count-expected-parties").textContent = c.expected_parties;
  }

  function setReachable(flag) {
    if (state.reachable === flag) { return; }
    state.reachable = flag;
    renderStatus();
  }

  // ---- search ----------------------------------------------------------------------------

  // The query in the form the server folds names to (planner/core/names.py): lower case, no
  // accents, no spaces; each person's `search` holds their name, full pinyin and initials.
  function folded(text) {
    return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/\s+/g, "");
  }

  function findPeople(query) {
    const q = folded(query);
    if (!q) { return []; }
    const digits = /^\d+$/.test(q);
    return Array.from(state.people.values()).filter((p) => (digits
      ? (p.phone_last4 || "").includes(q)
      : (p.search || folded(p.name)).includes(q)))
      .sort((a, b) => a.name.localeCompare(b.name)).slice(0, 20);
  }

  function facts(person) {
    const parts = [guestsText(person)];
    if (person.phone_last4) { parts.push(format(LABEL.phone, { digits: person.phone_last4 })); }
    parts.push(person.walk_in ? LABEL.walk_in : LABEL[person.status] || person.status);
    if (person.checked_in_at) {
      const when = format(LABEL.checked_in_at, { time: clock(person.checked_in_at) });
      parts.push(person.checked_in_by ? `${when} (${person.checked_in_by})` : when);
    }
    return parts.filter(Boolean).join(" · ");
  }

  function matchButton(person) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.dataset.id = String(person.id);
    if (person.checked_in_at) {
      button.textContent = MSG.undo;
      button.dataset.action = "undo";
    } else {
      button.textContent = MSG.check_in;
      button.dataset.action = "check-in";
      button.classList.add("primary");
    }
    return button;
  }

  function renderMatches() {
    const list = $("door-matches");
    const query = $("door-search").value;
    const found = findPeople(query);
    list.replaceChildren(...found.map((person) => {
      const item = document.createElement("li");
      item.className = "door-match" + (person.checked_in_at ? " is-checked-in" : "");
      const name = document.createElement("span");
      name.className = "door-match-name";
      name.textContent = person.name;
      const info = document.createElement("span");
      info.className = "door-match-facts";
      info.textContent = facts(person);
      item.append(name);
      const canUndo = person.checked_in_at && typeof person.id === "number";
      if (canUndo || (!person.checked_in_at && person.status === "going")) {
        item.append(matchButton(person));
      }
      item.append(info);
      return item;
    }));
    if (query.trim() && !found.length) {
      const none = document.createElement("li");
      none.className = "door-match muted";
      none.textContent = MSG.no_match;
      list.append(none);
    }
  }

  // ---- judging on the phone, then queueing ------------------------------------------------

  function alreadyText(person) {
    if (person.local || !person.checked_in_by) { return format(MSG.already, { name: person.name }); }
    return format(LABEL.already_by, { name: person.name, time: clock(person.checked_in_at),
      who: person.checked_in_by });
  }

  // The phone's guess: {outcome (as the server would say), kind (panel colour), text}.
  function judge(person) {
    if (!person) { return { outcome: "unknown_ticket", kind: "bad", text: MSG.unknown }; }
    if (REFUSED[person.status]) {
      return { outcome: "refused", kind: "bad", text: format(REFUSED[person.status], { name: person.name }) };
    }
    if (person.checked_in_at) { return { outcome: "already_checked_in", kind: "bad", text: alreadyText(person) }; }
    return welcome(person);
  }

  function welcome(person) {
    return isOnline()
      ? { outcome: "ok", kind: "ok", text: format(LABEL.welcome, { name: person.name }) }
      : { outcome: "ok", kind: "queued", text: format(MSG.queued_ok, { name: person.name }) };
  }

  async function enqueue(action, guess, person) {
    if (person) {
      if (guess.outcome === "ok") {
        Object.assign(person, { checked_in_at: action.scanned_at, checked_in_by: "", local: true });
      } else if (guess.outcome === "undone") {
        Object.assign(person, { checked_in_at: null, checked_in_by: "", local: true });
      }
    }
    const entry = { action, guess, personId: person ? person.id : null };
    await transact(["queue", "attendees"], "readwrite", (s) => {
      s.queue.add(entry);
      if (person) { s.attendees.put(person); }
    });
    state.waiting += 1;
    const undoId = guess.outcome === "ok" && person ? person.id : undefined;
    showPanel(guess.kind, guess.text, guestsText(person), action.nonce, undoId);
    log(action.nonce, guess.kind, guess.text);
    renderStatus();
    network(flush);
  }

  async function personForCode(text) {
    const code = codeFromPayload(text);
    if (!code) { return { known: true, person: undefined }; }
    if (!crypto.subtle || !state.since) { return { known: false, person: undefined }; }
    const id = state.byTicket.get(await sha256Hex(code));
    return { known: true, person: id === undefined ? undefined : state.people.get(id) };
  }

  // One scan at a time, so a ticket read twice in a row is judged "already" the second time.
  let scanning = Promise.resolve();
  function scanCode(text) {
    scanning = scanning.then(() => scanOne(text))
      .catch((error) => showPanel("bad", String(error), "", ""));
    return scanning;
  }

  async function scanOne(text) {
    const raw = text.trim();
    if (!raw) { return; }
    const { known, person } = await personForCode(raw);
    const guess = known ? judge(person)
      : { outcome: "checking", kind: "queued", text: format(LABEL.checking, { code: raw }) };
    await enqueue({ type: "scan", nonce: newNonce(), ticket_code: raw,
      scanned_at: new Date().toISOString() }, guess, person);
  }

  async function checkIn(id) {
    const person = state.people.get(id);
    if (!person) { return; }
    await enqueue({ type: "scan", nonce: newNonce(), registration_id: id,
      scanned_at: new Date().toISOString() }, judge(person), person);
  }

  async function undo(id) {
    const person = state.people.get(id);
    if (!person || !person.checked_in_at) { return; }
    const text = format(LABEL.undone, { name: person.name });
    await enqueue({ type: "undo", nonce: newNonce(), registration_id: id },
      { outcome: "undone", kind: isOnline() ? "ok" : "queued", text }, person);
  }

  // ---- walk-ins: checked here first, so nobody is welcomed and then lost ------------------

  function showFieldError(input, message) {
    const field = input.closest(".field");
    let error = document.getElementById(input.id + "-error");
    if (!error && message) {
      error = document.createElement("p");
      error.className = "error";
      error.id = input.id + "-error";
      field.append(error);
    }
    if (error) { error.textContent = message; error.hidden = !message; }
    field.classList.toggle("has-error", Boolean(message));
    input.setAttribute("aria-invalid", message ? "true" : "false");
    if (message) { input.setAttribute("aria-describedby", error.id); }
  }

  function walkInInputs(form) {
    return ["name", "phone", "guests", "source"].map((name) => form.elements[name]);
  }

  // The server's own rules as far as the phone can know them: required, ranges, and the phone
  // pattern the server renders into data-pattern. Every problem is shown at once.
  function walkInProblems(form) {
    const phone = form.elements.phone;
    const pattern = new RegExp(phone.dataset.pattern, "u");
    phone.setCustomValidity(phone.value.trim() && !pattern.test(phone.value.trim())
      ? phone.dataset.patternError : "");
    const problems = [];
    for (const input of walkInInputs(form)) {
      if (input === form.elements.name && !input.value.trim()) { input.value = ""; }
      const message = input.checkValidity() ? "" : input.validationMessage;
      showFieldError(input, message);
      if (message) { problems.push(input); }
    }
    return problems;
  }

  // A walk-in the server refused comes back into the form as it was typed, its errors beside
  // the fields, unless someone else is being typed in by now.
  function restoreWalkIn(action, fields) {
    const form = $("walk-in-form");
    if (form.elements.name.value.trim() && form.elements.name.value.trim() !== action.name) {
      return;
    }
    form.elements.name.value = action.name;
    form.elements.phone.value = action.phone || "";
    form.elements.guests.value = String(action.guests || 0);
    form.elements.source.value = action.source || "";
    for (const input of walkInInputs(form)) {
      showFieldError(input, ((fields || {})[input.name] || []).join(" "));
    }
  }

  function clearWalkIn(action) {
    const form = $("walk-in-form");
    if (form.elements.name.value.trim() === action.name) { form.reset(); }
  }

  async function walkIn(form) {
    const problems = walkInProblems(form);
    if (problems.length) { problems[0].focus(); return; }
    const data = new FormData(form);
    const name = String(data.get("name") || "").trim();
    const nonce = newNonce();
    const phone = String(data.get("phone") || "").trim();
    const guests = Number.parseInt(String(data.get("guests") || "0"), 10) || 0;
    const person = { id: "local:" + nonce, name, guests, status: "going", walk_in: true,
      search: folded(name),
      phone_last4: phone.replace(/\D/g, "").slice(-4), ticket: null };
    remember(person);
    const online = isOnline();
    await enqueue({ type: "walk_in", nonce, name, phone, guests,
      source: String(data.get("source") || "").trim(), scanned_at: new Date().toISOString() },
    welcome(person), person);
    // Online, the form keeps what was typed until the server has said yes (acknowledge).
    if (!online) { form.reset(); }
  }

  // ---- talking to the server -----------------------------------------------------------------

  // One request at a time: an answer is never overwritten by an older list.
  let chain = Promise.resolve();
  function network(task) {
    chain = chain.then(task).catch(() => setReachable(false));
    return chain;
  }

  function csrfToken() {
    return document.querySelector('meta[name="csrf-token"]').content;
  }

  // The cached page's token may have expired while offline: take a fresh one from the server.
  async function renewCsrfToken() {
    const response = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const meta = page.querySelector('meta[name="csrf-token"]');
    if (meta) { document.querySelector('meta[name="csrf-token"]').content = meta.content; }
  }

  function isJson(response) {
    return !response.redirected && (response.headers.get("Content-Type") || "").includes("json");
  }

  async function post(actions, retried) {
    const response = await fetch(root.dataset.syncUrl, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json",
        "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ door: state.door, actions }) });
    if (response.status === 400 && !retried) {
      await renewCsrfToken();
      return post(actions, true);
    }
    return response;
  }

  // Whether the server could not take the batch at all (logged out, forbidden …): said once.
  function refusedBatch(response) {
    if (response.ok && isJson(response)) { return false; }
    const text = response.redirected || response.status === 401 ? LABEL.login
      : format(LABEL.refused_batch, { status: response.status });
    showPanel("bad", text, "", "");
    return true;
  }

  async function flush() {
    for (;;) {
      if (!navigator.onLine) { setReachable(false); return; }
      const entries = (await readAll("queue")).slice(0, BATCH);
      if (!entries.length) { return; }
      const response = await post(entries.map((e) => e.action), false);
      setReachable(true);
      if (refusedBatch(response)) { return; }
      const results = (await response.json()).results;
      // One answer per action, in order; an action without one stays queued.
      await acknowledge(entries.slice(0, results.length), results);
      if (results.length < entries.length || entries.length < BATCH) { return; }
    }
  }

  function answerKind(status) {
    return status === "ok" || status === "undone" ? "ok" : "bad";
  }

  function applyAnswer(entry, answer) {
    const localId = entry.action.type === "walk_in" ? "local:" + entry.action.nonce : null;
    if (localId) { forget(localId); }
    if (typeof answer.registration_id !== "number") {
      // The phone's guess about this person may be wrong and the server did not say: reload
      // the whole list at the next refresh.
      if (entry.personId !== null) { state.since = ""; }
      return null;
    }
    const id = answer.registration_id;
    const known = state.people.get(id);
    const person = known || { id, name: answer.name, guests: answer.guests || 0, status: "going",
      walk_in: Boolean(localId), search: folded(answer.name || ""), phone_last4: "", ticket: null };
    Object.assign(person, { checked_in_at: answer.checked_in_at || null,
      checked_in_by: answer.checked_in_by || "", local: false });
    remember(person);
    return person;
  }

  function announce(entry, answer, person) {
    const nonce = entry.action.nonce;
    const kind = answerKind(answer.status);
    const differs = answer.status !== entry.guess.outcome;
    let text = answer.message || "";
    if (answer.status === "error" && answer.fields) {
      text = [text].concat(...Object.values(answer.fields)).filter(Boolean).join(" ");
    }
    if (differs && answer.status === "already_checked_in") { text = format(MSG.duplicate, { message: text }); }
    log(nonce, kind, text);
    if (differs || state.panelNonce === nonce) {
      const undoId = kind === "ok" && answer.status === "ok" && person ? person.id : undefined;
      showPanel(kind, text, guestsText(person), nonce, undoId);
    }
  }

  async function acknowledge(entries, results) {
    const touched = [];
    const forgotten = [];
    entries.forEach((entry, index) => {
      const answer = results[index];
      if (entry.action.type === "walk_in") {
        forgotten.push("local:" + entry.action.nonce);
        if (answerKind(answer.status) === "ok") { clearWalkIn(entry.action); }
        else { restoreWalkIn(entry.action, answer.fields); }
      }
      const person = applyAnswer(entry, answer);
      if (person) { touched.push(person); }
      announce(entry, answer, person);
    });
    await transact(["queue", "attendees"], "readwrite", (s) => {
      entries.forEach((entry) => s.queue.delete(entry.seq));
      forgotten.forEach((id) => s.attendees.delete(id));
      touched.forEach((person) => s.attendees.put(person));
    });
    state.waiting = Math.max(0, state.waiting - entries.length);
    renderStatus();
  }

  async function pendingIds() {
    return new Set((await readAll("queue")).map((e) => e.personId).filter((id) => id !== null));
  }

  // Server rows win, except the check-in state of people with actions still in the queue.
  function merged(row, pending) {
    const mine = state.people.get(row.id);
    if (mine && pending.has(row.id)) {
      return { ...row, checked_in_at: mine.checked_in_at, checked_in_by: mine.checked_in_by, local: true };
    }
    return { ...row, local: false };
  }

  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  async function mergeRoster(body) {
    const pending = await pendingIds();
    // `since` overlaps the last answer: keep only what changed, so the list is not redrawn
    // under the door's finger every ten seconds.
    const rows = body.attendees.map((row) => merged(row, pending))
      .filter((row) => !same(row, state.people.get(row.id)));
    const stale = body.complete ? Array.from(state.people.keys()).filter((id) => typeof id === "number"
      && !pending.has(id) && !body.attendees.some((row) => row.id === id)) : [];
    stale.forEach(forget);
    rows.forEach(remember);
    state.since = new Date(Date.parse(body.server_time) - SINCE_OVERLAP_MS).toISOString();
    await transact(["attendees", "meta"], "readwrite", (s) => {
      stale.forEach((id) => s.attendees.delete(id));
      rows.forEach((row) => s.attendees.put(row));
      s.meta.put(state.since, "since");
    });
    const first = !root.dataset.rosterStored;
    showStored();
    if (first || rows.length || stale.length) { renderStatus(); }
  }

  async function refreshRoster() {
    if (!navigator.onLine) { setReachable(false); return; }
    const url = root.dataset.rosterUrl + (state.since ? "?since=" + encodeURIComponent(state.since) : "");
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json" } });
    setReachable(true);
    if (!response.ok || !isJson(response)) { refusedBatch(response); return; }
    await mergeRoster(await response.json());
  }

  function tick() {
    return network(flush).then(() => network(refreshRoster));
  }

  function showStored() {
    const parties = Array.from(state.people.values()).filter((p) => typeof p.id === "number").length;
    $("door-roster").textContent = format(LABEL.stored, { count: parties });
    root.dataset.rosterStored = "true";
  }

  // ---- camera ----------------------------------------------------------------------------

  const camera = { stream: null, frame: 0, raf: 0, lastCode: "", lastSeen: 0 };

  function decodeFrame() {
    camera.raf = requestAnimationFrame(decodeFrame);
    const video = $("camera-video");
    camera.frame += 1;
    if (camera.frame % 4 !== 0 || video.readyState < 2 || !video.videoWidth) { return; }
    const scale = Math.min(1, 640 / video.videoWidth);
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    const canvas = $("camera-canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, width, height);
    const found = window.jsQR(context.getImageData(0, 0, width, height).data, width, height,
      { inversionAttempts: "dontInvert" });
    if (!found || !found.data) { return; }
    const now = performance.now();
    // A code held in front of the camera is scanned once, not on every frame.
    const fresh = found.data !== camera.lastCode || now - camera.lastSeen > 1500;
    camera.lastCode = found.data;
    camera.lastSeen = now;
    if (fresh) { scanCode(found.data); }
  }

  async function startCamera() {
    if (!navigator.mediaDevices || typeof window.jsQR !== "function") {
      showPanel("bad", MSG.camera_error, "", "");
      return;
    }
    try {
      camera.stream = await navigator.mediaDevices.getUserMedia(
        { video: { facingMode: { ideal: "environment" } }, audio: false });
    } catch (error) {
      showPanel("bad", MSG.camera_error, "", "");
      return;
    }
    const video = $("camera-video");
    video.srcObject = camera.stream;
    await video.play();
    $("camera").hidden = false;
    $("camera-start").hidden = true;
    $("camera-stop").hidden = false;
    camera.raf = requestAnimationFrame(decodeFrame);
  }

  function stopCamera() {
    cancelAnimationFrame(camera.raf);
    if (camera.stream) { camera.stream.getTracks().forEach((track) => track.stop()); }
    camera.stream = null;
    $("camera-video").srcObject = null;
    $("camera").hidden = true;
    $("camera-start").hidden = false;
    $("camera-stop").hidden = true;
  }

  // ---- service worker: the page and its files open offline ---------------------------------

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register(root.dataset.swUrl, { scope: root.dataset.swScope })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (e) => resolve(e.data && e.data.ok);
        registration.active.postMessage(
          { type: "remember", urls: [location.href, root.dataset.rosterUrl] }, [channel.port2]);
      }))
      .then((ok) => {
        if (!ok) { return; }
        $("door-offline-ready").textContent = LABEL.offline_ready;
        root.dataset.offlineReady = "true";
      })
      .catch(() => {});
  }

  // ---- start -------------------------------------------------------------------------------

  function bindEvents() {
    $("scan-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = $("scan-code");
      const text = input.value;
      input.value = "";
      input.focus();
      scanCode(text);
    });
    $("door-search").addEventListener("input", renderMatches);
    $("door-matches").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action]");
      if (!button) { return; }
      const id = Number(button.dataset.id);
      (button.dataset.action === "undo" ? undo : checkIn)(id);
    });
    $("door-result-undo").addEventListener("click", (e) => undo(Number(e.currentTarget.dataset.id)));
    $("walk-in-form").addEventListener("submit", (e) => { e.preventDefault(); walkIn(e.currentTarget); });
    $("camera-start").addEventListener("click", startCamera);
    $("camera-stop").addEventListener("click", stopCamera);
    window.addEventListener("online", () => { state.reachable = true; renderStatus(); tick(); });
    window.addEventListener("offline", () => setReachable(false));
  }

  async function deviceLabel() {
    let device = await readMeta("device");
    if (!device) {
      device = newNonce().slice(0, 4);
      await transact(["meta"], "readwrite", (s) => s.meta.put(device, "device"));
    }
    return (root.dataset.door.slice(0, 34) + " #" + device).slice(0, 40);
  }

  async function start() {
    state.db = await openDatabase();
    state.door = await deviceLabel();
    (await readAll("attendees")).forEach(remember);
    const queue = await readAll("queue");
    state.waiting = queue.length;
    queue.forEach((entry) => log(entry.action.nonce, entry.guess.kind, entry.guess.text));
    const last = queue[queue.length - 1];
    if (last) { showPanel(last.guess.kind, last.guess.text, "", last.action.nonce); }
    state.since = (await readMeta("since")) || "";
    if (state.since) { showStored(); }
    state.reachable = navigator.onLine;
    bindEvents();
    renderStatus();
    registerServiceWorker();
    tick();
    setInterval(tick, TICK_MS);
  }

  start().catch((error) => showPanel("bad", String(error), "", ""));
}());
