// The console's poison card: the poisoned messages (a peek: nothing is hidden or counted), each
// one shown whole on demand, requeued, or deleted after asking; or all of them, a few seconds'
// work per request until what was confirmed is done. Server text goes in through textContent.
(function () {
  "use strict";

  // ``clock(iso)`` shortens a time to the console's local one (operator.js hands it over).
  window.consolePoison = function (clock) {
    function byId(id) { return document.getElementById(id); }
    var card = byId("poison-card");
    var root = byId("console");
    if (!card || !root) return;
    var list = byId("poison-list");
    var summary = byId("poison-summary");
    var status = byId("poison-status");
    var progress = byId("poison-progress");
    var bulkButtons = { requeue: byId("poison-requeue-all"), delete: byId("poison-delete-all") };
    var PAST = { requeue: "Requeued", delete: "Deleted" };
    var REFRESH_MS = 15000;
    var timer = null;
    var loading = false;
    var again = false;  // a refresh was asked for while one was under way
    var busy = false;   // an action is under way: no other starts
    var count = 0;      // as the last list said: what "all" is when the operator confirms
    var items = {};     // entry id -> its <li>, kept across refreshes (focus and "Show" stay)
    var serial = 0;

    function say(message, kind) { status.textContent = message; status.dataset.kind = kind || "ok"; }

    function plural(number, word) { return number + " " + word + (number === 1 ? "" : "s"); }

    function element(name, className, text) {
      var made = document.createElement(name);
      made.className = className;
      if (text !== undefined) made.textContent = text;
      return made;
    }

    // The JSON of ``url``; a refusal rejects with the server's sentence (``error.server``).
    function request(url, options) {
      var settings = { credentials: "same-origin", headers: { Accept: "application/json" } };
      Object.keys(options || {}).forEach(function (key) { settings[key] = options[key]; });
      return fetch(url, settings).then(function (response) {
        if (response.status === 401) window.location.reload();
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok) return data;
          var refused = new Error(String(data.error || "HTTP " + response.status + "."));
          throw Object.assign(refused, { server: response.status });
        });
      });
    }

    // ``verb`` ("requeue" or "delete") with ``fields``. Only a confirmed delete is ever posted.
    function post(verb, fields) {
      var body = new URLSearchParams({ csrf: root.dataset.csrf, pillow: card.dataset.pillow });
      Object.keys(fields).forEach(function (key) { body.append(key, String(fields[key])); });
      if (verb === "delete") body.append("confirm", "yes");
      var headers = { Accept: "application/json", "X-CSRF-Token": root.dataset.csrf };
      return request(card.dataset[verb], { method: "POST", body: body, headers: headers });
    }

    function problem(error) { return error.server ? error.message : "Cannot reach the server."; }

    function enable() {
      card.setAttribute("aria-busy", busy ? "true" : "false");
      list.querySelectorAll("button").forEach(function (button) { button.disabled = busy; });
      Object.keys(bulkButtons).forEach(function (verb) { bulkButtons[verb].disabled = busy || !count; });
    }

    function part(item, name) { return item.querySelector(".poison-" + name); }

    // The buttons' names say which entry they act on ("Delete message 2") and what Show does now.
    function name(item) {
      var open = !part(item, "whole").hidden;
      part(item, "show").textContent = open ? "Hide" : "Show";
      part(item, "show").setAttribute("aria-expanded", open ? "true" : "false");
      ["show", "requeue", "delete"].forEach(function (verb) {
        var button = part(item, verb);
        button.setAttribute("aria-label", button.textContent + " message " + item.number);
      });
    }

    // One entry's <li>: a head (number, time, reason, id, size), the start of its text, its whole
    // text once shown, and its buttons.
    function makeItem(id) {
      var item = element("li", "poison-entry");
      var head = element("div", "poison-head");
      ["number", "time", "reason", "id", "size"].forEach(function (which) {
        head.appendChild(element(which === "time" ? "time" : "span", "poison-" + which));
      });
      // It scrolls: keyboard users can too (tabIndex).
      var whole = Object.assign(element("pre", "poison-whole"),
                                { id: "poison-whole-" + (++serial), hidden: true, tabIndex: 0 });
      var actions = element("div", "poison-actions");
      [["show", "Show", toggle], ["requeue", "Requeue", one], ["delete danger", "Delete", one]]
        .forEach(function (made) {
          var button = Object.assign(element("button", "poison-" + made[0], made[1]), { type: "button" });
          button.addEventListener("click", function () { made[2](item, made[0].split(" ")[0]); });
          actions.appendChild(button);
        });
      part(actions, "show").setAttribute("aria-controls", whole.id);
      item.append(head, element("p", "poison-text"), whole, actions);
      item.dataset.id = id;
      return item;
    }

    function fillItem(item, entry, number) {
      item.entry = entry;
      item.number = number;
      part(item, "number").textContent = "Message " + number;
      part(item, "time").dateTime = String(entry.poisoned_at || "");
      part(item, "time").textContent = clock(entry.poisoned_at) || String(entry.poisoned_at || "");
      part(item, "reason").textContent = String(entry.reason || "no reason given");
      part(item, "id").textContent = "id " + String(entry.original_id || entry.id);
      var length = Number(entry.length) || 0;
      var text = String(entry.content || "");
      part(item, "size").textContent = entry.kept_in_blob ? "kept in a blob" : plural(length, "character");
      part(item, "text").textContent = text + (entry.kept_in_blob || length > text.length ? "…" : "");
      name(item);
    }

    // The list updated in place: an entry keeps its <li> (and keyboard focus) across refreshes.
    function render(data) {
      var entries = Array.isArray(data.entries) ? data.entries : [];
      count = typeof data.count === "number" ? data.count : entries.length;
      var when = clock(data.as_of);
      summary.textContent = (count ? plural(count, "message") + " poisoned"
        + (count > entries.length ? ", the oldest " + entries.length + " listed" : "")
        : "Nothing is poisoned") + (when ? " (as of " + when + ")." : ".");
      var kept = {};
      var wanted = entries.map(function (entry, index) {
        var id = String(entry.id);
        kept[id] = items[id] || makeItem(id);
        fillItem(kept[id], entry, index + 1);
        return kept[id];
      });
      items = kept;
      wanted.forEach(function (item, index) {
        if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
      });
      while (list.children.length > wanted.length) list.removeChild(list.lastChild);
      enable();
    }

    function refresh() {
      clearTimeout(timer);
      if (loading) { again = true; return; }
      loading = true;
      request(card.dataset.list)
        .then(render, function (error) {
          if (!busy) say("The poison list: " + problem(error), "error");
        })
        .then(function () {
          loading = false;
          if (again) { again = false; refresh(); }
          else if (document.visibilityState === "visible") timer = setTimeout(refresh, REFRESH_MS);
        });
    }

    function toggle(item) {
      var whole = part(item, "whole");
      var show = function (open) {
        whole.hidden = !open;
        part(item, "text").hidden = open;  // the start of it, shown whole below
        name(item);
      };
      if (!whole.hidden) { show(false); return; }
      var query = new URLSearchParams({ pillow: card.dataset.pillow, id: item.dataset.id });
      part(item, "show").disabled = true;
      request(card.dataset.entry + "?" + query)
        .then(function (data) {
          whole.textContent = String(data.content || "");
          show(true);
        }, function (error) {
          say(problem(error), "error");
          if (error.server === 404) refresh();
        })
        .then(function () { part(item, "show").disabled = busy; });
    }

    // Post ``verb`` with ``fields``, ``then`` taking the answer's promise; the buttons wait.
    function act(verb, fields, then) {
      busy = true;
      enable();
      return then(post(verb, fields))
        .catch(function (error) { say(problem(error), "error"); })
        .then(function () { busy = false; enable(); refresh(); });
    }

    function one(item, verb) {
      var text = String((item.entry || {}).content || "").slice(0, 120);
      if (busy || (verb === "delete" && !window.confirm(
        "Delete 1 poisoned message for good?\n\n" + text))) return;
      act(verb, { id: item.dataset.id }, function (sent) {
        return sent.then(function (data) { say(String(data.message || PAST[verb] + ".")); });
      });
    }

    // All of them: as many as the list counted and the operator confirmed, one bounded request
    // after another (each says what is left), so a watcher poisoning again cannot keep it going.
    function all(verb) {
      var total = count, done = 0;
      if (busy || !total || !window.confirm(verb === "delete"
        ? "Delete the " + plural(total, "poisoned message") + " for good?"
        : "Send the " + plural(total, "poisoned message") + " back to the queue?")) return;
      Object.assign(progress, { max: total, value: 0, hidden: false });
      say(PAST[verb] + " 0 of " + total + "…");
      function step(sent) {
        return sent.then(function (data) {
          var now = Number(data.done) || 0;
          var left = Number(data.left) || 0;
          progress.value = Math.min(done += now, total);
          if (left > 0 && now > 0) {
            say(PAST[verb] + " " + done + " of " + total + "…");
            return step(post(verb, { all: 1, limit: left }));
          }
          say(PAST[verb] + " " + plural(done, "message") + ".");
          return null;
        }, function (error) {
          say(problem(error) + " " + PAST[verb] + " " + done + " in all before it.", "error");
        });
      }
      act(verb, { all: 1, limit: total }, step).then(function () { progress.hidden = true; });
    }

    Object.keys(bulkButtons).forEach(function (verb) {
      bulkButtons[verb].addEventListener("click", function () { all(verb); });
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refresh(); else clearTimeout(timer);
    });
    refresh();
  };
})();
