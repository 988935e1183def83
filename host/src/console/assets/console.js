// grc console: progressive enhancement only; every page works without it.
// Moves focus to the first alert or status message so keyboard and screen-reader users hear
// the result of what they just submitted.
document.addEventListener("DOMContentLoaded", () => {
  const result = document.querySelector("[role=alert], [role=status]");
  if (result) {
    result.setAttribute("tabindex", "-1");
    result.focus();
  }
});
