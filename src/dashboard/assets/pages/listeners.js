// Listeners: what the latest listener-behaviour job found in the lake's
// interaction log: interactions per day by kind, the most played tracks
// and artists, and how often each genre is skipped.

import { gql } from "../api.js";
import { colour, draw, figure } from "../charts.js";
import { count, h, trackLabel, when } from "../format.js";

export const TITLE = "Listeners";

const QUERY = `{
  analytics {
    job(kind: LISTENER_BEHAVIOUR) { id engine finishedAt durationMs }
    listenerBehaviour {
      days { day kind genre count }
      topTracks { trackId plays track { id name artists } }
      topArtists { artist plays }
      skipRates { genre plays skips rate }
    }
  }
}`;

export async function render(root) {
  const { analytics } = await gql(QUERY);
  root.append(h("h1", {}, "Listeners"));
  const behaviour = analytics.listenerBehaviour;
  if (!behaviour) {
    root.append(
      h(
        "p",
        { class: "empty panel", "data-testid": "no-behaviour" },
        "No listener-behaviour job has succeeded yet. Start one on the ",
        h("a", { href: "#jobs" }, "Jobs"),
        " page (kind LISTENER_BEHAVIOUR); its result shows here.",
      ),
    );
    return;
  }
  const job = analytics.job;
  root.append(
    h(
      "p",
      { class: "lead" },
      `From job ${job.id} on the ${job.engine.toLowerCase()} engine, finished ${when(job.finishedAt)}.`,
    ),
  );
  const overTime = figure("interactions", "Interactions per day by kind", { size: "tall" });
  const tracks = figure("top-tracks", "Most played tracks");
  const artists = figure("top-artists", "Most played artists");
  const skips = figure("skip-rates", "Skip rate by genre");
  root.append(overTime, h("div", { class: "grid" }, tracks, artists), skips);

  const all = behaviour.days.filter((d) => d.genre === null);
  const days = [...new Set(all.map((d) => d.day))].sort();
  const kinds = [...new Set(all.map((d) => d.kind))].sort();
  const countOf = (day, kind) => all.find((d) => d.day === day && d.kind === kind)?.count ?? 0;
  draw(
    overTime,
    {
      type: "line",
      data: {
        labels: days,
        datasets: kinds.map((kind, i) => ({
          label: kind.toLowerCase(),
          data: days.map((day) => countOf(day, kind)),
          borderColor: colour(i),
          backgroundColor: colour(i),
          pointRadius: 2,
        })),
      },
      options: {
        scales: {
          x: { title: { text: "Day (UTC)" } },
          y: { title: { text: "Interactions per day" }, beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    },
    { head: ["Day", ...kinds], rows: days.map((day) => [day, ...kinds.map((k) => countOf(day, k))]) },
  );
  const bars = (fig, labels, values, axis, valueTitle, table) =>
    draw(
      fig,
      {
        type: "bar",
        data: { labels, datasets: [{ label: valueTitle, data: values, backgroundColor: colour(0) }] },
        options: {
          indexAxis: "y",
          plugins: { legend: { display: false } },
          scales: { x: { title: { text: valueTitle }, beginAtZero: true, ticks: { precision: 0 } }, y: { title: { text: axis } } },
        },
      },
      table,
    );
  bars(
    tracks,
    behaviour.topTracks.map((t) => trackLabel(t.track) || t.trackId),
    behaviour.topTracks.map((t) => t.plays),
    "Track",
    "Plays",
    { head: ["Track", "Plays"], rows: behaviour.topTracks.map((t) => [trackLabel(t.track), t.plays]) },
  );
  bars(
    artists,
    behaviour.topArtists.map((a) => a.artist),
    behaviour.topArtists.map((a) => a.plays),
    "Artist",
    "Plays",
    { head: ["Artist", "Plays"], rows: behaviour.topArtists.map((a) => [a.artist, a.plays]) },
  );
  const rated = behaviour.skipRates.filter((s) => s.rate !== null);
  draw(
    skips,
    {
      type: "bar",
      data: {
        labels: rated.map((s) => s.genre),
        datasets: [{ label: "Skip rate (%)", data: rated.map((s) => s.rate * 100), backgroundColor: colour(3) }],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: {
          x: { title: { text: "Genre" } },
          y: { title: { text: "Skips per play or skip (%)" }, beginAtZero: true, max: 100 },
        },
      },
    },
    {
      head: ["Genre", "Plays", "Skips", "Skip rate (%)"],
      rows: behaviour.skipRates.map((s) => [s.genre, s.plays, s.skips, s.rate === null ? null : s.rate * 100]),
    },
  );
  root.append(h("p", { class: "muted" }, `${count(behaviour.days.length)} day rows.`));
}
