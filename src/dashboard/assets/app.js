// The dashboard's shell: one page at a time, chosen by the URL's hash
// (#overview, #trends, ...), so every page has a link to share. A page
// module exports `render(root)`, which fills `root` and may return a
// function that stops its subscriptions and timers when the reader leaves.
// Once a page has drawn its first data, `main` gets `data-ready` set to the
// page's name (what the browser tests wait for).

import { forgetCharts } from "./charts.js";
import * as overview from "./pages/overview.js";
import * as trends from "./pages/trends.js";
import * as listeners from "./pages/listeners.js";
import * as live from "./pages/live.js";
import * as jobs from "./pages/jobs.js";
import * as explorer from "./pages/explorer.js";

const PAGES = { overview, trends, listeners, live, jobs, explorer };

const main = document.getElementById("page");
const errorBox = document.getElementById("error");
let leave = null;
let generation = 0;

/** Shows an error (with its API code) above the footer; `null` hides it. */
export function showError(error) {
  if (!error) {
    errorBox.hidden = true;
    return;
  }
  errorBox.textContent = error.code ? `${error.code}: ${error.message}` : String(error.message || error);
  errorBox.hidden = false;
}

async function route() {
  const name = location.hash.slice(1) || "overview";
  const page = PAGES[name] || overview;
  const mine = ++generation;
  if (leave) leave();
  leave = null;
  showError(null);
  main.removeAttribute("data-ready");
  main.replaceChildren();
  forgetCharts();
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.dataset.page === name);
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
  }
  document.title = `${page.TITLE} · timbre`;
  try {
    const stop = await page.render(main, showError);
    if (mine !== generation) {
      if (stop) stop();
      return;
    }
    leave = stop || null;
    main.dataset.ready = name;
  } catch (e) {
    if (mine === generation) showError(e);
  }
}

window.addEventListener("hashchange", route);
route();
