// The kiosk: show the pillow's state, swap it live, and say honestly when it is not live.
// Everything from the server reaches the page through textContent or checked attributes.
// shared.js (PillowScreen) holds what the overview shares: the socket, clock, pictures, link.
(function () {
  "use strict";

  var shared = window.PillowScreen;
  var root = document.getElementById("kiosk");
  // The screen's options (theme, footer, rotate, text): classes and a variable on <html>.
  var options = shared.screenOptions(), html = document.documentElement;
  if (options.theme) html.classList.add("theme-" + options.theme);
  if (options.footer) html.classList.add("footer-hidden");
  if (options.rotate) html.classList.add("rotate-" + options.rotate, "rotated");
  if (options.rotate === 90 || options.rotate === 270) html.classList.add("sideways");
  if (options.text) html.style.setProperty("--text-scale", String(options.text / 100));
  var pictures = root.querySelectorAll(".picture");
  var textEl = document.getElementById("text");
  var announceEl = document.getElementById("announce");
  var updatedEl = document.getElementById("updated");
  var linkEl = document.getElementById("link");
  var linkTextEl = document.getElementById("link-text");

  // No state (null) while the server is starting: the page says so until a `state` event.
  var current = JSON.parse(root.dataset.state) || {};
  var queueStatus = JSON.parse(root.dataset.status);
  // The picture shown (image) and the latest swap (swapToken), for shared.swapPicture.
  var stage = { image: look(current).image, swapToken: 0 };
  // Which pillow this screen shows (an older page names none: the server's default pillow).
  var pillowId = root.dataset.pillow || null;

  // The last state shown, kept by the browser for a start while the server is down. The
  // service worker (sw.js) then serves this page as it was cached, marked data-offline: its
  // state and clock are as old as the copy (screen.js has its link say "reconnecting").
  var savedKey = "pillow-web:" + shared.appRoot + ":" + (pillowId || "default");
  var saved = null;
  try { saved = JSON.parse(localStorage.getItem(savedKey)); } catch (error) { /* none */ }
  if (!saved || typeof saved !== "object" || !saved.state || typeof saved.state !== "object" ||
      !isFinite(Date.parse(saved.state.received_at))) saved = null;
  if (document.body.hasAttribute("data-offline")) {
    var savedSkew = saved && isFinite(saved.skew) ? saved.skew : 0;
    shared.syncClock(new Date(Date.now() + savedSkew).toISOString());
  } else {
    shared.syncClock(root.dataset.now);
  }
  if (saved && !(Date.parse(current.received_at) >= Date.parse(saved.state.received_at))) {
    current = saved.state;
  }

  function save(state) {
    try {
      localStorage.setItem(savedKey, JSON.stringify({ state: state, skew: shared.skew() }));
    } catch (error) { /* storage off or full: only a start without the server loses it */ }
  }

  // Two pictures cross-fade: the new one loads into the hidden one, which then takes its place.
  function swapPicture(url) { shared.swapPicture(stage, url, loadHidden, showLoaded); }

  function other(picture) { return picture === pictures[0] ? pictures[1] : pictures[0]; }

  function loadHidden(src) {
    var hidden = other(root.querySelector(".picture.is-shown"));
    hidden.src = src;
    return hidden;
  }

  // Only the latest swap gets here, so the other picture is still the one shown until now.
  function showLoaded(next) {
    next.classList.add("is-shown");
    other(next).classList.remove("is-shown");
    keepRatio(next);
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
    var limit = (2.6 * 1.15 + 0.4) * size;  // two lines and a bit, and the chip's padding
    while (textEl.scrollHeight > limit && size > 12) {
      size *= 0.9;
      textEl.style.fontSize = size + "px";
    }
  }

  // What a state looks like: its picture, text and accent; or, while the server says the pillow
  // is silent (`silent`: it sent nothing for a while), the catalog's NOTCONNECTED picture with
  // when it last did. The next state without `silent` shows the pillow's own again.
  function look(state) {
    var silent = state.silent;
    if (silent && typeof silent === "object" && shared.safeImage(silent.image) &&
        isFinite(Date.parse(silent.since))) {
      return { image: silent.image, color: silent.color, silent: true,
               text: "No word from the pillow since " + shared.clock(silent.since) };
    }
    return { image: state.image, color: state.color, silent: false,
             text: String(state.text || "") };
  }

  function showState(state) {
    if (!state || typeof state.state !== "string") return;
    var shown = look(state);
    var changed = state.state !== current.state || state.text !== current.text ||
                  shown.silent !== look(current).silent;
    current = state;
    swapPicture(shown.image);
    textEl.textContent = shown.text;
    shared.setAccent(root, shown.color);
    if (changed) announceEl.textContent = shown.silent ? shown.text : state.text || state.state;
    if (state.received_at) save(state);
    fitText();
    showUpdated();
  }

  function showUpdated() { updatedEl.textContent = shared.updated(current.received_at); }

  // While the server starts the dot says "connecting" (the words say "starting").
  function showLink() { shared.showLink(linkEl, linkTextEl, queueStatus, "connecting"); }

  // Keep the screen on where the browser lets us. The browser drops the lock when the page is
  // hidden (and may at other times): ask again when shown, when released, and now and then.
  var wakeLock = null;  // the lock, or the request's promise while asking
  // In a frame, only if the parent page allows it (<iframe allow="screen-wake-lock">).
  var policy = document.permissionsPolicy || document.featurePolicy;
  var mayLock = "wakeLock" in navigator && !(policy && !policy.allowsFeature("screen-wake-lock"));
  function keepAwake() {
    if (!mayLock || document.visibilityState !== "visible" || wakeLock) return;
    wakeLock = navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      lock.addEventListener("release", function () { wakeLock = null; keepAwake(); });
    }, function () { wakeLock = null; /* not granted now; the next tick asks again */ });
  }

  function mine(pillow) { return pillowId === null || pillow == null || pillow === pillowId; }

  // Have the service worker keep this page, its files and every picture. A page it serves
  // already went through it (and a page it served offline would only fetch in vain).
  function keepOffline() {
    if (!("serviceWorker" in navigator) || document.body.hasAttribute("data-offline")) return;
    var files = Array.prototype.map.call(document.querySelectorAll("script[src], link[href]"),
                                         function (el) { return el.src || el.href; });
    var urls = [window.location.pathname].concat(files, images.filter(shared.safeImage)
      .map(function (url) { return shared.appRoot + url; }));
    navigator.serviceWorker.register(shared.appRoot + "/sw.js", { scope: shared.appRoot + "/" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        if (!navigator.serviceWorker.controller) registration.active.postMessage({ keep: urls });
      })
      .catch(function () { /* no offline copy: the page works as before */ });
  }

  var socket = shared.connect(root, pillowId === null ? null : { pillow: pillowId }, showLink);
  // Several pillows may share a server: only this pillow's state and its queue's status count.
  socket.on("state", function (state) { if (state && mine(state.pillow)) showState(state); });
  socket.on("status", function (status) {
    if (!status || typeof status !== "object") return;
    if (Array.isArray(status.pillows) && pillowId !== null &&
        status.pillows.indexOf(pillowId) < 0) return;
    queueStatus = status;
    showLink();
  });

  shared.setAccent(root, look(current).color);  // none while starting: kiosk.css's own
  if (pictures[0].complete) keepRatio(pictures[0]);
  else pictures[0].addEventListener("load", function () { keepRatio(pictures[0]); });
  // The server-rendered picture failed (a server restarting?): load it again, never stay blank.
  function retryFirstPicture() {
    var image = look(current).image;
    if (!image || !pictures[0].classList.contains("is-shown") || stage.image !== image) return;
    stage.image = null;
    setTimeout(function () { swapPicture(look(current).image); }, shared.RETRY_MS);
  }
  pictures[0].addEventListener("error", retryFirstPicture);
  if (pictures[0].complete && !pictures[0].naturalWidth) retryFirstPicture();
  var images = JSON.parse(root.dataset.images);
  shared.preload(images);
  showState(current);
  showLink();
  shared.hideIdleCursor();
  keepOffline();
  keepAwake();
  document.addEventListener("visibilitychange", keepAwake);
  window.addEventListener("resize", fitText);
  setInterval(function () { showUpdated(); keepAwake(); }, 15000);
})();
