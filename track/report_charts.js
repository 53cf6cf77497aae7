// Draws the report's charts as inline SVG from the data spn-launch embedded in the
// page (window.SPN_REPORT), with no library, so the page works offline and alone.
// When done it sets the body's data-status to "rendered" and data-charts to the number
// drawn; a script error sets data-status to "error" and is listed in #script-errors
// (the report test reads both).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"];

  function reportError(message) {
    document.body.dataset.status = "error";
    var list = document.getElementById("script-errors");
    var item = document.createElement("li");
    item.textContent = message;
    list.appendChild(item);
    list.hidden = false;
  }
  window.addEventListener("error", function (event) { reportError(event.message); });

  function element(name, attributes, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attributes) {
    var node = element("text", Object.assign({x: x, y: y, "font-size": 11}, attributes || {}), parent);
    node.textContent = content;
    return node;
  }
  function niceMax(value) {
    if (!(value > 0)) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }
  function chartFrame(container, title, width, height) {
    var figure = document.createElement("figure");
    var caption = document.createElement("figcaption");
    caption.textContent = title;
    figure.appendChild(caption);
    var svg = element("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height,
                              "class": "chart", role: "img", "aria-label": title});
    figure.appendChild(svg);
    container.appendChild(figure);
    return svg;
  }
  function yAxis(svg, left, top, plotHeight, plotWidth, maxValue, digits) {
    for (var t = 0; t <= 4; t++) {
      var value = maxValue * t / 4;
      var y = top + plotHeight - plotHeight * t / 4;
      element("line", {x1: left, x2: left + plotWidth, y1: y, y2: y, stroke: "#ddd"}, svg);
      text(svg, left - 6, y + 4, value.toFixed(digits), {"text-anchor": "end"});
    }
  }
  // Room for the longest legend entry (11px text: about 6.5px a character).
  function legendWidth(names) {
    return 40 + 6.5 * names.reduce(function (longest, name) { return Math.max(longest, name.length); }, 0);
  }
  function legend(svg, names, left, top) {
    names.forEach(function (name, i) {
      var y = top + 16 * i;
      element("rect", {x: left, y: y - 9, width: 10, height: 10, fill: COLORS[i % COLORS.length]}, svg);
      text(svg, left + 14, y, name);
    });
  }

  // Grouped bars: one group per metric, one bar per variant, error bars of one std.
  function barChart(container, chart) {
    var variants = chart.variants, metrics = chart.metrics;
    var left = 48, top = 12, plotHeight = 220, group = Math.max(84, 14 * variants.length + 24);
    var names = variants.map(function (v) { return v.label + " (n=" + v.count + ")"; });
    var plotWidth = group * metrics.length;
    var svg = chartFrame(container, chart.title, left + plotWidth + legendWidth(names),
                         Math.max(top + plotHeight + 40, top + 16 * names.length + 20));
    var maxValue = 0;
    variants.forEach(function (v) {
      v.mean.forEach(function (m, i) { if (m !== null) maxValue = Math.max(maxValue, m + (v.std[i] || 0)); });
    });
    maxValue = niceMax(maxValue);
    yAxis(svg, left, top, plotHeight, plotWidth, maxValue, 0);
    var barWidth = (group - 20) / variants.length;
    metrics.forEach(function (metric, m) {
      var x0 = left + group * m + 10;
      text(svg, x0 + (group - 20) / 2, top + plotHeight + 16, metric, {"text-anchor": "middle"});
      variants.forEach(function (v, i) {
        var mean = v.mean[m];
        if (mean === null) return;
        var x = x0 + barWidth * i, height = plotHeight * mean / maxValue;
        var bar = element("rect", {x: x, y: top + plotHeight - height, width: Math.max(1, barWidth - 2),
                                   height: height, fill: COLORS[i % COLORS.length], "class": "bar"}, svg);
        element("title", {}, bar).textContent = v.label + " " + metric + ": " + mean.toFixed(2) +
            (v.count > 1 ? " ± " + v.std[m].toFixed(2) : "");
        if (v.count > 1) {
          var cx = x + (barWidth - 2) / 2;
          var low = top + plotHeight - plotHeight * (mean - v.std[m]) / maxValue;
          var high = top + plotHeight - plotHeight * (mean + v.std[m]) / maxValue;
          element("line", {x1: cx, x2: cx, y1: low, y2: high, stroke: "#222"}, svg);
          element("line", {x1: cx - 3, x2: cx + 3, y1: high, y2: high, stroke: "#222"}, svg);
          element("line", {x1: cx - 3, x2: cx + 3, y1: low, y2: low, stroke: "#222"}, svg);
        }
      });
    });
    legend(svg, names, left + plotWidth + 16, top + 10);
  }

  // Lines: one per run, x = step or epoch.
  function lineChart(container, chart) {
    var left = 56, top = 12, plotWidth = 520, plotHeight = 220;
    var names = chart.series.map(function (s) { return s.name; });
    var svg = chartFrame(container, chart.title, left + plotWidth + legendWidth(names),
                         Math.max(top + plotHeight + 40, top + 16 * names.length + 20));
    var minX = Infinity, maxX = -Infinity, maxY = 0;
    chart.series.forEach(function (s) {
      s.points.forEach(function (p) {
        minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]); maxY = Math.max(maxY, p[1]);
      });
    });
    if (maxX === minX) maxX = minX + 1;
    maxY = niceMax(maxY);
    yAxis(svg, left, top, plotHeight, plotWidth, maxY, maxY < 10 ? 2 : 0);
    function px(x) { return left + plotWidth * (x - minX) / (maxX - minX); }
    function py(y) { return top + plotHeight - plotHeight * y / maxY; }
    text(svg, left, top + plotHeight + 16, String(minX));
    text(svg, left + plotWidth, top + plotHeight + 16, String(maxX), {"text-anchor": "end"});
    text(svg, left + plotWidth / 2, top + plotHeight + 30, chart.x, {"text-anchor": "middle"});
    chart.series.forEach(function (s, i) {
      var points = s.points.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); });
      var line = element("polyline", {points: points.join(" "), fill: "none", "stroke-width": 1.5,
                                      stroke: COLORS[i % COLORS.length], "class": "series"}, svg);
      element("title", {}, line).textContent = s.name;
    });
    legend(svg, names, left + plotWidth + 16, top + 10);
  }

  var data = window.SPN_REPORT;
  var drawn = 0;
  data.bars.forEach(function (chart) { barChart(document.getElementById("bar-charts"), chart); drawn++; });
  data.curves.forEach(function (chart) { lineChart(document.getElementById("curve-charts"), chart); drawn++; });
  document.body.dataset.charts = String(drawn);
  if (document.body.dataset.status !== "error") document.body.dataset.status = "rendered";
})();
