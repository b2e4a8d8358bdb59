// The status page's script: refreshes the job list, loads a job's details
// when it is opened, sends actions with the CSRF token, and shows the live
// log tail. Text from the server is only ever set as textContent.
"use strict";
(function () {
  const body = document.body;
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const lang = body.dataset.lang;
  const q = "lang=" + encodeURIComponent(lang);

  function post(url) {
    return fetch(url, { method: "POST", headers: { "X-Printpay-Csrf": csrf }, credentials: "same-origin" })
      .then(function (r) { return r.text().then(function (t) { if (!r.ok) { throw new Error(t.trim() || r.statusText); } return t; }); });
  }

  function say(el, text, bad) {
    const m = el.closest(".actions").querySelector(".msg");
    m.textContent = text;
    m.classList.toggle("bad", !!bad);
  }

  // Job list: refreshed every few seconds; opened jobs keep their details.
  const jobs = document.getElementById("jobs");
  function loadDetail(d) {
    const box = d.querySelector(".detail");
    fetch("/fragment/jobs/" + encodeURIComponent(d.dataset.id) + "?" + q, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { box.innerHTML = html; d.dataset.loaded = "1"; });
  }
  if (jobs) {
    jobs.addEventListener("toggle", function (e) {
      const d = e.target;
      if (d.matches && d.matches("details.job") && d.open && !d.dataset.loaded) { loadDetail(d); }
    }, true);
    setInterval(function () {
      fetch("/fragment/jobs?" + q, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(); })
        .then(function (html) {
          const keep = {};
          jobs.querySelectorAll("details.job[open]").forEach(function (d) { keep[d.dataset.id] = d; });
          const tmp = document.createElement("div");
          tmp.innerHTML = html;
          tmp.querySelectorAll("details.job").forEach(function (d) {
            const old = keep[d.dataset.id];
            if (old) {
              // Keep the opened details; take the fresh summary line.
              old.querySelector("summary").replaceWith(d.querySelector("summary"));
              d.replaceWith(old);
            }
          });
          jobs.replaceChildren.apply(jobs, Array.from(tmp.childNodes));
        })
        .catch(function () {});
    }, 3000);
  }

  // Printers and the server link: refreshed every few seconds, unless a
  // button there is waiting for its answer.
  const panels = document.getElementById("panels");
  if (panels) {
    setInterval(function () {
      if (panels.querySelector("button:disabled")) { return; }
      fetch("/fragment/panels?" + q, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(); })
        .then(function (html) {
          const msgs = {};
          panels.querySelectorAll("[data-printer] .msg").forEach(function (m) { msgs[m.closest("[data-printer]").dataset.printer] = m.textContent; });
          panels.innerHTML = html;
          panels.querySelectorAll("[data-printer] .msg").forEach(function (m) { m.textContent = msgs[m.closest("[data-printer]").dataset.printer] || ""; });
        })
        .catch(function () {});
    }, 3000);
  }

  // Actions.
  document.addEventListener("click", function (e) {
    const b = e.target.closest("button[data-action]");
    if (!b) { return; }
    const a = b.dataset.action;
    if (a === "reprint") {
      // A confirmation step first; an incomplete job says so.
      const box = document.createElement("span");
      box.className = "confirm-box";
      const text = document.createElement("span");
      text.textContent = b.dataset.ask + " ";
      const yes = document.createElement("button");
      yes.type = "button"; yes.dataset.action = "reprint-yes"; yes.dataset.id = b.dataset.id;
      if (b.dataset.partial) { yes.dataset.partial = "1"; }
      yes.textContent = body.dataset.confirm;
      const no = document.createElement("button");
      no.type = "button"; no.dataset.action = "reprint-no";
      no.textContent = body.dataset.cancel;
      box.append(text, yes, " ", no);
      b.after(box);
      b.hidden = true;
      return;
    }
    if (a === "reprint-no") {
      const box = b.closest(".confirm-box");
      box.previousElementSibling.hidden = false;
      box.remove();
      return;
    }
    let url;
    switch (a) {
      case "reprint-yes":
        url = "/api/jobs/" + encodeURIComponent(b.dataset.id) + "/reprint" + (b.dataset.partial ? "?confirm=1" : ""); break;
      case "demo-pay":
        url = "/api/jobs/" + encodeURIComponent(b.dataset.id) + "/demo-pay"; break;
      case "pause": case "resume": case "test":
        url = "/api/printers/" + encodeURIComponent(b.dataset.printer) + "/" + a; break;
      default: return;
    }
    b.disabled = true;
    post(url).then(function () {
      say(b, a === "reprint-yes" ? body.dataset.queued : a === "demo-pay" ? body.dataset.paid : body.dataset.done);
    }, function (err) {
      say(b, body.dataset.failed + ": " + err.message, true);
    }).finally(function () {
      b.disabled = false;
      const box = b.closest(".confirm-box");
      if (box) { box.previousElementSibling.hidden = false; box.remove(); }
    });
  });

  // Live log tail.
  const log = document.getElementById("log");
  if (!log) { return; }
  const state = document.getElementById("log-state");
  const level = document.getElementById("log-level");
  const maxLines = 500;
  let lastSeq = 0;
  function show(div) { div.classList.toggle("hidden", Number(div.dataset.lvl) < Number(level.value)); }
  level.addEventListener("change", function () { log.querySelectorAll(".line").forEach(show); });
  function add(l) {
    if (l.seq <= lastSeq) { return; }
    lastSeq = l.seq;
    const div = document.createElement("div");
    div.className = "line lvl-" + String(l.level).replace(/[^A-Z]/g, "");
    div.dataset.lvl = String(l.lvl);
    div.dataset.seq = String(l.seq);
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = new Date(l.time).toLocaleTimeString(lang === "en" ? "en-GB" : "zh-CN", { hour12: false });
    const lv = document.createElement("span");
    lv.className = "lv";
    lv.textContent = l.level;
    const tx = document.createElement("span");
    tx.className = "tx";
    tx.textContent = l.text;
    div.append(ts, lv, tx);
    show(div);
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(div);
    while (log.childElementCount > maxLines) { log.firstElementChild.remove(); }
    if (atEnd) { log.scrollTop = log.scrollHeight; }
  }
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/logs/ws");
    ws.onopen = function () { state.textContent = body.dataset.live; state.className = "badge pr_online"; };
    ws.onmessage = function (e) {
      const m = JSON.parse(e.data);
      (Array.isArray(m) ? m : [m]).forEach(add);
    };
    ws.onclose = function () {
      state.textContent = body.dataset.offline; state.className = "badge pr_offline";
      setTimeout(connect, 2000);
    };
  }
  connect();
})();
