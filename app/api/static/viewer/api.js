// Calls to the JSON API with the token the person gave, kept in the tab's sessionStorage.

const TOKEN_KEY = "idgraph.token";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `the server answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function api(base, { onUnauthorized }) {
  return async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => null);
    if (response.status === 401) onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  };
}

// A URL path of values, each one segment: "/" + its percent-encoding. A browser's URL parser
// (WHATWG URL, which fetch and links use) takes a segment "." or ".." for "here" and "one up",
// and so it takes "%2E" and "%2E%2E" too: no path can carry those two values, and asking for
// one throws (isDotSegment says which, for a caller that can ask another way).
export function path(...values) {
  return values
    .map((value) => {
      if (isDotSegment(value)) throw new Error(`"${value}" cannot be a segment of a URL path`);
      return `/${encodeURIComponent(value)}`;
    })
    .join("");
}

export function isDotSegment(value) {
  return value === "." || value === "..";
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};
