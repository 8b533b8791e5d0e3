// Manager dashboard charts (Chart.js from static/vendor/, fetched by `manage.py assets_fetch`).
// The figures come from the page's JSON data blocks; every minute they are refreshed
// from /dashboard/data/ for the same window.
(function () {
  "use strict";

  var lang = document.body.dataset.lang === "en" ? "en" : "zh";
  var words = {
    qps: { zh: "每秒消息", en: "messages/s" },
    avg: { zh: "平均", en: "average" },
    p99: { zh: "P99", en: "P99" },
    errors: { zh: "错误率", en: "error rate" },
    replies: { zh: "回复数", en: "replies" },
  };
  function w(key) { return words[key][lang]; }

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function shortLabel(iso) {
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return (d.getMonth() + 1) + "/" + d.getDate() + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  var charts = {};

  function lineChart(id, labels, datasets, yMax) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    return new window.Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: true,
        scales: { y: { beginAtZero: true, suggestedMax: yMax } },
        plugins: { legend: { display: datasets.length > 1 } },
      },
    });
  }

  function draw(series, intents) {
    var labels = series.labels.map(shortLabel);
    Object.keys(charts).forEach(function (key) { if (charts[key]) charts[key].destroy(); });
    charts.qps = lineChart("chart-qps", labels, [
      { label: w("qps"), data: series.qps, borderColor: "#4f46e5", backgroundColor: "#4f46e533", fill: true },
    ]);
    charts.latency = lineChart("chart-latency", labels, [
      { label: w("avg"), data: series.avg_latency_ms, borderColor: "#0891b2" },
      { label: w("p99"), data: series.p99_latency_ms, borderColor: "#dc2626" },
    ]);
    charts.errors = lineChart("chart-errors", labels, [
      { label: w("errors"), data: series.error_rate, borderColor: "#ea580c" },
    ], 0.1);
    var canvas = document.getElementById("chart-intents");
    if (canvas) {
      charts.intents = new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: intents.map(function (row) { return row.intent; }),
          datasets: [{ label: w("replies"), data: intents.map(function (row) { return row.count; }), backgroundColor: "#6366f1" }],
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
        },
      });
    }
    document.body.dataset.charts = "ready";
  }

  function refresh() {
    var params = new URLSearchParams(window.location.search);
    var url = "/dashboard/data/?window=" + encodeURIComponent(params.get("window") || "day");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) draw(data.series, data.intents_level1); })
      .catch(function () { /* keep the figures already drawn */ });
  }

  function start() {
    if (!window.Chart) {
      document.body.dataset.charts = "missing";
      var note = document.createElement("p");
      note.className = "charts-missing";
      note.textContent = lang === "en"
        ? "Charts need static/vendor/chart.js (run: python manage.py assets_fetch)."
        : "图表需要 static/vendor/chart.js（运行 python manage.py assets_fetch）。";
      document.querySelector(".charts").prepend(note);
      return;
    }
    draw(readJson("dashboard-series"), readJson("dashboard-intents"));
    window.setInterval(refresh, 60000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
