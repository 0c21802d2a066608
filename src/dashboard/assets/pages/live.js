// Live ingest: the Kafka consumer's statistics as they change (the
// `ingestStats` subscription, once a second) and the tracks becoming
// searchable (`trackIndexed`), with nothing to reload.

import { subscribe } from "../api.js";
import { colour, draw, figure, tableOf } from "../charts.js";
import { card, count, h, ms, trackLabel, when } from "../format.js";

export const TITLE = "Live ingest";

/** Points kept on the time charts: two minutes at one a second. */
const WINDOW = 120;

const STATS = `subscription Stats { ingestStats(intervalMs: 1000) {
  enabled topic groupId brokerUp brokerError messages upserts deletes deadLettered
  deadLetters { reason count } interactions lag lastAppliedAt
  freshness { samples medianMs p99Ms maxMs }
  partitions { partition nextOffset lag }
} }`;

const INDEXED = `subscription Indexed { trackIndexed { id name artists genres } }`;

export async function render(root, showError) {
  const summary = h("div", { class: "cards", "data-testid": "live-cards" });
  const rate = figure("ingest-rate", "Messages applied per second (last two minutes)");
  const fresh = figure("freshness", "Freshness: message timestamp to searchable (ms)");
  const partitions = h("section", { class: "panel" }, h("h2", {}, "Lag per partition"), h("div", { class: "body" }));
  const dead = h("section", { class: "panel" }, h("h2", {}, "Dead letters by reason"), h("div", { class: "body" }));
  const recent = h("ul", { class: "results", "data-testid": "recent-tracks" });
  root.append(
    h("h1", {}, "Live ingest"),
    summary,
    h("div", { class: "grid" }, rate, fresh),
    h("div", { class: "grid" }, partitions, dead),
    h("section", { class: "panel" }, h("h2", {}, "Tracks just made searchable"), recent),
  );

  const points = [];
  let previous = null;
  let firstDraw = null;
  const drawn = new Promise((resolve) => (firstDraw = resolve));

  let pending = [];
  let timer = null;
  const stopIndexed = subscribe(
    INDEXED,
    {},
    ({ trackIndexed: t }) => {
      pending.push(t);
      timer = timer || setTimeout(flush, 250);
    },
    showError,
  );
  const stopStats = subscribe(
    STATS,
    {},
    ({ ingestStats: s }) => {
      const now = Date.now();
      const perSecond = previous ? ((s.messages - previous.messages) * 1000) / Math.max(1, now - previous.at) : 0;
      previous = { messages: s.messages, at: now };
      points.push({ t: new Date(now).toLocaleTimeString(), rate: perSecond, p50: s.freshness?.medianMs ?? null, p99: s.freshness?.p99Ms ?? null });
      if (points.length > WINDOW) points.shift();
      show(s);
      root.dataset.statsEvents = Number(root.dataset.statsEvents || 0) + 1;
      firstDraw();
    },
    showError,
  );

  function flush() {
    timer = null;
    const items = pending.slice(-20).reverse();
    pending = [];
    recent.prepend(
      ...items.map((t) =>
        h("li", { "data-id": t.id }, h("span", { class: "title" }, trackLabel(t)), h("span", { class: "muted" }, t.genres.join(", "))),
      ),
    );
    while (recent.children.length > 20) recent.lastChild.remove();
  }

  function show(s) {
    summary.replaceChildren(
      card("Broker", s.enabled ? (s.brokerUp ? "up" : "down") : "disabled", s.brokerError || (s.topic ? `${s.topic} · group ${s.groupId}` : "no topic consumed"), s.enabled ? (s.brokerUp ? "up" : "down") : "disabled"),
      card("Messages applied", count(s.messages), `${count(s.upserts)} upserts, ${count(s.deletes)} deletes, ${count(s.interactions)} interactions`),
      card("Lag", count(s.lag), "messages not yet searchable"),
      card("Freshness p50 / p99", s.freshness ? `${ms(s.freshness.medianMs)} / ${ms(s.freshness.p99Ms)}` : "–", s.freshness ? `${count(s.freshness.samples)} samples, max ${ms(s.freshness.maxMs)}` : "no message yet"),
      card("Dead letters", count(s.deadLettered), s.lastAppliedAt ? `last applied ${when(s.lastAppliedAt)}` : null),
    );
    const labels = points.map((p) => p.t);
    draw(
      rate,
      {
        type: "line",
        data: { labels, datasets: [{ label: "messages/s", data: points.map((p) => p.rate), borderColor: colour(0), backgroundColor: colour(0), pointRadius: 0 }] },
        options: { animation: false, plugins: { legend: { display: false } }, scales: { x: { title: { text: "Time" } }, y: { title: { text: "Messages per second" }, beginAtZero: true } } },
      },
      { head: ["Time", "Messages/s"], rows: points.map((p) => [p.t, p.rate]) },
    );
    draw(
      fresh,
      {
        type: "line",
        data: {
          labels,
          datasets: [
            { label: "p50", data: points.map((p) => p.p50), borderColor: colour(2), backgroundColor: colour(2), pointRadius: 0 },
            { label: "p99", data: points.map((p) => p.p99), borderColor: colour(3), backgroundColor: colour(3), pointRadius: 0 },
          ],
        },
        options: { animation: false, scales: { x: { title: { text: "Time" } }, y: { title: { text: "Milliseconds" }, beginAtZero: true } } },
      },
      { head: ["Time", "p50 (ms)", "p99 (ms)"], rows: points.map((p) => [p.t, p.p50, p.p99]) },
    );
    partitions.querySelector(".body").replaceChildren(
      s.partitions.length
        ? tableOf({ head: ["Partition", "Next offset", "Lag"], rows: s.partitions.map((p) => [p.partition, p.nextOffset, p.lag]) })
        : h("p", { class: "empty" }, "No partition assigned."),
    );
    dead.querySelector(".body").replaceChildren(
      s.deadLetters.length
        ? tableOf({ head: ["Reason", "Messages"], rows: s.deadLetters.map((d) => [d.reason, d.count]) })
        : h("p", { class: "empty" }, "None."),
    );
  }

  await Promise.race([drawn, new Promise((resolve) => setTimeout(resolve, 5000))]);
  return () => {
    delete root.dataset.statsEvents;
    stopStats();
    stopIndexed();
    clearTimeout(timer);
  };
}

