/* The cash dashboard's charts, drawn by the vendored Chart.js (banking/static/banking/vendor/chartjs). */
(function () {
  "use strict";

  const root = document.querySelector(".cash-dashboard");
  if (!root || typeof window.Chart === "undefined") return;
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const COLOURS = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#455a64"];
  // Amounts arrive as exact decimal strings; a chart only needs them approximately.
  const number = (text) => (text === null ? null : Number(text));
  const common = { animation: false, responsive: true, maintainAspectRatio: false };

  new window.Chart(document.getElementById("chart-balances"), {
    type: "line",
    data: {
      labels: data.days.map((day) => day.slice(5)),
      datasets: data.balances.map((series, index) => ({
        label: series.label,
        data: series.data.map(number),
        borderColor: COLOURS[index % COLOURS.length],
        backgroundColor: COLOURS[index % COLOURS.length],
        pointRadius: 0,
        tension: 0,
      })),
    },
    options: { ...common, interaction: { mode: "index", intersect: false } },
  });

  function flows(name) {
    const table = data.flows[name] || { labels: [], inflow: [], outflow: [] };
    return {
      labels: table.labels,
      datasets: [
        { label: "Inflow", data: table.inflow.map(number), backgroundColor: "#2e7d32" },
        { label: "Outflow", data: table.outflow.map(number), backgroundColor: "#c62828" },
      ],
    };
  }

  const select = document.getElementById("cd-dimension");
  const bars = new window.Chart(document.getElementById("chart-flows"), {
    type: "bar",
    data: flows(select.value),
    options: { ...common, indexAxis: "y" },
  });
  select.addEventListener("change", () => {
    bars.data = flows(select.value);
    bars.update();
  });
  root.dataset.state = "ready";
})();
