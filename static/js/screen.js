// What the kiosk (kiosk.js) and the overview (overview.js) share: the app's path, the server's
// clock, safe pictures swapped only once decoded, the link's wording, the idle cursor, and the
// socket with its reconnects and build reloads. Loaded before either, as window.PillowScreen.
(function () {
  "use strict";

  var RETRY_MS = 5000;
  // Where the app is served: "/pillow" behind a proxy that serves it under that prefix, else "".
  // The server's image paths are root-relative (as API clients get them); the pages prefix
  // them, and the socket's path, with it. Only a plain path: never "//elsewhere" or a scheme.
  var appRoot = document.body.dataset.root || "";
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(appRoot)) appRoot = "";
  // Server clock minus ours: "updated 2 min ago" must not depend on the screen's clock being set.
  var skew = 0;
  // This page's socket: up now, ever up, and since when it is down (an ISO time, or null).
  // A page the service worker served from its copy (sw.js marks it data-offline) was up before
  // the server went away: it says "reconnecting", never "connecting".
  var connection = { up: false, ever: document.body.hasAttribute("data-offline"),
                     downSince: null };

  // A screen's options, from its URL (see the README's "Kiosk options"): a value that is not
  // one of the documented ones is left out, so a typo never breaks the page.
  var TEXT_SIZES = { s: 75, m: 100, l: 125, xl: 150 };  // percent of the usual size
  function screenOptions() {
    var query = new URLSearchParams(window.location.search), options = {};
    var theme = query.get("theme"), footer = query.get("footer"), rotate = query.get("rotate");
    var text = (query.get("text") || "").replace(/%$/, ""), screen = query.get("screen");
    if (theme === "light" || theme === "dark") options.theme = theme;
    if (footer === "hide" || footer === "0") options.footer = "hide";
    if (["90", "180", "270"].indexOf(rotate) >= 0) options.rotate = Number(rotate);
    if (Object.prototype.hasOwnProperty.call(TEXT_SIZES, text)) options.text = TEXT_SIZES[text];
    else if (/^[0-9]{2,3}$/.test(text) && +text >= 50 && +text <= 200) options.text = +text;
    screen = (screen || "").trim();
    if (screen && Array.from(screen).length <= 40 && !/[\x00-\x1f\x7f-\x9f]/.test(screen)) {
      options.screen = screen;
    }
    return options;
  }

  function syncClock(serverNow) {
    var offset = Date.parse(serverNow) - Date.now();
    skew = isFinite(offset) ? offset : 0;
  }

  // Only pictures from the catalog's folder; anything else keeps the last good picture.
  function safeImage(url) {
    return typeof url === "string" && /^\/static\/img\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(url);
  }

  function preload(urls) {
    urls.filter(safeImage).forEach(function (url) { new Image().src = appRoot + url; });
  }

  // Show `url` in `view` ({swapToken, image: the url shown}) once decoded, so a screen never
  // flashes blank or broken: load(src) starts loading and gives the <img> to wait for,
  // show(img, src) puts it on screen. Any newer call wins, also one back to the picture shown:
  // a slower load must not land. On failure keep the last good picture and try again (the
  // server may be restarting).
  function swapPicture(view, url, load, show) {
    var token = ++view.swapToken;
    if (!safeImage(url) || url === view.image) return;
    var img = load(appRoot + url);
    (img.decode ? img.decode() : Promise.resolve()).then(function () {
      if (token !== view.swapToken) return;
      show(img, appRoot + url);
      view.image = url;
    }, function () {
      setTimeout(function () {
        if (token === view.swapToken) swapPicture(view, url, load, show);
      }, RETRY_MS);
    });
  }

  function setAccent(el, color) {
    if (typeof color === "string" && /^#[0-9a-fA-F]{6}$/.test(color)) {
      el.style.setProperty("--accent", color);
    }
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

  function updated(iso) { return iso ? "updated " + ago(iso) : ""; }

  function clock(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // A link's dot and words: this page's socket first (a screen is only as live as its page),
  // then the server's word on the queue. `startingAs` names the dot's state while it starts.
  function showLink(dotEl, textEl, status, startingAs) {
    var state, label, downSince = connection.downSince;
    if (!connection.up && !connection.ever) {
      state = "connecting";
      label = "connecting";
    } else if (!connection.up) {
      state = "reconnecting";
      label = "reconnecting" + (downSince ? " since " + clock(downSince) : "");
    } else if (status.status === "starting") {
      state = startingAs;
      label = "starting";
    } else if (!status.queue_ok) {
      state = "queue-down";
      label = status.since ? "no pillow data since " + clock(status.since)
                           : "waiting for pillow data";
    } else {
      state = "live";
      label = "live";
    }
    dotEl.dataset.link = state;
    textEl.textContent = label;
    return state;
  }

  // The cursor hides after a few idle seconds on a wall screen; a touch or move shows it again.
  var idleTimer = null;
  function wakeCursor() {
    document.body.classList.remove("idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { document.body.classList.add("idle"); }, 3000);
  }

  function hideIdleCursor() {
    wakeCursor();
    document.addEventListener("mousemove", wakeCursor);
    document.addEventListener("touchstart", wakeCursor, { passive: true });
  }

  // The page's socket. `root` is the page's <main>: its id finds it in a fetched page, its
  // data-build names this page's build. `auth` goes to the server, with more; onLink() repaints
  // the link when the socket comes or goes; onHello(), if given, runs once a hello set the clock.
  // Every screen also tells the server its page, its build and its name (the screen option).
  function connect(root, auth, onLink, onHello) {
    var options = { path: appRoot + "/socket.io", reconnectionDelayMax: 5000 };
    var screen = screenOptions().screen;
    options.auth = Object.assign({}, auth, { page: window.location.pathname,
                                             build: root.dataset.build });
    if (screen) options.auth.screen = screen;
    var socket = io(options);
    socket.on("connect", function () {
      connection.up = connection.ever = true;
      connection.downSince = null;
      onLink();
    });
    socket.on("disconnect", function (reason) {
      connection.up = false;
      connection.downSince = new Date().toISOString();
      onLink();
      // The client reconnects by itself after anything but a disconnect the server asked for.
      if (reason !== "io server disconnect") return;
      setTimeout(function () { socket.connect(); }, RETRY_MS);
    });

    // Reload only once the page itself answers: a reload into an error page (the server going
    // down again) would leave a screen with no script to recover. For a new build, only once the
    // page served is that build: behind a load balancer with two builds a screen would otherwise
    // reload forever. One attempt at a time, however many events ask.
    var wantedBuild = null;  // the build a hello announced
    var anyBuild = false;  // an operator's reload takes whatever page answers
    var reloadPending = false;
    function reloadWhenReachable() {
      if (reloadPending) return;
      reloadPending = true;
      function later() {
        setTimeout(function () { reloadPending = false; reloadWhenReachable(); }, RETRY_MS);
      }
      fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html").getElementById(root.id);
          // The server has not read its state yet: keep this page's pictures, not blank ones.
          if (page && page.hasAttribute("data-starting")) {
            later();
          } else if (anyBuild || (page && page.dataset.build === wantedBuild)) {
            window.location.reload();
          } else {
            reloadPending = false;  // another build answered; the next hello tries again
          }
        }, later);
    }

    // A server with another build serves other code: load it. Operators can also ask for a reload.
    socket.on("hello", function (hello) {
      if (!hello || typeof hello !== "object") return;
      syncClock(hello.now);
      if (onHello) onHello();
      if (hello.build && hello.build !== root.dataset.build) {
        wantedBuild = String(hello.build);
        reloadWhenReachable();
      }
    });
    socket.on("reload", function () {
      anyBuild = true;
      reloadWhenReachable();
    });
    return socket;
  }

  window.PillowScreen = {
    RETRY_MS: RETRY_MS, appRoot: appRoot, connection: connection, syncClock: syncClock,
    skew: function () { return skew; }, screenOptions: screenOptions,
    safeImage: safeImage, preload: preload, swapPicture: swapPicture, setAccent: setAccent,
    updated: updated, clock: clock, showLink: showLink, hideIdleCursor: hideIdleCursor,
    connect: connect
  };
})();
