// The operator console: send states and reloads without leaving the page, and keep the health
// figures and history fresh by polling. Server text reaches the page through textContent only.
(function () {
  "use strict";

  var root = document.getElementById("console");
  var notice = document.getElementById("notice");
  // The app's path prefix behind a proxy ("/pillow"), else "" (as in kiosk.js): image paths in
  // the data are root-relative; the forms and the data URL come with the prefix already.
  var appRoot = document.body.dataset.root || "";
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(appRoot)) appRoot = "";
  var POLL_MS = 3000;
  var pollTimer = null;
  var polling = false;

  function byId(id) { return document.getElementById(id); }

  function say(message, kind) {
    notice.textContent = message;
    notice.dataset.kind = kind || "ok";
  }

  function clock(iso) {
    var date = new Date(iso);
    if (!iso || isNaN(date)) return "";
    var today = new Date().toDateString() === date.toDateString();
    var time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    return today ? time : date.toLocaleDateString() + " " + time;
  }

  function safeImage(url) {
    return typeof url === "string" && /^\/static\/img\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(url);
  }

  var timeline = window.consoleTimeline(clock, cell, fillRows);  // (timeline.js)
  var queue = window.consoleQueue(clock, cell, fillRows);  // (queue.js)
  window.consolePoison(clock);  // (poison.js)

  function count(value) { return value === null || value === undefined ? "?" : String(value); }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  // A table body's rows, one per item (``addCells(row, item, index)``), or "Nothing yet.".
  function fillRows(body, items, columns, addCells) {
    var rows = document.createDocumentFragment();
    items.forEach(function (item, index) {
      var row = document.createElement("tr");
      addCells(row, item, index);
      rows.appendChild(row);
    });
    if (!rows.childNodes.length) {
      var empty = document.createElement("tr");
      cell(empty, "Nothing yet.").colSpan = columns;
      rows.appendChild(empty);
    }
    body.replaceChildren(rows);
  }

  // The picker (several pillows only): each pillow's health and its queue's figures. Links are
  // updated in place (keyboard focus stays); rebuilt only if the pillows themselves changed.
  function renderPicker(pillows) {
    var list = byId("pillows");
    if (!list || !Array.isArray(pillows)) return;
    var links = Array.prototype.slice.call(list.querySelectorAll("a[data-pillow]"));
    var same = links.length === pillows.length && pillows.every(function (entry, index) {
      return links[index].dataset.pillow === String(entry.id);
    });
    if (!same) {
      var chosen = root.dataset.chosen;
      var items = document.createDocumentFragment();
      links = pillows.map(function (entry) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = root.dataset.console + "?pillow=" + encodeURIComponent(String(entry.id));
        link.dataset.pillow = String(entry.id);
        if (link.dataset.pillow === chosen) link.setAttribute("aria-current", "page");
        ["pillow-name", "pillow-status", "pillow-queue", "pillow-poison"].forEach(function (name) {
          var part = document.createElement("span");
          part.className = name;
          link.appendChild(part);
        });
        item.appendChild(link);
        items.appendChild(item);
        return link;
      });
      list.replaceChildren(items);
    }
    pillows.forEach(function (entry, index) {
      var link = links[index];
      var status = link.querySelector(".pillow-status");
      var poison = link.querySelector(".pillow-poison");
      link.querySelector(".pillow-name").textContent = String(entry.name || entry.id);
      status.textContent = String(entry.status || "");
      status.dataset.status = String(entry.status || "");
      link.querySelector(".pillow-queue").textContent = "queue " + count(entry.queue_depth);
      poison.textContent = "poison " + count(entry.poison_count);
      poison.dataset.ok = entry.poison_count ? "no" : "yes";
    });
  }

  // The screens connected now, as their pages introduced themselves (untrusted: textContent).
  function renderScreens(list, total) {
    var box = byId("screen-list");
    if (!box || !Array.isArray(list)) return;
    var items = document.createDocumentFragment();
    list.forEach(function (screen) {
      var item = document.createElement("li");
      var parts = [["screen-name", screen.name || "unnamed"], ["screen-page", screen.page || ""],
                   ["screen-build", screen.build || ""]];
      parts.forEach(function (part) {
        var span = document.createElement("span");
        span.className = part[0];
        span.textContent = String(part[1]);
        item.appendChild(span);
      });
      var build = item.querySelector(".screen-build");
      build.dataset.same = screen.same_build === false ? "no" : "yes";
      if (screen.same_build === false) {
        var mark = document.createElement("span");
        mark.className = "screen-stale";
        mark.textContent = "other build";
        build.appendChild(mark);
      }
      var since = document.createElement("time");
      since.className = "screen-since";
      since.dateTime = String(screen.since || "");
      since.textContent = "since " + clock(screen.since);
      item.appendChild(since);
      items.appendChild(item);
    });
    if (!list.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "No screen is connected.";
      items.appendChild(empty);
    }
    if (typeof total === "number" && total > list.length) {
      var more = document.createElement("li");
      more.className = "more";
      more.textContent = "and " + (total - list.length) + " more";
      items.appendChild(more);
    }
    box.replaceChildren(items);
  }

  function render(data) {
    var watcher = data.watcher || {};
    byId("stat-watcher").dataset.ok = watcher.queue_ok ? "yes" : "no";
    byId("watcher").textContent = watcher.queue_ok ? "reaching the queue" : "cannot reach the queue";
    byId("watcher-detail").textContent = watcher.queue_ok
      ? (watcher.last_ok ? "last poll " + clock(watcher.last_ok) : "")
      : String(watcher.last_error || watcher.reason || "");
    byId("queue-depth").textContent = count(data.queue_depth);
    byId("poison-count").textContent = count(data.poison_count);
    byId("stat-poison").dataset.ok = data.poison_count ? "no" : "yes";
    byId("screens").textContent = count(data.screens);
    renderPicker(data.pillows);
    renderScreens(data.screen_list, data.screens);
    timeline.render(data.timeline);
    queue.render(data);

    var current = data.current || {};
    if (safeImage(current.image)) byId("now-image").src = appRoot + current.image;
    byId("now-state").textContent = String(current.state || "");
    byId("now-text").textContent = String(current.text || "");

    fillRows(byId("history"), data.history || [], 3, function (row, entry) {
      var time = document.createElement("time");
      time.dateTime = String(entry.received_at || "");
      time.textContent = clock(entry.received_at);
      cell(row, "").appendChild(time);
      cell(row, String(entry.state || ""));
      cell(row, String(entry.text || ""));
    });
  }

  function poll() {
    clearTimeout(pollTimer);
    if (polling) return;
    polling = true;
    fetch(root.dataset.source, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (data) { render(data); root.dataset.fresh = "yes"; }
        if (notice.dataset.kind === "lost") say("", "ok");  // the server answers again
      }, function () {
        root.dataset.fresh = "no";
        say("Cannot reach the server; retrying.", "lost");
      })
      .then(function () {
        polling = false;
        if (document.visibilityState === "visible") pollTimer = setTimeout(poll, POLL_MS);
      });
  }

  // Forms post with fetch so the page stays put; without this script they still work.
  function send(form, submitter) {
    var body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    var buttons = form.querySelectorAll("button:not(.enter-guard)");
    buttons.forEach(function (button) { button.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": root.dataset.csrf },
    })
      .then(function (response) {
        return response.json().then(function (data) {
          say(String(data.message || data.error || "HTTP " + response.status),
              response.ok ? "ok" : "error");
        }, function () { say("The server answered HTTP " + response.status + ".", "error"); });
      }, function () { say("Cannot reach the server.", "error"); })
      .then(function () {
        buttons.forEach(function (button) { button.disabled = false; });
        // The watcher applies a queued state within a poll or so: refresh soon after.
        clearTimeout(pollTimer);
        pollTimer = setTimeout(poll, 700);
      });
  }

  ["send", "reload"].forEach(function (id) {
    byId(id).addEventListener("submit", function (event) {
      event.preventDefault();
      send(event.currentTarget, event.submitter);
    });
  });

  document.querySelectorAll(".state[data-color]").forEach(function (button) {
    if (/^#[0-9a-fA-F]{6}$/.test(button.dataset.color)) {
      button.style.setProperty("--state", button.dataset.color);
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") poll();
  });
  render(JSON.parse(root.dataset.initial));
  pollTimer = setTimeout(poll, POLL_MS);
})();
