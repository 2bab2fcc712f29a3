// The side panel's history: every merge that built the drawn profiles, oldest first, with the
// link that caused it and a button to undo it, and the refused links that name the profile.

import { el, when } from "./dom.js";

// merges: model.mergesOf; writable: {ok, why}; onUndo(merge) and onShowLink(linkId) act;
// onPoint(merge) while the pointer or the focus is on a merge, onPoint(null) when it leaves.
export function showMerges(list, merges, { writable, onUndo, onShowLink, onPoint }) {
  if (!merges.length) {
    list.replaceChildren(el("li", "empty", "No merge built this profile."));
    return;
  }
  list.replaceChildren(
    ...merges.map((merge) => {
      const item = mergeItem(merge, writable, onUndo, onShowLink);
      for (const on of ["mouseenter", "focusin"]) item.addEventListener(on, () => onPoint(merge));
      for (const off of ["mouseleave", "focusout"]) item.addEventListener(off, () => onPoint(null));
      return item;
    }),
  );
}

function mergeItem(merge, writable, onUndo, onShowLink) {
  const [cause] = merge.links;
  const item = el(
    "li",
    merge.undone_at ? "merge undone" : "merge",
    el("strong", "", `Merge #${merge.id}`),
    ` · ${when(merge.at)}`,
    el("div", "", `profile ${merge.absorbed} into profile ${merge.survivor}`),
    cause
      ? el("div", "", `${cause.operation} from ${cause.source} · request ${merge.request_id}`)
      : null,
    cause
      ? causeOf(cause, merge.links.length, onShowLink)
      : el("div", "", `request ${merge.request_id}`),
  );
  item.dataset.mergeId = String(merge.id);
  if (merge.undone_at) {
    item.append(el("div", "undone-note", `undone ${when(merge.undone_at)}`));
    return item;
  }
  const button = el("button", "undo", `Undo merge #${merge.id}`);
  button.type = "button";
  button.disabled = !writable.ok;
  if (!writable.ok) {
    const why = el("div", "why", writable.why);
    why.id = `undo-why-${merge.id}`;
    button.title = writable.why;
    button.setAttribute("aria-describedby", why.id);
    item.append(button, why);
  } else {
    item.append(button);
  }
  button.addEventListener("click", () => onUndo(merge));
  return item;
}

function causeOf(link, count, onShowLink) {
  const show = el("button", "linkish", `link #${link.id}`);
  show.type = "button";
  show.addEventListener("click", () => onShowLink(link.id));
  const more = count > 1 ? ` (and ${count - 1} more)` : "";
  return el("div", "", show, `: ${link.a} — ${link.b}${more}`);
}

// The oldest 100 of each drawn profile; `more`: there are others (GET /conflicts?profile=).
export function showConflicts(list, conflicts, more) {
  if (!conflicts.length) {
    list.replaceChildren(el("li", "empty", "No refused link names this profile."));
    return;
  }
  list.replaceChildren(
    ...conflicts.map((conflict) =>
      el(
        "li",
        "conflict",
        el("strong", "", `Refused #${conflict.id}`),
        ` · ${when(conflict.at)} · rule `,
        el("code", "", conflict.rule),
        el("div", "", conflict.identifiers.map((i) => `${i.type}:${i.value}`).join(" — ")),
        el("div", "", `profiles ${conflict.profiles.join(", ")} · request ${conflict.request_id}`),
      ),
    ),
    ...(more
      ? [el("li", "empty", "The oldest 100 are listed: GET /conflicts?profile= pages on.")]
      : []),
  );
}
