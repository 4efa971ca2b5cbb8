// The console's queue charts: the queue stats of the last 1, 6 or 24 hours as three small SVG
// bar charts (messages applied, skipped and poisoned; the depth; the oldest message's age), with
// axis labels and a description of each, and the numbers as a table, their text alternative.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var HEIGHT = 132;  // px: a chart's height, axis labels included
  var LEFT = 54, BOTTOM = 18, TOP = 8;  // px: room for the axis labels (up to "120 min")
  var COUNTS = ["applied", "skipped", "poisoned"];

  function byId(id) { return document.getElementById(id); }

  function svg(name, attributes) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) {
      element.setAttribute(key, String(attributes[key]));
    });
    return element;
  }

  function plural(count, one, many) { return count + " " + (count === 1 ? one : many); }

  // 45 s, 3 min, 2 h 5 min.
  function age(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return "?";
    if (seconds < 60) return Math.round(seconds) + " s";
    var minutes = Math.floor(seconds / 60);  // (as the warnings: at least that old)
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h" + (minutes % 60 ? " " + minutes % 60 + " min" : "");
  }

  function hhmm(time) {
    var date = new Date(time);
    return (date.getHours() < 10 ? "0" : "") + date.getHours() + ":" +
      (date.getMinutes() < 10 ? "0" : "") + date.getMinutes();
  }

  // Minutes per bar: the fewest that leave each bar 3 px or more.
  function binMinutes(minutes, width) {
    return [1, 2, 3, 5, 10, 15, 20, 30, 60].filter(function (size) {
      return minutes / size * 3 <= width;
    })[0] || 60;
  }

  // The series in bins of ``size`` minutes, on whole multiples of it (the first and last
  // may be partial): counts summed, samples at their largest. ``minute`` is a bin's start.
  function binned(series, size) {
    var bins = [], width = size * 60000;
    series.forEach(function (point) {
      var start = Math.floor(Date.parse(point.minute) / width) * width;
      var bin = bins[bins.length - 1];
      if (!bin || bin.start !== start) {
        bin = { start: start, minute: new Date(start).toISOString(), applied: 0, skipped: 0,
                poisoned: 0, depth: null, oldest_age: null };
        bins.push(bin);
      }
      COUNTS.forEach(function (name) { bin[name] += Number(point[name]) || 0; });
      ["depth", "oldest_age"].forEach(function (name) {
        if (typeof point[name] === "number" && (bin[name] === null || point[name] > bin[name])) {
          bin[name] = point[name];
        }
      });
    });
    return bins;
  }

  // A round top for the y axis: 1, 2, 5 × 10^n at or above ``value``, at least 1; for ages
  // (seconds) a round number of seconds, minutes or hours.
  var AGE_TOPS = [60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
  function roundUp(value, ages) {
    if (ages) {
      return AGE_TOPS.filter(function (top) { return top >= value; })[0] ||
        Math.ceil(value / 86400) * 86400;
    }
    var top = Math.max(value, 1);
    var power = Math.pow(10, Math.floor(Math.log10(top)));
    return [1, 2, 5, 10].map(function (step) { return step * power; })
      .filter(function (step) { return step >= top; })[0];
  }

  // An age axis's words: in the unit of its top (at most one decimal).
  function ageLabel(top) {
    var unit = top <= 60 ? [1, " s"] : top <= 7200 ? [60, " min"] : [3600, " h"];
    return function (value) {
      return String(Math.round(value / unit[0] * 10) / 10) + unit[1];
    };
  }

  // One bar chart: ``stacks`` the series names stacked in each bar, ``label(value)`` the
  // y axis's words (null for ages: in the unit of the axis), ``described`` its text
  // alternative.
  function drawChart(box, series, bins, size, stacks, label, described) {
    var width = Math.max(200, Math.floor(box.clientWidth || 320));
    var plot = width - LEFT - 4, floor = HEIGHT - BOTTOM;
    var tallest = 0;
    bins.forEach(function (bin) {
      var sum = 0;
      stacks.forEach(function (name) { sum += bin[name] || 0; });
      tallest = Math.max(tallest, sum);
    });
    var ages = stacks[0] === "oldest_age";
    var top = roundUp(tallest, ages);
    if (ages) label = ageLabel(top);
    var from = Date.parse(series[0].minute), span = series.length * 60000;
    var step = plot * size * 60000 / span;  // px: one bar's room
    function x(time) { return LEFT + Math.max(0, time - from) / span * plot; }
    function y(value) { return floor - value / top * (floor - TOP); }

    var chart = svg("svg", { "class": "queue-svg", width: width, height: HEIGHT,
                             viewBox: "0 0 " + width + " " + HEIGHT, role: "img" });
    chart.setAttribute("aria-label", described);
    [0, top / 2, top].forEach(function (value) {
      chart.appendChild(svg("line", { "class": "queue-grid", x1: LEFT, x2: width - 4,
                                      y1: y(value), y2: y(value) }));
      var text = svg("text", { "class": "queue-axis", x: LEFT - 4, y: y(value) + 4,
                               "text-anchor": "end" });
      text.textContent = label(value);
      chart.appendChild(text);
    });
    bins.forEach(function (bin) {
      var base = 0;
      stacks.forEach(function (name) {
        var value = bin[name];
        if (typeof value !== "number" || value <= 0) return;
        var left = x(bin.start), right = x(bin.start + size * 60000) - (step > 4 ? 1 : 0);
        var rect = svg("rect", { "class": "queue-bar", x: left,
                                 width: Math.max(right - left, 1),
                                 y: y(base + value), height: y(base) - y(base + value) });
        rect.dataset.series = name;
        chart.appendChild(rect);
        base += value;
      });
    });
    // Time labels at whole steps of local time, as many as fit (~56 px apart).
    var tick = [10, 15, 30, 60, 120, 180, 240, 360].filter(function (minutes) {
      return minutes >= size && minutes / size * step >= 56;
    })[0] || 360;
    var first = new Date(from);
    var ofDay = first.getHours() * 60 + first.getMinutes();
    for (var time = from + ((tick - ofDay % tick) % tick) * 60000; time < from + span;
         time += tick * 60000) {
      var at = x(time);
      chart.appendChild(svg("line", { "class": "queue-tick", x1: at, x2: at, y1: floor,
                                      y2: floor + 4 }));
      if (at > LEFT + 16 && at < width - 18) {
        var text = svg("text", { "class": "queue-axis", x: at, y: HEIGHT - 3,
                                 "text-anchor": "middle" });
        text.textContent = hhmm(time);
        chart.appendChild(text);
      }
    }
    chart.appendChild(svg("line", { "class": "queue-baseline", x1: LEFT, x2: width - 4,
                                    y1: floor, y2: floor }));
    box.replaceChildren(chart);
  }

  function whole(value) { return String(Math.round(value)); }

  function drawCharts(stats, hours) {
    var series = stats && Array.isArray(stats.series) ? stats.series : [];
    var totals = (stats && stats.totals) || {};
    var over = "over the last " + plural(hours, "hour", "hours");
    var box = byId("chart-messages");
    if (!box || !series.length) return;
    var size = binMinutes(series.length, (box.clientWidth || 320) - LEFT - 4);
    var bins = binned(series, size);
    var per = size === 1 ? "per minute" : "per " + size + " min";
    byId("chart-messages-title").textContent = "Messages " + per;
    drawChart(box, series, bins, size, COUNTS, whole,
              "Messages " + per + " " + over + ": " + (totals.applied || 0) + " applied, " +
              (totals.skipped || 0) + " skipped, " + (totals.poisoned || 0) +
              " poisoned. The table below lists them.");
    drawChart(byId("chart-depth"), series, bins, size, ["depth"], whole,
              "Messages waiting " + over + ": " + (typeof totals.depth === "number"
                ? "at most " + totals.depth : "no sample") + ". The table below lists them.");
    drawChart(byId("chart-age"), series, bins, size, ["oldest_age"], null,
              "Age of the oldest waiting message " + over + ": " +
              (typeof totals.oldest_age === "number"
                ? "at most " + age(totals.oldest_age) : "nothing waited in a sample") +
              ". The table below lists them.");
  }

  // ``cell(row, text)`` adds a <td>; ``fillRows(body, items, columns, addCells)`` replaces a
  // table body's rows. ``draw(stats, hours)`` draws a stats.json of the last ``hours``.
  window.consoleQueueCharts = function (cell, fillRows) {
    // The text alternative: 12 or 24 rows (5 min, 30 min or an hour each), newest first.
    function renderTable(stats, hours) {
      var series = stats && Array.isArray(stats.series) ? stats.series : [];
      var rows = series.length ? binned(series, { 1: 5, 6: 30 }[hours] || 60).reverse() : [];
      byId("queue-table-summary").textContent = "The numbers as a table (" +
        ({ 1: "5 min", 6: "30 min" }[hours] || "an hour") + " a row)";
      fillRows(byId("queue-rows"), rows, 6, function (row, bin) {
        var time = document.createElement("time");
        time.dateTime = String(bin.minute);
        time.textContent = hhmm(bin.minute);
        cell(row, "").appendChild(time);
        COUNTS.forEach(function (name) { cell(row, String(bin[name])); });
        cell(row, bin.depth === null ? "–" : String(bin.depth));
        cell(row, bin.oldest_age === null ? "–" : age(bin.oldest_age));
      });
    }

    var drawn = null;  // [stats, hours], drawn again when the width changes
    var resizing = null;
    window.addEventListener("resize", function () {
      cancelAnimationFrame(resizing);
      resizing = requestAnimationFrame(function () {
        if (drawn) drawCharts(drawn[0], drawn[1]);
      });
    });

    return {
      age: age,
      plural: plural,
      draw: function (stats, hours) {
        drawn = [stats, hours];
        drawCharts(stats, hours);
        renderTable(stats, hours);
      },
    };
  };
})();
