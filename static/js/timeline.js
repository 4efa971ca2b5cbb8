// The operator console's last 24 hours: a strip of coloured spans (SVG), hour ticks, a legend,
// and the spans as a table, its text alternative. Server text goes in through textContent only.
(function () {
  "use strict";

  // ``clock(iso)`` shortens a time to the console's local one; ``cell(row, text)`` adds a <td>;
  // ``fillRows(body, items, columns, addCells)`` replaces a table body's rows.
  window.consoleTimeline = function (clock, cell, fillRows) {
    // One SVG rect per span, drawn at the strip's own width in pixels (so the hour labels stay
    // crisp and nothing is wider than the page), hour ticks below; the table gives exact times.
    var SVG = "http://www.w3.org/2000/svg";
    var BAR = 36;  // px: the strip's height; the hour labels go below it
    var NO_COLOR = "#9aa3ad";
    var drawnTimeline = null;
    var shownSpans = "";

    function svg(name, attributes) {
      var element = document.createElementNS(SVG, name);
      Object.keys(attributes || {}).forEach(function (key) {
        element.setAttribute(key, String(attributes[key]));
      });
      return element;
    }

    function colorsOf(legend) {
      var colors = {};
      (Array.isArray(legend) ? legend : []).forEach(function (entry) {
        if (entry && /^#[0-9a-fA-F]{6}$/.test(entry.color)) {
          colors[String(entry.state)] = entry.color;
        }
      });
      return colors;
    }

    function hourLabel(time) {
      var hours = new Date(time).getHours();
      return (hours < 10 ? "0" : "") + hours + ":00";
    }

    function spanLabel(span) {
      return String(span.state) + ", " + clock(span.from) + " to " + clock(span.until) +
        (span.text ? ": " + String(span.text) : "");
    }

    function drawStrip(timeline) {
      var box = byId("timeline");
      var start = Date.parse(timeline.from);
      var end = Date.parse(timeline.until);
      if (!box || isNaN(start) || isNaN(end) || end <= start) return;
      var width = Math.max(160, Math.floor(box.clientWidth || 600));
      var height = BAR + 22;
      var colors = colorsOf(timeline.legend);
      var spans = Array.isArray(timeline.spans) ? timeline.spans : [];
      function x(time) { return Math.round((time - start) / (end - start) * width * 10) / 10; }

      var strip = svg("svg", { "class": "timeline-strip", width: width, height: height,
                               viewBox: "0 0 " + width + " " + height, role: "img" });
      var last = spans[spans.length - 1];
      strip.setAttribute("aria-label", "States over the last 24 hours: " + spans.length +
        " span" + (spans.length === 1 ? "" : "s") +
        (last ? "; showing " + String(last.state) + " since " + clock(last.from) : "; none yet") +
        ". The table below lists them.");
      strip.appendChild(svg("rect", { "class": "timeline-none", x: 0, y: 0, width: width,
                                      height: BAR }));
      spans.forEach(function (span) {
        var from = Math.max(Date.parse(span.from), start);
        var until = Math.min(Date.parse(span.until), end);
        if (isNaN(from) || isNaN(until) || until < from) return;
        var rect = svg("rect", { "class": "timeline-span", x: x(from), y: 0, height: BAR,
                                 width: Math.max(x(until) - x(from), 1),
                                 fill: colors[String(span.state)] || NO_COLOR });
        rect.dataset.state = String(span.state);
        var title = svg("title");
        title.textContent = spanLabel(span);
        rect.appendChild(title);
        strip.appendChild(rect);
      });
      // A tick at every whole hour; a label at every 1-6 hours, as many as fit (~48 px each).
      var every = [1, 2, 3, 4, 6].filter(function (hours) {
        return width / 24 * hours >= 48;
      })[0] || 6;
      var tick = new Date(start);
      tick.setMinutes(0, 0, 0);
      for (tick.setHours(tick.getHours() + 1); tick.getTime() <= end;
           tick.setHours(tick.getHours() + 1)) {
        var at = x(tick.getTime());
        var labelled = tick.getHours() % every === 0;
        strip.appendChild(svg("line", { "class": "timeline-tick", x1: at, x2: at, y1: BAR,
                                        y2: BAR + (labelled ? 6 : 3) }));
        if (labelled && at > 16 && at < width - 16) {
          var label = svg("text", { "class": "timeline-hour", x: at, y: BAR + 18,
                                    "text-anchor": "middle" });
          label.textContent = hourLabel(tick.getTime());
          strip.appendChild(label);
        }
      }
      box.replaceChildren(strip);
    }

    function renderTimeline(timeline) {
      if (!timeline || typeof timeline !== "object") return;
      drawnTimeline = timeline;
      drawStrip(timeline);

      var colors = colorsOf(timeline.legend);
      var legend = document.createDocumentFragment();
      (Array.isArray(timeline.legend) ? timeline.legend : []).forEach(function (entry) {
        var item = document.createElement("li");
        var swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.setProperty("--swatch", colors[String(entry.state)] || NO_COLOR);
        item.appendChild(swatch);
        item.appendChild(document.createTextNode(String(entry.state)));
        legend.appendChild(item);
      });
      byId("timeline-legend").replaceChildren(legend);

      // The table only when a span changed (the last one's end moves with every poll).
      var spans = Array.isArray(timeline.spans) ? timeline.spans : [];
      var key = JSON.stringify(spans.map(function (span) {
        return [span.state, span.text, span.from];
      }));
      byId("timeline-summary").textContent = "The spans as a table (" + spans.length + ")";
      if (key === shownSpans) return;
      shownSpans = key;
      fillRows(byId("timeline-rows"), spans.slice().reverse(), 4, function (row, span, index) {
        [span.from, index === 0 ? null : span.until].forEach(function (iso) {
          var time = document.createElement("time");
          if (iso) time.dateTime = String(iso);
          time.textContent = iso ? clock(iso) : "now";
          cell(row, "").appendChild(time);
        });
        cell(row, String(span.state || ""));
        cell(row, String(span.text || ""));
      });
    }


    function byId(id) { return document.getElementById(id); }

    // Drawn at the strip's width in pixels: drawn again when that changes.
    var resizing = null;
    window.addEventListener("resize", function () {
      cancelAnimationFrame(resizing);
      resizing = requestAnimationFrame(function () {
        if (drawnTimeline) drawStrip(drawnTimeline);
      });
    });

    return { render: renderTimeline };
  };
})();
