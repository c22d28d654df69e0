// Progressive enhancement for the portals. Every action also works as a plain form POST;
// this file only makes htmx send Django's CSRF token (A7), read from
// <meta name="csrf-token">. A file of its own: the Content-Security-Policy allows no inline
// script (O10).
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});

// After htmx swaps in new content, move focus to the element marked data-focus-after-swap
// (a row's outcome message), so keyboard and screen-reader users learn what happened.
document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.elt.querySelector("[data-focus-after-swap]");
  if (target) target.focus();
});
