// Manual journal entry form: add and remove lines, running debit and credit totals.
(function () {
  "use strict";
  const form = document.querySelector("[data-manual-entry]");
  if (!form) return;
  const body = form.querySelector("#entry-lines tbody");

  function cents(text) {
    const clean = (text || "").replace(/[$,\s]/g, "");
    if (!/^\d*(\.\d{1,2})?$/.test(clean) || clean === "" || clean === ".") return 0;
    const [whole, frac = ""] = clean.split(".");
    return parseInt(whole || "0", 10) * 100 + parseInt((frac + "00").slice(0, 2), 10);
  }
  function dollars(n) {
    const sign = n < 0 ? "-" : "";
    n = Math.abs(n);
    return sign + Math.floor(n / 100).toLocaleString("en-US") + "." + String(n % 100).padStart(2, "0");
  }
  function renumber() {
    body.querySelectorAll("[data-line]").forEach(function (row, i) {
      const n = i + 1;
      row.querySelector("[data-line-number]").textContent = n;
      row.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/_\d+$/, "_" + n);
        const label = input.getAttribute("aria-label");
        if (label) input.setAttribute("aria-label", label.replace(/line \d+$/, "line " + n));
      });
    });
  }
  function totals() {
    let debit = 0, credit = 0;
    body.querySelectorAll("[data-debit]").forEach(function (i) { debit += cents(i.value); });
    body.querySelectorAll("[data-credit]").forEach(function (i) { credit += cents(i.value); });
    form.querySelector("#total-debit").textContent = dollars(debit);
    form.querySelector("#total-credit").textContent = dollars(credit);
    form.querySelector("#total-difference").textContent =
      debit === credit ? (debit ? "Balanced" : "") : "Off by " + dollars(Math.abs(debit - credit));
  }
  form.addEventListener("input", totals);
  form.addEventListener("click", function (event) {
    if (event.target.matches("[data-add-line]")) {
      const rows = body.querySelectorAll("[data-line]");
      const copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      body.appendChild(copy);
      renumber();
    } else if (event.target.matches("[data-remove-line]")) {
      if (body.querySelectorAll("[data-line]").length > 2) {
        event.target.closest("[data-line]").remove();
        renumber();
        totals();
      }
    }
  });
  totals();
})();
