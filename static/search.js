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
  var query = new URLSearchParams(window.location.search).get("q");
  if (!query || !bundles.length) {
    new PagefindUI(options);
    return;
  }
  // The UI shows the filters counted by its latest search, and a search counts only the
  // filters whose index has loaded by then: a search started with the page often shows the
  // first filter alone. So the bundles are merged and every filter loaded first (the UI
  // imports the same module and finds them there), then the UI is made and the search run.
  import(options.bundlePath + "pagefind.js").then(function (pagefind) {
    return Promise.all(options.mergeIndex.map(function (index) {
      return pagefind.mergeIndex(index.bundlePath, {});
    })).then(function () { return pagefind.filters(); });
  }).then(function () {
    options.mergeIndex = [];  // merged above
  }, function (error) {
    console.error(error);  // the UI loads and merges the bundles itself, as without a query
  }).then(function () {
    new PagefindUI(options).triggerSearch(query);
  });
})();
