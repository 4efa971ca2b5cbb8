// The operator console's queue: the warnings, what waits (peeked every 5 s, each message with
// what the dashboard would do with it) and the charts of the queue stats (queue_charts.js, every
// 60 s). Server text goes in through textContent only.
(function () {
  "use strict";

  // ``clock(iso)`` shortens a time to the console's local one; ``cell(row, text)`` adds a <td>;
  // ``fillRows(body, items, columns, addCells)`` replaces a table body's rows. The console's
  // script calls ``render(data)`` with each data.json.
  window.consoleQueue = function (clock, cell, fillRows) {
    var WAITING_MS = 5000;
    var STATS_MS = 60000;
    var SHORT = 120;  // characters of a message shown before "the whole text"
    var root = document.getElementById("console");
    var hours = 24;
    var charts = window.consoleQueueCharts(cell, fillRows);  // (queue_charts.js)
    var age = charts.age, plural = charts.plural;

    function byId(id) { return document.getElementById(id); }

    // fetch as the console does: same origin, credentials, JSON; 401 stops (the console's own
    // poll reloads the page to its sign-in), a refusal's sentence becomes the error.
    function getJSON(url) {
      return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) return null;
          return response.json().then(function (data) {
            if (!response.ok) throw new Error(String(data.error || "HTTP " + response.status));
            return data;
          }, function () { throw new Error("The server answered HTTP " + response.status + "."); });
        });
    }

    // Ask ``url()`` every ``ms`` while the page is visible, one request at a time: ``show``
    // the answer or ``fail`` with the error. ``run(true)`` asks at once; a newer request
    // replaces one in flight (its answer is dropped).
    function every(ms, url, show, fail) {
      var asked = 0, timer = null, busy = false;
      function run(now) {
        clearTimeout(timer);
        if (busy && !now) return;
        busy = true;
        var mine = ++asked;
        getJSON(url()).then(function (data) {
          if (mine !== asked) return;
          if (data) show(data);
          return data;
        }, function (error) {
          if (mine === asked) fail(String(error.message || error));
          return true;
        }).then(function (going) {
          if (mine !== asked) return;
          busy = false;
          if (going && document.visibilityState === "visible") timer = setTimeout(run, ms);
        });
      }
      return run;
    }

    // --- warnings (from data.json) ---
    function renderWarnings(data) {
      var list = byId("warning-list");
      if (!list || !Array.isArray(data.warnings)) return;
      var items = document.createDocumentFragment();
      data.warnings.forEach(function (warning) {
        var item = document.createElement("li");
        item.dataset.kind = String(warning.kind || "");
        var message = String(warning.message || "");
        item.textContent = message.charAt(0).toUpperCase() + message.slice(1) + ".";
        items.appendChild(item);
      });
      list.replaceChildren(items);
      list.hidden = !data.warnings.length;
      var oldest = byId("queue-oldest");
      if (oldest) {
        oldest.textContent = typeof data.oldest_age === "number"
          ? "waiting; the oldest for " + age(data.oldest_age)
          : "messages waiting (approximate)";
      }
    }

    // --- what waits ---
    function deliveries(count) {
      if (!count) return "not delivered yet";
      return count === 1 ? "delivered once" : "delivered " + count + " times";
    }

    function part(parent, tag, className, text) {
      var element = document.createElement(tag);
      element.className = className;
      if (text !== undefined) element.textContent = text;
      parent.appendChild(element);
      return element;
    }

    function waitingItem(row) {
      var item = document.createElement("li");
      item.className = "waiting";
      item.dataset.outcome = String(row.outcome || "");
      var head = part(item, "div", "waiting-head");
      var time = part(head, "time", "waiting-time", row.inserted_on ? clock(row.inserted_on) : "?");
      if (row.inserted_on) time.dateTime = String(row.inserted_on);
      part(head, "span", "waiting-deliveries", deliveries(row.dequeue_count));
      if (root.dataset.chosen && row.pillow) {  // several pillows: whose it is
        part(head, "span", "waiting-pillow", "for " + String(row.pillow));
      }
      part(item, "p", "waiting-forecast", String(row.summary || ""));
      var content = String(row.content || "");
      var length = typeof row.length === "number" ? row.length : content.length;
      part(item, "p", "waiting-text",
           content.length > SHORT ? content.slice(0, SHORT) + "…" : content || "(empty)");
      if (content.length > SHORT) {
        var details = part(item, "details", "waiting-whole");
        part(details, "summary", "", "The whole text (" + plural(length, "character",
             "characters") + (length > content.length ? "; the first " + content.length +
             " shown" : "") + ")");
        part(details, "pre", "waiting-content", content);
      }
      return item;
    }

    function renderWaiting(data) {
      var rows = Array.isArray(data.rows) ? data.rows : [];
      var figures = data.figures || {};
      var list = byId("waiting-list");
      var items = document.createDocumentFragment();
      rows.forEach(function (row) { items.appendChild(waitingItem(row)); });
      list.replaceChildren(items);
      var status = byId("waiting-status");
      status.dataset.kind = "ok";
      if (!rows.length) {
        status.textContent = "Nothing waits (as of " + clock(data.as_of) + ").";
      } else {
        var depth = typeof figures.depth === "number" ? figures.depth : null;
        status.textContent = (depth !== null && depth > rows.length
          ? "The first " + rows.length + " of about " + depth + " waiting"
          : plural(rows.length, "message waits", "messages wait")) +
          (typeof figures.oldest_age === "number" ? "; the oldest for " + age(figures.oldest_age)
                                                  : "") +
          " (as of " + clock(data.as_of) + ").";
      }
    }

    var pollWaiting = every(WAITING_MS, function () { return root.dataset.waiting; },
      renderWaiting, function (message) {
        var status = byId("waiting-status");
        status.textContent = message;
        status.dataset.kind = "error";
      });

    function statsURL() {
      var url = new URL(root.dataset.stats, window.location.href);
      url.searchParams.set("hours", String(hours));
      return url.pathname + url.search;
    }

    var pollStats = every(STATS_MS, statsURL, function (data) {
      byId("charts-status").textContent = "";
      charts.draw(data, hours);
    }, function (message) { byId("charts-status").textContent = message; });

    document.querySelectorAll(".queue-range button[data-hours]").forEach(function (button) {
      button.addEventListener("click", function () {
        hours = Number(button.dataset.hours) || 24;
        document.querySelectorAll(".queue-range button").forEach(function (each) {
          each.setAttribute("aria-pressed", each === button ? "true" : "false");
        });
        byId("charts-hours").textContent = plural(hours, "hour", "hours");
        pollStats(true);
      });
    });

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { pollWaiting(); pollStats(); }
    });
    if (root.dataset.waiting) pollWaiting();
    if (root.dataset.stats) pollStats();

    return { render: renderWarnings };
  };
})();
