// Progressive activity form: show a block only when it applies (démarches with « Aide aux
// démarches administratives », commune for « Autre lieu » / « À domicile », custom duration…).
// Without JavaScript every block is shown and the rules ignore what does not apply. A hidden
// block's fields are disabled, so they are neither sent nor checked; what was typed stays on the
// page and comes back with the block. A block showing an error is never hidden.
(function () {
  "use strict";
  var form = document.querySelector("form[data-progressive]");
  if (!form) { return; }
  var blocks = Array.prototype.slice.call(form.querySelectorAll("[data-show-when]"));

  function chosen(name) {
    var values = [];
    Array.prototype.forEach.call(form.elements, function (input) {
      if (input.name !== name || input.disabled) { return; }
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) { return; }
      values.push(input.value);
    });
    return values;
  }

  function update() {
    blocks.forEach(function (block) {
      var wanted = block.getAttribute("data-show-values").split(" ");
      var show = chosen(block.getAttribute("data-show-when")).some(function (value) {
        return wanted.indexOf(value) !== -1;
      }) || block.querySelector(".has-error") !== null;
      block.hidden = !show;
      Array.prototype.forEach.call(block.querySelectorAll("input, select, textarea"), function (control) {
        control.disabled = !show;
      });
    });
  }

  form.addEventListener("change", update);
  update();
}());
