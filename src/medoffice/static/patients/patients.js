// Patient search: keyboard movement between the search box and its results.
(function () {
  "use strict";

  function resultLinks(box) {
    const region = document.getElementById(box.dataset.searchResults);
    return region ? Array.from(region.querySelectorAll("a.result-link")) : [];
  }

  function wire(box) {
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        const links = resultLinks(box);
        if (links.length) { event.preventDefault(); links[0].focus(); }
      } else if (event.key === "Enter") {
        const links = resultLinks(box);
        // Enter with a single result opens it; otherwise the form submits as usual.
        if (links.length === 1) { event.preventDefault(); links[0].click(); }
      }
    });
    const region = document.getElementById(box.dataset.searchResults);
    if (!region) return;
    region.addEventListener("keydown", function (event) {
      if (!event.target.matches("a.result-link")) return;
      const links = resultLinks(box);
      const index = links.indexOf(event.target);
      if (event.key === "ArrowDown" && index < links.length - 1) {
        event.preventDefault(); links[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (index > 0) links[index - 1].focus(); else box.focus();
      } else if (event.key === "Escape") {
        event.preventDefault(); box.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const boxes = document.querySelectorAll("input[data-search-results]");
    boxes.forEach(wire);
    if (!boxes.length) return;
    // "/" anywhere outside a field returns to the search box.
    document.addEventListener("keydown", function (event) {
      const tag = (event.target.tagName || "").toLowerCase();
      if (event.key === "/" && !["input", "textarea", "select"].includes(tag)) {
        event.preventDefault(); boxes[0].focus(); boxes[0].select();
      }
    });
  });
})();
