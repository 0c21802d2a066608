// Genre trends: how each chosen genre's sound and popularity moved by
// release year (the live `genreTrends` query), how many tracks each year
// holds, and each genre's fingerprint (its feature profile) on a radar.

import { gql, latest } from "../api.js";
import { colour, draw, figure } from "../charts.js";
import { FEATURES, featureLabel, h } from "../format.js";

export const TITLE = "Genre trends";

const RADAR = FEATURES.filter((f) => f.field !== "durationMs");

export async function render(root, showError) {
  const { genres } = await gql(`{ genres { name trackCount } }`);
  const biggest = [...genres].sort((a, b) => b.trackCount - a.trackCount).slice(0, 3).map((g) => g.name);
  const chosen = new Set(biggest);
  const checks = h(
    "div",
    { class: "checks", role: "group", "aria-label": "Genres" },
    genres.map((g) =>
      h(
        "label",
        {},
        h("input", { type: "checkbox", name: "genre", value: g.name, checked: chosen.has(g.name) }),
        g.name,
      ),
    ),
  );
  const feature = h(
    "select",
    { name: "feature" },
    h("option", { value: "popularity" }, "Popularity (0–100)"),
    FEATURES.map((f) => h("option", { value: f.name }, `${f.label} (${f.unit})`)),
  );
  const from = h("input", { type: "number", name: "from", min: 1900, max: 2100, placeholder: "any", size: 6 });
  const to = h("input", { type: "number", name: "to", min: 1900, max: 2100, placeholder: "any", size: 6 });
  const trend = figure("trend-feature", "Feature by release year", { size: "tall" });
  const counts = figure("trend-counts", "Tracks per release year");
  const radar = figure("fingerprints", "Genre fingerprints", { size: "tall" });
  root.append(
    h("h1", {}, "Genre trends"),
    h("p", { class: "lead" }, "Per genre and release year, from the catalogue as it is now (", h("code", {}, "genreTrends"), ")."),
    h(
      "form",
      { class: "controls panel", onsubmit: (e) => e.preventDefault(), onchange: () => update().catch(showError) },
      h("fieldset", {}, h("legend", {}, "Genres"), checks),
      h("label", {}, "Feature", feature),
      h("label", {}, "From year", from),
      h("label", {}, "To year", to),
    ),
    h("div", { class: "grid" }, trend, counts),
    radar,
  );

  const fetchTrends = latest(gql);

  async function update() {
    const names = [...checks.querySelectorAll("input:checked")].map((i) => i.value);
    const variables = {
      genres: names,
      from: from.value ? Number(from.value) : null,
      to: to.value ? Number(to.value) : null,
    };
    if (!names.length) {
      showError({ message: "Choose at least one genre." });
      return;
    }
    showError(null);
    const data = await fetchTrends(
      `query Trends($genres: [String!], $from: Int, $to: Int) {
        genreTrends(genres: $genres, from: $from, to: $to) {
          genre year trackCount popularity features { feature mean }
        }
        genres { name features { feature mean } }
      }`,
      variables,
    );
    if (!data) return;
    drawTrends(names, data.genreTrends);
    drawFingerprints(names, data.genres);
  }

  function valueOf(row) {
    if (feature.value === "popularity") return row.popularity;
    return row.features.find((f) => f.feature === feature.value)?.mean ?? null;
  }

  function drawTrends(names, rows) {
    const label = feature.value === "popularity" ? "Mean popularity (0–100)" : `Mean ${featureLabel(feature.value).toLowerCase()} (${FEATURES.find((f) => f.name === feature.value).unit})`;
    trend.querySelector("figcaption").textContent = `${label} by release year`;
    const series = names.map((name, i) => ({
      label: name,
      data: rows.filter((r) => r.genre === name).map((r) => ({ x: r.year, y: valueOf(r) })),
      borderColor: colour(i),
      backgroundColor: colour(i),
      pointRadius: 2,
    }));
    const xAxis = { type: "linear", title: { text: "Release year" }, ticks: { precision: 0, callback: (year) => String(year) } };
    draw(
      trend,
      { type: "line", data: { datasets: series }, options: { scales: { x: xAxis, y: { title: { text: label } } } } },
      { head: ["Genre", "Year", label], rows: rows.map((r) => [r.genre, r.year, valueOf(r)]) },
    );
    draw(
      counts,
      {
        type: "line",
        data: {
          datasets: names.map((name, i) => ({
            label: name,
            data: rows.filter((r) => r.genre === name).map((r) => ({ x: r.year, y: r.trackCount })),
            borderColor: colour(i),
            backgroundColor: colour(i),
            pointRadius: 1,
          })),
        },
        options: { scales: { x: { ...xAxis }, y: { title: { text: "Tracks" }, beginAtZero: true } } },
      },
      { head: ["Genre", "Year", "Tracks"], rows: rows.map((r) => [r.genre, r.year, r.trackCount]) },
    );
  }

  function drawFingerprints(names, all) {
    // Features in their own units (dB, BPM) are scaled between the lowest
    // and highest genre mean, so that every axis runs 0 to 1.
    const mean = (g, f) => g.features.find((x) => x.feature === f.name)?.mean ?? null;
    const range = Object.fromEntries(
      RADAR.map((f) => {
        const values = all.map((g) => mean(g, f)).filter((v) => v !== null);
        return [f.name, [Math.min(...values), Math.max(...values)]];
      }),
    );
    const scaled = (g, f) => {
      const v = mean(g, f);
      if (v === null) return null;
      if (f.unit === "0–1") return v;
      const [lo, hi] = range[f.name];
      return hi > lo ? (v - lo) / (hi - lo) : 0.5;
    };
    const shown = all.filter((g) => names.includes(g.name));
    draw(
      radar,
      {
        type: "radar",
        data: {
          labels: RADAR.map((f) => (f.unit === "0–1" ? `${f.label} (0–1)` : `${f.label} (${f.unit}, scaled)`)),
          datasets: shown.map((g) => {
            const i = names.indexOf(g.name);
            return {
              label: g.name,
              data: RADAR.map((f) => scaled(g, f)),
              borderColor: colour(i),
              backgroundColor: `${colour(i)}22`,
            };
          }),
        },
        options: { scales: { r: { min: 0, max: 1, ticks: { backdropColor: "transparent" } } } },
      },
      {
        head: ["Genre", ...RADAR.map((f) => `${f.label} (${f.unit})`)],
        rows: shown.map((g) => [g.name, ...RADAR.map((f) => mean(g, f))]),
      },
    );
    radar.querySelector("figcaption").textContent =
      "Genre fingerprints: mean of each feature (0–1 features as they are; loudness and tempo scaled between the lowest and highest genre mean)";
  }

  await update();
}
