// The overview: every pillow as a tile, each swapped live, each saying honestly when it is not.
// Everything from the server reaches the page through textContent or checked attributes.
(function () {
  "use strict";

  var RETRY_MS = 5000;
  var root = document.getElementById("overview");
  var summaryEl = document.getElementById("summary");
  var announceEl = document.getElementById("announce");
  // The app's path prefix behind a proxy (see kiosk.js): only a plain path, never a host.
  var appRoot = document.body.dataset.root || "";
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(appRoot)) appRoot = "";

  var socketUp = false;
  var everConnected = false;
  var downSince = null;
  // Server clock minus ours: "updated 2 min ago" must not depend on this screen's clock.
  var skew = clockSkew(root.dataset.now);

  // Pillow id -> its tile's elements and what it shows (null state while the server starts).
  var tiles = Object.create(null);  // no inherited keys: ids come from the server
  Array.prototype.forEach.call(root.querySelectorAll(".tile[data-pillow]"), function (el) {
    var state = JSON.parse(el.dataset.state);
    tiles[el.dataset.pillow] = {
      el: el, state: state, status: JSON.parse(el.dataset.status) || {},
      image: state && state.image, swapToken: 0,
      picture: el.querySelector(".picture"), text: el.querySelector(".text"),
      updated: el.querySelector(".updated"), link: el.querySelector(".link"),
      linkText: el.querySelector(".link-text"), name: el.querySelector(".name").textContent
    };
  });

  function clockSkew(serverNow) {
    var offset = Date.parse(serverNow) - Date.now();
    return isFinite(offset) ? offset : 0;
  }

  // Only pictures from the catalog's folder; anything else keeps the last good picture.
  function safeImage(url) {
    return typeof url === "string" && /^\/static\/img\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(url);
  }

  function swapPicture(tile, url) {
    // Any newer call wins, also one back to the picture shown: a slower load must not land.
    var token = ++tile.swapToken;
    if (!safeImage(url) || url === tile.image) return;
    var loader = new Image();
    loader.src = appRoot + url;
    // Swap once decoded, so a tile never flashes blank or broken; on failure keep the last
    // good picture and try again (the server may be restarting).
    (loader.decode ? loader.decode() : Promise.resolve()).then(function () {
      if (token !== tile.swapToken) return;
      tile.picture.setAttribute("src", appRoot + url);
      tile.image = url;
    }, function () {
      setTimeout(function () { if (token === tile.swapToken) swapPicture(tile, url); }, RETRY_MS);
    });
  }

  function showState(tile, state) {
    if (!state || typeof state.state !== "string") return;
    var before = tile.state || {};
    tile.state = state;
    swapPicture(tile, state.image);
    tile.text.textContent = String(state.text || "");
    if (typeof state.color === "string" && /^#[0-9a-fA-F]{6}$/.test(state.color)) {
      tile.el.style.setProperty("--accent", state.color);
    }
    tile.el.dataset.shows = state.state;
    if (before.state && (state.state !== before.state || state.text !== before.text)) {
      announceEl.textContent = tile.name + ": " + String(state.text || state.state);
    }
    showUpdated(tile);
  }

  function ago(iso) {
    var seconds = Math.max(0, (Date.now() + skew - Date.parse(iso)) / 1000);
    if (!isFinite(seconds)) return "";
    if (seconds < 45) return "just now";
    if (seconds < 90) return "1 min ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " d ago";
  }

  function clock(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function showUpdated(tile) {
    var at = tile.state && tile.state.received_at;
    tile.updated.textContent = at ? "updated " + ago(at) : "";
  }

  // One tile's link: this page's socket first (a tile is only as live as the page), then the
  // server's word on that pillow's queue.
  function showLink(tile) {
    var status = tile.status, state, label;
    if (!socketUp && !everConnected) {
      state = "connecting";
      label = "connecting";
    } else if (!socketUp) {
      state = "reconnecting";
      label = "reconnecting" + (downSince ? " since " + clock(downSince) : "");
    } else if (status.status === "starting") {
      state = "starting";
      label = "starting";
    } else if (!status.queue_ok) {
      state = "queue-down";
      label = status.since ? "no pillow data since " + clock(status.since)
                           : "waiting for pillow data";
    } else {
      state = "live";
      label = "live";
    }
    tile.link.dataset.link = state;
    tile.linkText.textContent = label;
    return state;
  }

  function showLinks() {
    var ids = Object.keys(tiles), live = 0;
    ids.forEach(function (id) { if (showLink(tiles[id]) === "live") live++; });
    summaryEl.textContent = ids.length + (ids.length === 1 ? " pillow" : " pillows") + " · " +
      (!socketUp ? (everConnected ? "reconnecting" : "connecting")
                 : live === ids.length ? "all live" : live + " live");
  }

  function each(fn) { Object.keys(tiles).forEach(function (id) { fn(tiles[id]); }); }
  var socket = io({ path: appRoot + "/socket.io", reconnectionDelayMax: 5000,
                    auth: { overview: true } });
  socket.on("connect", function () {
    socketUp = everConnected = true;
    downSince = null;
    showLinks();
  });
  socket.on("disconnect", function (reason) {
    socketUp = false;
    downSince = new Date().toISOString();
    showLinks();
    // The client reconnects by itself after anything but a disconnect the server asked for.
    if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, RETRY_MS);
  });

  // Reload only once this page answers, and for a new build only into that build (kiosk.js
  // says why); while the server has read no pillow's state yet, keep the pictures shown.
  var wantedBuild = null;
  var anyBuild = false;
  var reloadPending = false;
  function reloadWhenReachable() {
    if (reloadPending) return;
    reloadPending = true;
    function later() { setTimeout(function () { reloadPending = false; reloadWhenReachable(); },
                                  RETRY_MS); }
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html").getElementById("overview");
        if (page && page.hasAttribute("data-starting")) later();
        else if (anyBuild || (page && page.dataset.build === wantedBuild)) window.location.reload();
        else reloadPending = false;  // another build answered; the next hello tries again
      }, later);
  }

  socket.on("hello", function (hello) {
    if (!hello || typeof hello !== "object") return;
    skew = clockSkew(hello.now);
    each(showUpdated);
    if (hello.build && hello.build !== root.dataset.build) {
      wantedBuild = String(hello.build);
      reloadWhenReachable();
    }
  });
  socket.on("reload", function () {
    anyBuild = true;
    reloadWhenReachable();
  });
  socket.on("state", function (state) {
    var tile = state && typeof state.pillow === "string" && tiles[state.pillow];
    if (tile) showState(tile, state);
  });
  // A status is about one queue: every pillow listed in it (none listed: every pillow).
  socket.on("status", function (status) {
    if (!status || typeof status !== "object") return;
    var ids = Array.isArray(status.pillows) ? status.pillows : Object.keys(tiles);
    ids.forEach(function (id) {
      if (typeof id === "string" && tiles[id]) tiles[id].status = status;
    });
    showLinks();
  });

  // The cursor hides after a few idle seconds on a wall screen; a touch or move shows it again.
  var idleTimer = null;
  function wakeCursor() {
    document.body.classList.remove("idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { document.body.classList.add("idle"); }, 3000);
  }

  JSON.parse(root.dataset.images).filter(safeImage)
    .forEach(function (url) { new Image().src = appRoot + url; });
  // A server-rendered picture that failed (a server restarting?) is loaded again, never blank.
  function retryFirstPicture(tile) {
    if (!tile.state || tile.image !== tile.state.image) return;  // none, or a swap under way
    tile.image = null;
    setTimeout(function () { swapPicture(tile, tile.state.image); }, RETRY_MS);
  }
  each(function (tile) {
    if (tile.state) showState(tile, tile.state);
    var img = tile.picture;
    img.addEventListener("error", function () { retryFirstPicture(tile); }, { once: true });
    if (img.complete && img.getAttribute("src") && !img.naturalWidth) retryFirstPicture(tile);
  });
  showLinks();
  wakeCursor();
  document.addEventListener("mousemove", wakeCursor);
  document.addEventListener("touchstart", wakeCursor, { passive: true });
  setInterval(function () { each(showUpdated); }, 15000);
})();
