// Charts (Chart.js, vendored) with what every chart here owes its reader:
// a title, axis titles with units, and the same numbers as a table for
// screen readers and copy-paste. Charts are registered by id on
// `window.timbre.charts`, so the browser tests read the points drawn.

import { h } from "./format.js";

const Chart = globalThis.Chart;

/** Okabe–Ito: told apart with the common colour-vision deficiencies. */
export const PALETTE = [
  "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

export function colour(i) {
  return PALETTE[i % PALETTE.length];
}

globalThis.timbre = globalThis.timbre || { charts: {} };

function ink() {
  return getComputedStyle(document.documentElement).getPropertyValue("--ink").trim() || "#222";
}

/**
 * A figure: caption, canvas (described for assistive technology) and a
 * collapsible table of the same data. `table` is `{head: [...], rows:
 * [[...], ...]}`. Returns the figure element; `draw` fills it.
 */
export function figure(id, title, { size = "", description = "" } = {}) {
  const canvas = h("canvas", { id: `chart-${id}`, role: "img", "aria-label": description || title });
  return h(
    "figure",
    { class: "panel", "data-chart": id },
    h("figcaption", {}, title),
    h("div", { class: `chart ${size}` }, canvas),
    h("details", {}, h("summary", {}, "Data as a table"), h("div", { class: "scroll table" })),
  );
}

/** Draws (or redraws) the chart of a figure made by `figure`. */
export function draw(fig, config, table) {
  const id = fig.dataset.chart;
  const old = globalThis.timbre.charts[id];
  if (old) old.destroy();
  const canvas = fig.querySelector("canvas");
  const text = ink();
  config.options = Object.assign(
    {
      responsive: true,
      maintainAspectRatio: false,
      animation: { duration: 250 },
      plugins: {},
    },
    config.options || {},
  );
  config.options.plugins.legend = Object.assign({ labels: { color: text } }, config.options.plugins.legend);
  for (const axis of Object.values(config.options.scales || {})) {
    axis.ticks = Object.assign({ color: text }, axis.ticks);
    if (axis.title) axis.title = Object.assign({ display: true, color: text }, axis.title);
  }
  const chart = new Chart(canvas, config);
  globalThis.timbre.charts[id] = chart;
  fig.querySelector(".table").replaceChildren(tableOf(table));
  if (!performance.getEntriesByName("timbre:first-chart").length) {
    performance.mark("timbre:first-chart");
  }
  return chart;
}

/** A table: `head` is a list of column titles, `rows` lists of cells;
 *  numeric cells are right-aligned. */
export function tableOf({ head, rows }) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h("tr", {}, row.map((c) => h("td", { class: typeof c === "number" ? "num" : null }, fmt(c)))),
      ),
    ),
  );
}

function fmt(cell) {
  if (typeof cell !== "number") return cell ?? "–";
  return Number.isInteger(cell) ? String(cell) : cell.toFixed(3);
}

/** Destroys the charts of figures no longer on the page. */
export function forgetCharts() {
  for (const [id, chart] of Object.entries(globalThis.timbre.charts)) {
    if (!document.body.contains(chart.canvas)) {
      chart.destroy();
      delete globalThis.timbre.charts[id];
    }
  }
}
