// The person picker as a combobox (WAI-ARIA Authoring Practices: combobox with a listbox popup).
// Progressive enhancement of templates/macros/person_picker.html: without JavaScript, the
// « Rechercher » button re-renders the form with the matching people as radio buttons or checkboxes.
// The typed query is POSTed (never in a URL, so never in an access log).
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) { return; }
  var MIN_CHARS = 2;

  function setup(box, index) {
    var name = box.getAttribute("data-name");
    var multiple = box.getAttribute("data-multiple") === "true";
    var url = box.getAttribute("data-search-url");
    var input = box.querySelector("input[type=search]");
    var button = box.querySelector(".picker-button");
    var status = box.querySelector(".picker-status");
    var choices = box.querySelector(".picker-options");
    var form = box.closest("form");
    if (!input || !choices || !form) { return; }
    var token = form.querySelector("input[name=csrf_token]");

    // The « Rechercher » button goes: Enter in the other fields submits the form as before.
    if (button) { button.parentNode.removeChild(button); }

    var listbox = document.createElement("ul");
    listbox.id = name + "-suggestions";
    listbox.className = "picker-listbox";
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-label", "Personnes trouvées");
    listbox.hidden = true;
    input.parentNode.appendChild(listbox);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);

    var results = [];
    var active = -1;
    var timer = null;
    var sequence = 0;

    function say(text) { status.textContent = text; }

    function describe(person) {
      var parts = [];
      if (person.birth_year) { parts.push(String(person.birth_year)); }
      if (person.commune) { parts.push(person.commune); }
      return parts.join(" · ");
    }

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(position) {
      var items = listbox.children;
      if (!items.length) { return; }
      active = (position + items.length) % items.length;
      for (var i = 0; i < items.length; i += 1) {
        items[i].setAttribute("aria-selected", i === active ? "true" : "false");
        items[i].classList.toggle("active", i === active);
      }
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function render(people) {
      results = people;
      listbox.innerHTML = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      people.forEach(function (person, i) {
        var item = document.createElement("li");
        item.id = name + "-suggestion-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = person.label;
        var details = describe(person);
        if (details) {
          var span = document.createElement("span");
          span.className = "hint";
          span.textContent = " (" + details + ")";
          item.appendChild(span);
        }
        item.addEventListener("mousedown", function (event) { event.preventDefault(); });
        item.addEventListener("click", function () { choose(i); });
        listbox.appendChild(item);
      });
      if (people.length) {
        listbox.hidden = false;
        input.setAttribute("aria-expanded", "true");
        say(people.length + (people.length > 1 ? " personnes trouvées" : " personne trouvée") +
            " : flèche bas pour choisir, Entrée pour valider.");
      } else {
        close();
        say("Aucune personne ne correspond.");
      }
    }

    function search() {
      var q = input.value.trim();
      if (q.length < MIN_CHARS) { close(); results = []; return; }
      var body = new FormData();
      body.append("q", q);
      if (token) { body.append("csrf_token", token.value); }
      var mine = (sequence += 1);
      fetch(url, { method: "POST", body: body, credentials: "same-origin",
                   headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (people) { if (people && mine === sequence) { render(people); } })
        .catch(function () { say("La recherche n’a pas abouti : réessayez."); });
    }

    function choose(i) {
      var person = results[i];
      if (!person) { return; }
      var id = name + "-" + person.id;
      var control = document.getElementById(id);
      if (!control) {
        var item = document.createElement("li");
        control = document.createElement("input");
        control.type = multiple ? "checkbox" : "radio";
        control.name = name;
        control.id = id;
        control.value = String(person.id);
        var label = document.createElement("label");
        label.htmlFor = id;
        label.textContent = person.label;
        var details = describe(person);
        if (details) {
          var span = document.createElement("span");
          span.className = "hint";
          span.textContent = " (" + details + ")";
          label.appendChild(span);
        }
        item.appendChild(control);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(label);
        var none = document.getElementById(name + "-aucun");
        var after = none ? none.parentNode.nextSibling : choices.firstChild;
        choices.insertBefore(item, after);
      }
      control.checked = true;
      control.dispatchEvent(new Event("change", { bubbles: true }));
      close();
      if (multiple) {
        input.value = "";
        say(person.label + " ajouté·e aux participants.");
      } else {
        input.value = person.label;
        say(person.label + " choisi·e.");
      }
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !listbox.hidden;
      if (event.key === "ArrowDown" || event.key === "Down") {
        event.preventDefault();
        if (!open && results.length) { listbox.hidden = false; input.setAttribute("aria-expanded", "true"); }
        if (!listbox.hidden) { highlight(active + 1); }
      } else if (event.key === "ArrowUp" || event.key === "Up") {
        event.preventDefault();
        if (open) { highlight(active - 1); }
      } else if (event.key === "Enter") {
        event.preventDefault();  // never submits the form: Enter chooses, or searches now
        if (open && active >= 0) { choose(active); } else { window.clearTimeout(timer); search(); }
      } else if (event.key === "Escape" || event.key === "Esc") {
        if (open) { event.preventDefault(); close(); } else if (input.value) { event.preventDefault(); input.value = ""; }
      } else if (event.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 150); });
  }

  var boxes = document.querySelectorAll("[data-person-picker]");
  for (var i = 0; i < boxes.length; i += 1) { setup(boxes[i], i); }
}());
