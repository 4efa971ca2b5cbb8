// The kiosk: show the pillow's state, swap it live, and say honestly when it is not live.
// Everything from the server reaches the page through textContent or checked attributes.
(function () {
  "use strict";

  var RETRY_MS = 5000;
  var root = document.getElementById("kiosk");
  var pictures = root.querySelectorAll(".picture");
  var textEl = document.getElementById("text");
  var announceEl = document.getElementById("announce");
  var updatedEl = document.getElementById("updated");
  var linkEl = document.getElementById("link");
  var linkTextEl = document.getElementById("link-text");
  // Where the app is served: "/pillow" behind a proxy that serves it under that prefix, else "".
  // The server's image paths are root-relative (as API clients get them); this page prefixes
  // them, and its socket's path, with it. Only a plain path: never "//elsewhere" or a scheme.
  var appRoot = document.body.dataset.root || "";
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(appRoot)) appRoot = "";

  // No state (null) while the server is starting: the page says so until a `state` event.
  var current = JSON.parse(root.dataset.state) || {};
  var queueStatus = JSON.parse(root.dataset.status);
  var socketUp = false;
  var everConnected = false;
  var downSince = null;
  var shownImage = current.image;
  var swapToken = 0;
  // Server clock minus ours: "updated 2 min ago" must not depend on the kiosk's clock being set.
  var skew = clockSkew(root.dataset.now);

  function clockSkew(serverNow) {
    var offset = Date.parse(serverNow) - Date.now();
    return isFinite(offset) ? offset : 0;
  }

  // Only pictures from the catalog's folder; anything else keeps the last good picture.
  function safeImage(url) {
    return typeof url === "string" && /^\/static\/img\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(url);
  }

  function preload(urls) {
    urls.filter(safeImage).forEach(function (url) { new Image().src = appRoot + url; });
  }

  function swapPicture(url) {
    // Any newer call wins, also one back to the picture shown: a slower swap must not land.
    var token = ++swapToken;
    if (!safeImage(url) || url === shownImage) return;
    var shown = root.querySelector(".picture.is-shown");
    var next = shown === pictures[0] ? pictures[1] : pictures[0];
    next.src = appRoot + url;
    // Swap only once the new picture is decoded, so the screen never flashes blank or broken.
    var ready = next.decode ? next.decode() : Promise.resolve();
    ready.then(function () {
      if (token !== swapToken) return;
      next.classList.add("is-shown");
      shown.classList.remove("is-shown");
      shownImage = url;
      keepRatio(next);
    }, function () {
      // Keep the last good picture and try again (the server may be restarting).
      setTimeout(function () { if (token === swapToken) swapPicture(url); }, RETRY_MS);
    });
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
    } else if (queueStatus.status === "starting") {
      state = "connecting";
      label = "starting";
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

  // Keep the screen on where the browser lets us. The browser drops the lock when the page is
  // hidden (and may at other times): ask again when shown, when released, and now and then.
  var wakeLock = null;  // the lock, or the request's promise while asking
  function keepAwake() {
    if (!("wakeLock" in navigator) || document.visibilityState !== "visible" || wakeLock) return;
    wakeLock = navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      lock.addEventListener("release", function () { wakeLock = null; keepAwake(); });
    }, function () { wakeLock = null; /* not granted now; the next tick asks again */ });
  }

  // Which pillow this screen shows (an older page names none: the server's default pillow).
  var pillowId = root.dataset.pillow || null;
  function mine(pillow) { return pillowId === null || pillow == null || pillow === pillowId; }

  var options = { path: appRoot + "/socket.io", reconnectionDelayMax: 5000 };
  if (pillowId !== null) options.auth = { pillow: pillowId };
  var socket = io(options);
  socket.on("connect", function () {
    socketUp = everConnected = true;
    downSince = null;
    showLink();
  });
  socket.on("disconnect", function (reason) {
    socketUp = false;
    downSince = new Date().toISOString();
    showLink();
    // The client reconnects by itself after anything but a disconnect the server asked for.
    if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, RETRY_MS);
  });

  // Reload only once the page itself answers: a reload into an error page (the server going
  // down again) would leave a kiosk with no script to recover. For a new build, only once the
  // page served is that build: behind a load balancer with two builds a kiosk would otherwise
  // reload forever. One attempt at a time, however many events ask.
  var wantedBuild = null;  // the build a hello announced
  var anyBuild = false;  // an operator's reload takes whatever page answers
  var reloadPending = false;
  function reloadWhenReachable() {
    if (reloadPending) return;
    reloadPending = true;
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html").getElementById("kiosk");
        if (page && page.hasAttribute("data-starting")) {
          // The server has not read its state yet: keep this page's picture, not a blank one.
          setTimeout(function () { reloadPending = false; reloadWhenReachable(); }, RETRY_MS);
        } else if (anyBuild || (page && page.dataset.build === wantedBuild)) {
          window.location.reload();
        } else {
          reloadPending = false;  // another build answered; the next hello tries again
        }
      }, function () {
        setTimeout(function () { reloadPending = false; reloadWhenReachable(); }, RETRY_MS);
      });
  }

  // A server with another build serves other code: load it. Operators can also ask for a reload.
  socket.on("hello", function (hello) {
    if (!hello || typeof hello !== "object") return;
    skew = clockSkew(hello.now);
    if (hello.build && hello.build !== root.dataset.build) {
      wantedBuild = String(hello.build);
      reloadWhenReachable();
    }
  });
  socket.on("reload", function () {
    anyBuild = true;
    reloadWhenReachable();
  });
  // Several pillows may share a server: only this pillow's state and its queue's status count.
  socket.on("state", function (state) { if (state && mine(state.pillow)) showState(state); });
  socket.on("status", function (status) {
    if (!status || typeof status !== "object") return;
    if (Array.isArray(status.pillows) && pillowId !== null &&
        status.pillows.indexOf(pillowId) < 0) return;
    queueStatus = status;
    showLink();
  });

  root.style.setProperty("--accent", current.color || "#8ec5ff");
  if (pictures[0].complete) keepRatio(pictures[0]);
  else pictures[0].addEventListener("load", function () { keepRatio(pictures[0]); });
  // The server-rendered picture failed (a server restarting?): load it again, never stay blank.
  function retryFirstPicture() {
    if (!current.image || !pictures[0].classList.contains("is-shown") ||
        shownImage !== current.image) return;
    shownImage = null;
    setTimeout(function () { swapPicture(current.image); }, RETRY_MS);
  }
  pictures[0].addEventListener("error", retryFirstPicture);
  if (pictures[0].complete && !pictures[0].naturalWidth) retryFirstPicture();
  preload(JSON.parse(root.dataset.images));
  showState(current);
  showLink();
  wakeCursor();
  keepAwake();
  document.addEventListener("mousemove", wakeCursor);
  document.addEventListener("touchstart", wakeCursor, { passive: true });
  document.addEventListener("visibilitychange", keepAwake);
  window.addEventListener("resize", fitText);
  setInterval(function () { showUpdated(); keepAwake(); }, 15000);
})();
