// Runs: progressive enhancement only (the Run button is a plain form without JavaScript).
// A refused run (422 invalid design, 429 limits) answers with a fragment explaining why;
// htmx does not swap error responses by default, so let these two through.
(function () {
  "use strict";
  if (window.__sdcRuns) return;
  window.__sdcRuns = true;
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 422 || status === 429) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
