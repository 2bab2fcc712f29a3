// The few DOM helpers the viewer's modules share. Values from the API are user input: they
// reach the page as text nodes only, never as markup.

export const $ = (id) => document.getElementById(id);

// <tag class=className>children...</tag>; strings become text nodes.
export function el(tag, className, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

export function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

export function describe(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

// "2026-11-23T10:00:00.000000Z" -> "2026-11-23 10:00:00"
export function when(time) {
  return time ? time.slice(0, 19).replace("T", " ") : "—";
}
