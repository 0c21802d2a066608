// Explorer: find a track by title or artist, then see what timbre makes of
// it: its nearest tracks (`similar`), recommendations steered by sliders
// (`recommend` with `shift` or `target`), and genres it would lead a
// listener to (`discoverGenres`), each result explained feature by feature.

import { gql, latest } from "../api.js";
import { colour, draw, figure } from "../charts.js";
import { FEATURES, featureLabel, h, num, trackLabel } from "../format.js";

export const TITLE = "Explorer";

const TRACK = `id name artists genres popularity album { releaseYear }`;
const EXPLAINED = `track { ${TRACK} } score explanation { all { feature unit seedValue value difference share } }`;

/** The sliders: features a listener would steer by, with each mode's range. */
const STEERS = [
  { field: "energy", shift: [-0.5, 0.5, 0.05], target: [0, 1, 0.05] },
  { field: "danceability", shift: [-0.5, 0.5, 0.05], target: [0, 1, 0.05] },
  { field: "valence", shift: [-0.5, 0.5, 0.05], target: [0, 1, 0.05] },
  { field: "acousticness", shift: [-0.5, 0.5, 0.05], target: [0, 1, 0.05] },
  { field: "tempo", shift: [-40, 40, 2], target: [60, 200, 2] },
];

export async function render(root, showError) {
  const text = h("input", { type: "search", name: "q", placeholder: "title or artist", size: 30, "aria-label": "Search tracks by title or artist" });
  const found = h("ul", { class: "results", "data-testid": "search-results" });
  const chosenBox = h("div", { "data-testid": "chosen" });
  root.append(
    h("h1", {}, "Explorer"),
    h(
      "form",
      { class: "controls panel", role: "search", onsubmit: (e) => { e.preventDefault(); search().catch(showError); } },
      h("label", {}, "Track", text),
      h("button", { type: "submit" }, "Search"),
    ),
    h("section", { class: "panel" }, h("h2", {}, "Tracks found"), found),
    chosenBox,
  );

  async function search() {
    showError(null);
    const { searchTracks } = await gql(`query Find($text: String!) { searchTracks(text: $text, first: 10) { ${TRACK} } }`, { text: text.value });
    found.replaceChildren(
      ...(searchTracks.length
        ? searchTracks.map((t) =>
            h(
              "li",
              { "data-id": t.id },
              h("button", { type: "button", onclick: () => choose(t).catch(showError) }, "Explore"),
              h("span", { class: "title" }, trackLabel(t)),
              h("span", { class: "muted" }, `${t.genres.join(", ")} · ${t.album.releaseYear ?? "year unknown"} · popularity ${t.popularity ?? "–"}`),
            ),
          )
        : [h("li", { class: "empty" }, "No track matches.")]),
    );
  }

  async function choose(track) {
    // Slider moves wait 150 ms for the next one; only the newest answer draws.
    let waiting = null;
    const steered = latest((input) =>
      gql(`query Steer($input: RecommendInput!) { recommend(input: $input) { because { name } ${EXPLAINED} } }`, { input }),
    );
    for (const li of found.children) li.classList.toggle("chosen", li.dataset.id === track.id);
    const similarList = h("ul", { class: "results", "data-testid": "similar" });
    const recommendList = h("ul", { class: "results", "data-testid": "recommended" });
    const genresList = h("ul", { class: "results", "data-testid": "discovered" });
    const why = figure("explanation", "Why it is close", { size: "tall" });
    const mode = h("select", { name: "mode" }, h("option", { value: "shift" }, "shift (change the seed's values by)"), h("option", { value: "target" }, "target (replace the seed's values with)"));
    const sliders = h("div", { class: "sliders" });
    const buildSliders = () =>
      sliders.replaceChildren(
        ...STEERS.map((s) => {
          const [min, max, step] = s[mode.value];
          const f = FEATURES.find((x) => x.field === s.field);
          const output = h("output", {}, "off");
          const input = h("input", { type: "range", name: s.field, min, max, step, value: mode.value === "shift" ? 0 : (min + max) / 2, "data-touched": "" });
          input.addEventListener("input", () => {
            input.dataset.touched = "1";
            output.textContent = input.value;
            steer();
          });
          return h("label", {}, `${f.label} (${f.unit})`, input, output);
        }),
      );
    mode.addEventListener("change", () => {
      buildSliders();
      steer();
    });
    buildSliders();
    chosenBox.replaceChildren(
      h("h2", {}, `Around “${trackLabel(track)}”`),
      h(
        "div",
        { class: "grid" },
        h("section", { class: "panel" }, h("h2", {}, "Most similar (similar)"), similarList),
        why,
      ),
      h(
        "div",
        { class: "grid" },
        h(
          "section",
          { class: "panel" },
          h("h2", {}, "Recommended, steered (recommend)"),
          h("div", { class: "controls" }, h("label", {}, "Sliders", mode)),
          sliders,
          recommendList,
        ),
        h("section", { class: "panel" }, h("h2", {}, "Genres to discover (discoverGenres)"), genresList),
      ),
    );

    const data = await gql(
      `query Explore($id: ID!) {
        similar(trackId: $id, first: 10) { distance ${EXPLAINED} }
        discoverGenres(seed: { trackIds: [$id] }, first: 5) { genre score reason tracks { track { ${TRACK} } } }
      }`,
      { id: track.id },
    );
    fill(similarList, data.similar);
    genresList.replaceChildren(
      ...data.discoverGenres.map((g) =>
        h(
          "li",
          {},
          h("span", { class: "title" }, g.genre),
          h("span", { class: "muted" }, `${g.reason} (e.g. ${g.tracks.map((t) => trackLabel(t.track)).join("; ")})`),
        ),
      ),
    );
    if (data.similar.length) explain(data.similar[0]);
    await steer();

    function fill(list, results) {
      list.replaceChildren(
        ...results.map((r, i) =>
          h(
            "li",
            { "data-id": r.track.id, class: i === 0 && list === similarList ? "chosen" : null },
            h("button", { type: "button", class: "secondary", onclick: (e) => { for (const li of list.children) li.classList.remove("chosen"); e.target.closest("li").classList.add("chosen"); explain(r); } }, "Why?"),
            h("span", { class: "title" }, trackLabel(r.track)),
            h("span", { class: "muted" }, `score ${num(r.score, 3)}${r.because ? ` · near ${r.because.name}` : ""}`),
          ),
        ),
      );
    }

    function explain(result) {
      const rows = result.explanation.all;
      why.querySelector("figcaption").textContent = `Why “${trackLabel(result.track)}” is close: each feature's share of the distance (bars right: more than the seed; left: less)`;
      draw(
        why,
        {
          type: "bar",
          data: {
            labels: rows.map((r) => featureLabel(r.feature)),
            datasets: [
              {
                label: "Share of the distance (%), signed by direction",
                data: rows.map((r) => Math.sign(r.difference) * r.share * 100),
                backgroundColor: rows.map((r) => (r.difference >= 0 ? colour(0) : colour(1))),
              },
            ],
          },
          options: {
            indexAxis: "y",
            plugins: {
              legend: { display: false },
              tooltip: { callbacks: { label: (c) => { const r = rows[c.dataIndex]; return `${num(r.seedValue)} → ${num(r.value)} ${r.unit} (${num(r.share * 100, 1)}% of the distance)`; } } },
            },
            scales: { x: { title: { text: "Share of the distance (%), + more than the seed, − less" } }, y: { title: { text: "Audio feature" } } },
          },
        },
        {
          head: ["Feature", "Unit", "Seed", "This track", "Difference", "Share of distance (%)"],
          rows: rows.map((r) => [featureLabel(r.feature), r.unit, r.seedValue, r.value, r.difference, r.share * 100]),
        },
      );
    }

    function steer() {
      clearTimeout(waiting);
      return new Promise((resolve) => {
        waiting = setTimeout(() => recommend().catch(showError).finally(resolve), 150);
      });
    }

    async function recommend() {
      const values = {};
      for (const input of sliders.querySelectorAll("input[data-touched='1']")) values[input.name] = Number(input.value);
      const input = { seeds: { trackIds: [track.id] }, first: 10 };
      if (Object.keys(values).length) input[mode.value] = values;
      const answer = await steered(input);
      if (answer) fill(recommendList, answer.recommend);
    }
  }

  return undefined;
}
