// Small helpers shared by the pages: building DOM nodes without innerHTML
// (names of tracks and genres are user data) and formatting numbers.

/** An element: `h("p", {class: "x"}, "text", child)`. Attributes starting
 *  with "on" are listeners; `null`/`false` children are skipped. */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && name !== "list" && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A figure card: a label, a big value and an optional note; `status`
 *  (up, down, disabled, degraded) colours the value. */
export function card(label, value, note, status) {
  return h(
    "div",
    { class: "card" },
    h("div", { class: "label" }, label),
    h("div", { class: `value ${status ? `status-${status}` : ""}` }, value),
    note ? h("div", { class: "note" }, note) : null,
  );
}

const integer = new Intl.NumberFormat("en");

/** 28356 → "28,356"; null → "–". */
export function count(n) {
  return n === null || n === undefined ? "–" : integer.format(n);
}

/** A number with `digits` decimals (default 2); null → "–". */
export function num(n, digits = 2) {
  return n === null || n === undefined ? "–" : Number(n).toFixed(digits);
}

/** Milliseconds as "850 ms" or "3.2 s". */
export function ms(n) {
  if (n === null || n === undefined) return "–";
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** An RFC 3339 time as the browser's local date and time. */
export function when(text) {
  return text ? new Date(text).toLocaleString() : "–";
}

/** "Title — Artist, Artist" for a track object with name and artists. */
export function trackLabel(track) {
  if (!track) return "(unknown track)";
  const artists = (track.artists || []).join(", ");
  return artists ? `${track.name || track.id} — ${artists}` : track.name || track.id;
}

/** The audio features the charts offer, with units, in the API's enum
 *  spelling and as the `features` objects' field names. */
export const FEATURES = [
  { field: "danceability", name: "DANCEABILITY", label: "Danceability", unit: "0–1" },
  { field: "energy", name: "ENERGY", label: "Energy", unit: "0–1" },
  { field: "valence", name: "VALENCE", label: "Valence (positiveness)", unit: "0–1" },
  { field: "acousticness", name: "ACOUSTICNESS", label: "Acousticness", unit: "0–1" },
  { field: "instrumentalness", name: "INSTRUMENTALNESS", label: "Instrumentalness", unit: "0–1" },
  { field: "speechiness", name: "SPEECHINESS", label: "Speechiness", unit: "0–1" },
  { field: "liveness", name: "LIVENESS", label: "Liveness", unit: "0–1" },
  { field: "loudness", name: "LOUDNESS", label: "Loudness", unit: "dB" },
  { field: "tempo", name: "TEMPO", label: "Tempo", unit: "BPM" },
  { field: "durationMs", name: "DURATION_MS", label: "Duration", unit: "ms" },
];

/** Features the charts do not offer but explanations mention. */
const OTHER_LABELS = { KEY: "Key", MODE: "Mode (major/minor)", TIME_SIGNATURE: "Time signature" };

export function featureLabel(name) {
  const f = FEATURES.find((x) => x.name === name || x.field === name);
  return f ? f.label : OTHER_LABELS[name] ?? name.toLowerCase();
}
