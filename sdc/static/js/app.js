// Progressive enhancement only: every page works without this file.
// No inline handlers (CSP script-src 'self'); behaviour attaches here by data attributes.
(function () {
  "use strict";
})();
