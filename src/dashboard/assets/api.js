// The dashboard's only way to the server: timbre's public GraphQL API.
// Queries and mutations go over HTTP POST; subscriptions over one shared
// graphql-transport-ws socket (graphql-ws's browser build, vendored),
// anonymous: the subscriptions the pages use need no key.
// An API key typed into the Jobs page is kept in sessionStorage: this tab
// only, gone when it closes, never sent anywhere but this server.

const KEY = "timbre.apiKey";

/** An error the API answered, with its `extensions.code`. */
export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** Runs one GraphQL operation; resolves to its `data`, rejects with the
 *  first error as an ApiError. */
export async function gql(query, variables = {}) {
  const headers = {
    "content-type": "application/json",
    accept: "application/graphql-response+json, application/json",
  };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError("NETWORK", `the server did not answer: ${e.message}`);
  }
  const body = await response.json().catch(() => null);
  if (!body) throw new ApiError(`HTTP_${response.status}`, `HTTP ${response.status}`);
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.extensions?.code || "ERROR", first.message);
  }
  return body.data;
}

/** Wraps an async function so that only the answer of its latest call is
 *  used: an earlier call that answers later resolves to `undefined`
 *  instead of overwriting newer data (sliders, live refreshes). */
export function latest(f) {
  let newest = 0;
  return async (...args) => {
    const mine = ++newest;
    const answer = await f(...args);
    return mine === newest ? answer : undefined;
  };
}

let socket = null;

function client() {
  if (!socket) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = globalThis.graphqlWs.createClient({
      url: `${scheme}://${location.host}/graphql`,
      // One socket for the tab's life: a lazy client closes it when a page
      // ends its last subscription, and the next page's subscription then
      // waits for that close, missing what happens meanwhile.
      lazy: false,
      retryAttempts: Infinity,
    });
  }
  return socket;
}

/** Subscribes; `onData` gets each event's `data`, `onError` an ApiError.
 *  Returns the function that unsubscribes. */
export function subscribe(query, variables, onData, onError = () => {}) {
  return client().subscribe(
    { query, variables },
    {
      next: (event) => {
        if (event.errors && event.errors.length) {
          const first = event.errors[0];
          onError(new ApiError(first.extensions?.code || "ERROR", first.message));
        } else {
          onData(event.data);
        }
      },
      error: (e) => onError(new ApiError("SUBSCRIPTION", e?.message || e?.reason || String(e))),
      complete: () => {},
    },
  );
}

/** The server's JSON health documents (`/readyz`, `/healthz`). */
export async function probe(path) {
  const response = await fetch(path);
  return response.json();
}
