// A real graphql-ws client (graphql-transport-ws protocol) for the
// subscription tests. Prints one JSON object on stdout.
//
//   node subscribe.mjs indexed URL KEY
//     subscribes to trackIndexed and ingestStats, upserts a track through
//     the HTTP mutation (again every 300 ms until its event arrives), and
//     prints { indexed, stats, mutation }.
//   node subscribe.mjs jobs URL KEY
//     subscribes to jobUpdated (every job), starts a job, waits for its
//     final update, starts a second and waits for that one's; prints
//     { events } (each update's id and state).
//   node subscribe.mjs until-closed URL
//     subscribes to ingestStats, prints "subscribed" on stderr after the
//     first event, and waits for the server to end the subscription
//     (as a graceful shutdown must); prints { events, ended }.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [mode, url, key] = process.argv.slice(2);
const client = createClient({
  url: url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  retryAttempts: 0,
});

function subscribe(query, onNext) {
  return new Promise((resolve, reject) => {
    client.subscribe({ query }, {
      next: onNext,
      error: (e) => reject(new Error(JSON.stringify(e?.message ?? e?.reason ?? e))),
      complete: () => resolve('complete'),
    });
  });
}

const TRACK = {
  id: '0000000000000000000sub',
  name: 'Subscribed',
  artists: ['The Listeners'],
  genres: ['pop'],
  features: {
    danceability: 0.5, energy: 0.5, loudness: -7, mode: 1, speechiness: 0.05,
    acousticness: 0.2, instrumentalness: 0, liveness: 0.1, valence: 0.5,
    tempo: 120, durationMs: 200000,
  },
};

async function indexed() {
  const stats = [];
  let event = null;
  const gotEvent = new Promise((resolve) => {
    subscribe('subscription { trackIndexed { id name } }', (v) => { event = v; resolve(); })
      .catch((e) => { event = { error: e.message }; resolve(); });
  });
  subscribe('subscription { ingestStats(intervalMs: 100) { enabled messages } }', (v) => stats.push(v))
    .catch((e) => stats.push({ error: e.message }));
  let mutation = null;
  const post = async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        query: 'mutation Add($t: [TrackInput!]!) { upsertTracks(tracks: $t) { inserted replaced totalCount } }',
        variables: { t: [TRACK] },
      }),
    });
    mutation = { status: res.status, body: await res.json() };
  };
  const timer = setInterval(() => post().catch((e) => { mutation = { error: e.message }; }), 300);
  await post();
  await Promise.race([gotEvent, new Promise((r) => setTimeout(r, 15000))]);
  clearInterval(timer);
  while (stats.length < 2) await new Promise((r) => setTimeout(r, 50));
  return { indexed: event, stats: stats.slice(0, 2), mutation };
}

async function jobs() {
  const events = [];
  let waiting = null;
  subscribe('subscription { jobUpdated { id state } }', (v) => {
    events.push(v.data.jobUpdated);
    if (waiting && waiting.id === v.data.jobUpdated.id && v.data.jobUpdated.state === 'SUCCEEDED') waiting.done();
  }).catch((e) => events.push({ error: e.message }));
  // The first update arrives only once the server runs the subscription:
  // start jobs until the subscription has seen one, then two more.
  const start = async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: 'mutation { startJob(kind: GENRE_TRENDS, engine: EMBEDDED) { id } }' }),
    });
    return (await res.json()).data.startJob.id;
  };
  const finished = async (id) => {
    await new Promise((resolve) => {
      waiting = { id, done: resolve };
      if (events.some((e) => e.id === id && e.state === 'SUCCEEDED')) resolve();
    });
  };
  while (events.length === 0) {
    await start();
    await new Promise((r) => setTimeout(r, 200));
  }
  const first = await start();
  await finished(first);
  const second = await start();
  await finished(second);
  return { events, first, second };
}

async function untilClosed() {
  const events = [];
  const ended = await subscribe('subscription { ingestStats(intervalMs: 100) { enabled } }', (v) => {
    events.push(v);
    if (events.length === 1) console.error('subscribed');
  }).catch((e) => `error: ${e.message}`);
  return { events: events.length, ended };
}

const timeout = setTimeout(() => {
  console.log(JSON.stringify({ error: 'timed out' }));
  process.exit(1);
}, 30000);
const modes = { indexed, jobs, 'until-closed': untilClosed };
const result = await modes[mode]();
clearTimeout(timeout);
console.log(JSON.stringify(result));
await client.dispose();
process.exit(0);
