// Overview: how big the catalogue is, what it holds, the index's state and
// whether the store, Kafka and the lake answer.

import { gql, probe } from "../api.js";
import { draw, figure, colour } from "../charts.js";
import { card, count, h, ms } from "../format.js";

export const TITLE = "Overview";

const QUERY = `{
  catalog { tracks indexed pending tombstones dimensions featureSpaceVersion }
  genres { name trackCount subgenres { name trackCount } }
  subgenres: genres(level: SUBGENRE) { name }
  ingestStatus { enabled topic brokerUp lag messages deadLettered freshness { p99Ms } }
  jobEngines
}`;


export async function render(root) {
  const [data, ready, health] = await Promise.all([
    gql(QUERY),
    probe("/readyz").catch(() => null),
    probe("/healthz").catch(() => null),
  ]);
  const { catalog, genres, subgenres, ingestStatus: ingest } = data;
  const store = ready?.store ?? { status: "unknown" };
  const kafka = ready?.kafka ?? { status: "unknown" };
  const lake = ready?.lake ?? { status: "unknown" };
  root.append(
    h("h1", {}, "Overview"),
    h(
      "div",
      { class: "cards", "data-testid": "overview-cards" },
      card("Tracks", count(catalog.tracks), `${count(catalog.dimensions)}-dimensional feature space v${catalog.featureSpaceVersion}`),
      card("Genres", count(genres.length), `${count(subgenres.length)} subgenres`),
      card(
        "Index",
        count(catalog.indexed),
        `${count(catalog.indexed + catalog.tombstones - catalog.pending)} in the HNSW graph, ${count(catalog.pending)} pending, ${count(catalog.tombstones)} tombstones`,
      ),
      card("Store", `${store.kind ?? "store"} ${store.status}`, store.error ?? null, store.status),
      card(
        "Kafka",
        kafka.status,
        ingest.enabled
          ? `${ingest.topic}: ${count(ingest.messages)} messages, lag ${count(ingest.lag)}, ${count(ingest.deadLettered)} dead letters, freshness p99 ${ms(ingest.freshness?.p99Ms)}`
          : "no topic consumed",
        kafka.status,
      ),
      card("Lake", lake.status, lake.location ?? null, lake.status),
      card("Job engines", data.jobEngines.map((e) => e.toLowerCase()).join(", ")),
      card("Version", health?.version ?? "–", `server ${ready?.status ?? "unknown"}`),
    ),
  );
  const sorted = [...genres].sort((a, b) => b.trackCount - a.trackCount);
  const byGenre = figure("genre-sizes", "Tracks per genre", {
    description: `Bar chart of tracks per genre: ${sorted.map((g) => `${g.name} ${g.trackCount}`).join(", ")}`,
  });
  const subs = sorted.flatMap((g) => g.subgenres.map((s) => ({ genre: g.name, ...s })));
  const subTable = h(
    "section",
    { class: "panel" },
    h("h2", {}, "Subgenres"),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", {}, "Genre"), h("th", {}, "Subgenre"), h("th", { class: "num" }, "Tracks"))),
        h(
          "tbody",
          {},
          subs.map((s) =>
            h("tr", {}, h("td", {}, s.genre), h("td", {}, s.name), h("td", { class: "num" }, count(s.trackCount))),
          ),
        ),
      ),
    ),
  );
  root.append(h("div", { class: "grid" }, byGenre, subTable));
  draw(
    byGenre,
    {
      type: "bar",
      data: {
        labels: sorted.map((g) => g.name),
        datasets: [{ label: "Tracks", data: sorted.map((g) => g.trackCount), backgroundColor: colour(0) }],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { x: { title: { text: "Genre" } }, y: { title: { text: "Tracks" }, beginAtZero: true } },
      },
    },
    { head: ["Genre", "Tracks"], rows: sorted.map((g) => [g.name, g.trackCount]) },
  );
}
