// Draws every chart on the page with the vendored plotly.js. The server renders each
// figure as JSON into <script type="application/json" id="…"> (Django's json_script)
// and points at it from the chart's data-figure attribute; nothing here knows the data.
(function () {
  "use strict";
  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };

  function renderCharts() {
    if (!window.Plotly) return;
    document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
      // An htmx swap brings new elements; ones already drawn stay as they are.
      if (el.dataset.rendered === "true") return;
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      el.dataset.rendered = "true";
      Plotly.newPlot(el, figure.data, figure.layout, CONFIG);
    });
  }

  document.addEventListener("DOMContentLoaded", renderCharts);
  document.addEventListener("htmx:afterSettle", renderCharts);
})();
