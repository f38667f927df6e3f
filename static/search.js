// Pagefind's search UI on the search page; a ?q= from the header form starts a search.
// The index comes in shards, one Pagefind bundle per period under pagefind/ (data-bundles,
// newest first): the newest is loaded and the others merged into it (mergeIndex).
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") { return; }
  var options = { element: "#search", showSubResults: false, showImages: false, resetStyles: false };
  var script = document.querySelector("script[src$='pagefind-ui.js']");
  var bundles = (box.getAttribute("data-bundles") || "").split(" ").filter(Boolean).map(function (name) {
    return new URL(name + "/", script.src).href;  // pagefind/<name>/, beside pagefind-ui.js
  });
  if (bundles.length) {
    options.bundlePath = bundles[0];
    options.mergeIndex = bundles.slice(1).map(function (path) { return { bundlePath: path }; });
  }
  var ui = new PagefindUI(options);
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) { ui.triggerSearch(query); }
})();
