// Jobs: the analytics and training jobs, live (the `jobUpdated`
// subscription), and a form to start one. Starting and cancelling need an
// API key (`write`; `admin` to train the model): it is typed here, kept in
// this tab only (sessionStorage) and sent only to this server.

import { apiKey, gql, latest, setApiKey, subscribe } from "../api.js";
import { tableOf } from "../charts.js";
import { count, h, ms, when } from "../format.js";

export const TITLE = "Jobs";

const FIELDS = `id kind engine state requestedBy genres createdAt startedAt finishedAt durationMs
  progress { stage done total fraction } error { code message }`;

const RESULT = `result {
  __typename
  ... on GenreTrendsResult { trends { genre year trackCount popularity } }
  ... on GenreFingerprintsResult { genres { genre trackCount } }
  ... on ListenerBehaviour { topArtists { artist plays } skipRates { genre rate } days { day } }
  ... on CoOccurrenceModel { tracks pairs neighbours }
}`;

const KINDS = ["GENRE_TRENDS", "GENRE_FINGERPRINTS", "LISTENER_BEHAVIOUR", "CO_OCCURRENCE_MODEL"];

export async function render(root, showError) {
  const { jobEngines } = await gql(`{ jobEngines }`);
  const key = h("input", { type: "password", name: "apiKey", autocomplete: "off", value: apiKey(), placeholder: "write or admin key", size: 28 });
  const kind = h("select", { name: "kind" }, KINDS.map((k) => h("option", { value: k }, k.toLowerCase().replaceAll("_", " "))));
  const engine = h("select", { name: "engine" }, jobEngines.map((e) => h("option", { value: e }, e.toLowerCase())));
  const level = h("select", { name: "level" }, h("option", { value: "GENRE" }, "genre"), h("option", { value: "SUBGENRE" }, "subgenre"));
  const genres = h("input", { name: "genres", placeholder: "all (or: pop, rock)", size: 18 });
  const from = h("input", { type: "number", name: "from", placeholder: "from year", size: 6 });
  const to = h("input", { type: "number", name: "to", placeholder: "to year", size: 6 });
  const start = h("button", { type: "submit" }, "Start job");
  const list = h("tbody", { "data-testid": "job-rows" });
  const detail = h("section", { class: "panel", "data-testid": "job-detail" }, h("p", { class: "empty" }, "Choose a job to see its result."));
  let chosen = null;

  root.append(
    h("h1", {}, "Jobs"),
    h(
      "form",
      { class: "controls panel", onsubmit: (e) => { e.preventDefault(); startJob().catch(showError); } },
      h("label", {}, "API key (kept in this tab only)", key),
      h("label", {}, "Kind", kind),
      h("label", {}, "Engine", engine),
      h("label", {}, "Level", level),
      h("label", {}, "Genres", genres),
      h("label", {}, "From", from),
      h("label", {}, "To", to),
      start,
    ),
    h(
      "section",
      { class: "panel" },
      h("h2", {}, "Recent jobs"),
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ["Id", "Kind", "Engine", "State", "Progress", "Created", "Duration", "Error", ""].map((c) => h("th", {}, c)))),
          list,
        ),
      ),
    ),
    detail,
  );

  async function startJob() {
    setApiKey(key.value.trim());
    showError(null);
    const params = {
      level: level.value,
      genres: genres.value.split(",").map((g) => g.trim()).filter(Boolean),
      from: from.value ? Number(from.value) : null,
      to: to.value ? Number(to.value) : null,
    };
    const { startJob: job } = await gql(
      `mutation Start($kind: JobKind!, $params: JobParamsInput!, $engine: JobEngine) {
        startJob(kind: $kind, params: $params, engine: $engine) { ${FIELDS} }
      }`,
      { kind: kind.value, params, engine: engine.value },
    );
    chosen = job.id;
    await refresh();
  }

  async function cancel(id) {
    setApiKey(key.value.trim());
    await gql(`mutation Cancel($id: ID!) { cancelJob(id: $id) { id state } }`, { id });
    await refresh();
  }

  // Job events come in bursts (queued, running, succeeded): only the
  // newest refresh may draw, or an older answer could overwrite a newer.
  const fetchJobs = latest(async () => {
    const { jobs } = await gql(`{ jobs(first: 20) { ${FIELDS} } }`);
    const job = chosen ? (await gql(`query Job($id: ID!) { job(id: $id) { ${FIELDS} ${RESULT} } }`, { id: chosen })).job : null;
    return { jobs, job };
  });

  async function refresh() {
    const answer = await fetchJobs();
    if (!answer) return;
    list.replaceChildren(...answer.jobs.map(row));
    if (answer.job) showJob(answer.job);
  }

  function row(job) {
    const going = job.state === "QUEUED" || job.state === "RUNNING";
    const p = job.progress;
    return h(
      "tr",
      { "data-id": job.id, "data-state": job.state, class: job.id === chosen ? "chosen" : null },
      h("td", {}, h("a", { href: "#jobs", onclick: (e) => { e.preventDefault(); showDetail(job.id).catch(showError); } }, job.id)),
      h("td", {}, job.kind.toLowerCase().replaceAll("_", " ")),
      h("td", {}, job.engine.toLowerCase()),
      h("td", {}, h("span", { class: `badge state-${job.state}` }, job.state.toLowerCase())),
      h("td", {}, p ? h("progress", { max: 1, value: p.fraction, title: `${p.stage}: ${p.done} of ${p.total}` }) : "–"),
      h("td", {}, when(job.createdAt)),
      h("td", { class: "num" }, ms(job.durationMs)),
      h("td", {}, job.error ? `${job.error.code}` : ""),
      h("td", {}, going ? h("button", { class: "secondary", type: "button", onclick: () => cancel(job.id).catch(showError) }, "Cancel") : ""),
    );
  }

  async function showDetail(id) {
    chosen = id;
    await refresh();
  }

  function showJob(job) {
    const parts = [
      h("h2", {}, `Job ${job.id}: ${job.kind.toLowerCase().replaceAll("_", " ")}`),
      h("p", {}, `State ${job.state.toLowerCase()} on the ${job.engine.toLowerCase()} engine, requested by ${job.requestedBy}; created ${when(job.createdAt)}, ran ${ms(job.durationMs)}.`),
    ];
    if (job.error) parts.push(h("p", { class: "error-text status-down" }, `${job.error.code}: ${job.error.message}`));
    if (job.result) parts.push(resultView(job.result));
    detail.replaceChildren(...parts);
    detail.dataset.state = job.state;
  }

  // Updates arrive over the subscription; while a job is going the page
  // also asks every second, for its progress (kept at most every 500 ms)
  // and in case the socket is down.
  const stop = subscribe(`subscription { jobUpdated { id state } }`, {}, () => refresh().catch(showError), showError);
  const poll = setInterval(() => {
    if (list.querySelector("tr[data-state=QUEUED], tr[data-state=RUNNING]")) refresh().catch(showError);
  }, 1000);
  await refresh();
  return () => {
    stop();
    clearInterval(poll);
  };
}

function resultView(result) {
  switch (result.__typename) {
    case "GenreTrendsResult": {
      const genres = new Set(result.trends.map((t) => t.genre));
      return h("div", { "data-testid": "job-result" }, h("p", {}, `${count(result.trends.length)} genre-year rows over ${genres.size} genres.`), sample(["Genre", "Year", "Tracks", "Popularity"], result.trends.map((t) => [t.genre, t.year, t.trackCount, t.popularity?.toFixed(1) ?? "–"])));
    }
    case "GenreFingerprintsResult":
      return h("div", { "data-testid": "job-result" }, h("p", {}, `${result.genres.length} fingerprints; see them drawn on `, h("a", { href: "#trends" }, "Genre trends"), "."), sample(["Genre", "Tracks"], result.genres.map((g) => [g.genre, g.trackCount])));
    case "ListenerBehaviour":
      return h("div", { "data-testid": "job-result" }, h("p", {}, `${count(result.days.length)} day rows; drawn on `, h("a", { href: "#listeners" }, "Listeners"), "."), sample(["Artist", "Plays"], result.topArtists.map((a) => [a.artist, a.plays])));
    case "CoOccurrenceModel":
      return h("p", { "data-testid": "job-result" }, `Model of ${count(result.tracks)} tracks, ${count(result.pairs)} pairs, ${count(result.neighbours)} neighbours kept per track; recommendations use it now.`);
    default:
      return h("p", {}, "No result.");
  }
}

/** The first rows of a result as a table. */
function sample(head, rows) {
  return tableOf({ head, rows: rows.slice(0, 15) });
}
