// The kiosk: show the pillow's state, swap it live, and say honestly when it is not live.
// Everything from the server reaches the page through textContent or checked attributes.
(function () {
  "use strict";

  var root = document.getElementById("kiosk");
  var pictures = root.querySelectorAll(".picture");
  var textEl = document.getElementById("text");
  var announceEl = document.getElementById("announce");
  var updatedEl = document.getElementById("updated");
  var linkEl = document.getElementById("link");
  var linkTextEl = document.getElementById("link-text");

  var current = JSON.parse(root.dataset.state);
  var queueStatus = JSON.parse(root.dataset.status);
  var socketUp = false;
  var everConnected = false;
  var downSince = null;
  var shownImage = current.image;
  var swapToken = 0;

  // Only pictures from the catalog's folder; anything else keeps the last good picture.
  function safeImage(url) {
    return typeof url === "string" && /^\/static\/img\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(url);
  }

  function preload(urls) {
    urls.filter(safeImage).forEach(function (url) { new Image().src = url; });
  }

  function swapPicture(url) {
    if (!safeImage(url) || url === shownImage) return;
    var token = ++swapToken;
    var shown = root.querySelector(".picture.is-shown");
    var next = shown === pictures[0] ? pictures[1] : pictures[0];
    next.src = url;
    // Swap only once the new picture is decoded, so the screen never flashes blank or broken.
    var ready = next.decode ? next.decode() : Promise.resolve();
    ready.then(function () {
      if (token !== swapToken) return;
      next.classList.add("is-shown");
      shown.classList.remove("is-shown");
      shownImage = url;
      keepRatio(next);
    }, function () { /* keep the last good picture */ });
  }

  // Tall screens size the stage to the picture's proportions (see kiosk.css).
  function keepRatio(img) {
    if (img.naturalWidth && img.naturalHeight) {
      root.style.setProperty("--ratio", String(img.naturalWidth / img.naturalHeight));
    }
  }

  function fitText() {
    // Shrink long texts until they fit in two lines; short ones keep the large size.
    textEl.style.fontSize = "";
    var size = parseFloat(getComputedStyle(textEl).fontSize);
    var limit = 2.6 * size * 1.15;
    while (textEl.scrollHeight > limit && size > 12) {
      size *= 0.9;
      textEl.style.fontSize = size + "px";
    }
  }

  function showState(state) {
    if (!state || typeof state.state !== "string") return;
    var changed = state.state !== current.state || state.text !== current.text;
    current = state;
    swapPicture(state.image);
    textEl.textContent = String(state.text || "");
    if (typeof state.color === "string" && /^#[0-9a-fA-F]{6}$/.test(state.color)) {
      root.style.setProperty("--accent", state.color);
    }
    if (changed) announceEl.textContent = String(state.text || state.state);
    fitText();
    showUpdated();
  }

  function ago(iso) {
    var seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
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

  function showUpdated() {
    updatedEl.textContent = current.received_at ? "updated " + ago(current.received_at) : "";
  }

  function showLink() {
    var state, label;
    if (!socketUp && !everConnected) {
      state = "connecting";
      label = "connecting";
    } else if (!socketUp) {
      state = "reconnecting";
      label = "reconnecting" + (downSince ? " since " + clock(downSince) : "");
    } else if (!queueStatus.queue_ok) {
      state = "queue-down";
      label = queueStatus.since ? "no pillow data since " + clock(queueStatus.since)
                                : "waiting for pillow data";
    } else {
      state = "live";
      label = "live";
    }
    linkEl.dataset.link = state;
    linkTextEl.textContent = label;
  }

  // The cursor hides after a few idle seconds; a touch or move shows it again.
  var idleTimer = null;
  function wakeCursor() {
    document.body.classList.remove("idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { document.body.classList.add("idle"); }, 3000);
  }

  // Keep the screen on where the browser lets us; re-request when the page is shown again.
  function keepAwake() {
    if (!("wakeLock" in navigator) || document.visibilityState !== "visible") return;
    navigator.wakeLock.request("screen").catch(function () { /* not granted: nothing to do */ });
  }

  var socket = io({ reconnectionDelayMax: 5000 });
  socket.on("connect", function () {
    socketUp = everConnected = true;
    downSince = null;
    showLink();
  });
  socket.on("disconnect", function () {
    socketUp = false;
    downSince = new Date().toISOString();
    showLink();
  });
  // Reload only once the page itself answers: a reload into an error page (the server going
  // down again) would leave a kiosk with no script to recover.
  var reloading = false;
  function reloadWhenReachable() {
    if (reloading) return;
    reloading = true;
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error("HTTP " + response.status); })
      .then(function () { window.location.reload(); }, function () {
        reloading = false;
        setTimeout(reloadWhenReachable, 5000);
      });
  }

  // A server with another build serves other code: load it. Operators can also ask for a reload.
  socket.on("hello", function (hello) {
    if (hello && hello.build && hello.build !== root.dataset.build) reloadWhenReachable();
  });
  socket.on("reload", reloadWhenReachable);
  socket.on("state", showState);
  socket.on("status", function (status) {
    if (status && typeof status === "object") queueStatus = status;
    showLink();
  });

  root.style.setProperty("--accent", current.color || "#8ec5ff");
  if (pictures[0].complete) keepRatio(pictures[0]);
  else pictures[0].addEventListener("load", function () { keepRatio(pictures[0]); });
  preload(JSON.parse(root.dataset.images));
  showState(current);
  showLink();
  wakeCursor();
  keepAwake();
  document.addEventListener("mousemove", wakeCursor);
  document.addEventListener("touchstart", wakeCursor, { passive: true });
  document.addEventListener("visibilitychange", keepAwake);
  window.addEventListener("resize", fitText);
  setInterval(showUpdated, 15000);
})();
