// Pick-lists that are a search (templates/macros/forms.html, pick_search). Without JavaScript the
// first « Rechercher » button is the form's default one: Enter in any field shows the form again
// with the matches, nothing saved. Here, Enter in a search box searches, and Enter in the other
// fields saves, with the form's last button, as in a form without a search.
(function () {
  "use strict";
  if (window.mediationPickList) { return; }
  window.mediationPickList = true;

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.defaultPrevented) { return; }
    var field = event.target;
    var form = field && field.form;
    if (!form || !form.querySelector(".pick-search") || field.tagName !== "INPUT") { return; }
    var type = (field.getAttribute("type") || "text").toLowerCase();
    if (["submit", "button", "checkbox", "radio", "file", "reset"].indexOf(type) !== -1) { return; }
    var search = field.closest(".pick-search");
    var button = search
      ? search.querySelector("button[name=rechercher_choix]")
      : Array.prototype.filter.call(form.querySelectorAll("button[type=submit], input[type=submit]"), function (b) {
        return b.name !== "rechercher_choix";
      }).pop();
    if (!button) { return; }
    event.preventDefault();
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  });
}());
