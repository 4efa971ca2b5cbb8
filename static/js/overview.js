// The overview: every pillow as a tile, each swapped live, each saying honestly when it is not.
// Everything from the server reaches the page through textContent or checked attributes.
// screen.js (PillowScreen) holds what the kiosk shares: the socket, clock, pictures, link.
(function () {
  "use strict";

  var shared = window.PillowScreen;
  var root = document.getElementById("overview");
  var summaryEl = document.getElementById("summary");
  var announceEl = document.getElementById("announce");
  shared.syncClock(root.dataset.now);

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

  // A tile has one picture: the new one loads aside and replaces it once decoded.
  function swapPicture(tile, url) {
    shared.swapPicture(tile, url, function (src) {
      var loader = new Image();
      loader.src = src;
      return loader;
    }, function (loader, src) { tile.picture.setAttribute("src", src); });
  }

  function showState(tile, state) {
    if (!state || typeof state.state !== "string") return;
    var before = tile.state || {};
    tile.state = state;
    swapPicture(tile, state.image);
    tile.text.textContent = String(state.text || "");
    shared.setAccent(tile.el, state.color);
    tile.el.dataset.shows = state.state;
    if (before.state && (state.state !== before.state || state.text !== before.text)) {
      announceEl.textContent = tile.name + ": " + String(state.text || state.state);
    }
    showUpdated(tile);
  }

  function showUpdated(tile) {
    tile.updated.textContent = shared.updated(tile.state && tile.state.received_at);
  }

  // Each tile's link (a tile is only as live as this page), then how many are live.
  function showLinks() {
    var ids = Object.keys(tiles), live = 0, connection = shared.connection;
    ids.forEach(function (id) {
      var tile = tiles[id];
      if (shared.showLink(tile.link, tile.linkText, tile.status, "starting") === "live") live++;
    });
    summaryEl.textContent = ids.length + (ids.length === 1 ? " pillow" : " pillows") + " · " +
      (!connection.up ? (connection.ever ? "reconnecting" : "connecting")
                      : live === ids.length ? "all live" : live + " live");
  }

  function each(fn) { Object.keys(tiles).forEach(function (id) { fn(tiles[id]); }); }
  // Every pillow's states and statuses; a hello also sets the clock each "updated" counts from.
  var socket = shared.connect(root, { overview: true }, showLinks,
                              function () { each(showUpdated); });
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

  shared.preload(JSON.parse(root.dataset.images));
  // A server-rendered picture that failed (a server restarting?) is loaded again, never blank.
  function retryFirstPicture(tile) {
    if (!tile.state || tile.image !== tile.state.image) return;  // none, or a swap under way
    tile.image = null;
    setTimeout(function () { swapPicture(tile, tile.state.image); }, shared.RETRY_MS);
  }
  each(function (tile) {
    if (tile.state) showState(tile, tile.state);
    var img = tile.picture;
    img.addEventListener("error", function () { retryFirstPicture(tile); }, { once: true });
    if (img.complete && img.getAttribute("src") && !img.naturalWidth) retryFirstPicture(tile);
  });
  showLinks();
  shared.hideIdleCursor();
  setInterval(function () { each(showUpdated); }, 15000);
})();
