/* « Écouter »: each text block of « Mon carnet » marked data-listen can be read aloud by the
   browser's speech synthesis, in the page's language (<html lang>). Progressive enhancement: without
   JavaScript or without speech synthesis, no button appears and the page is complete. */
(function () {
  "use strict";
  if (!("speechSynthesis" in window) || typeof SpeechSynthesisUtterance === "undefined") {
    return;
  }
  var root = document.querySelector("[data-listen-label]");
  if (!root) {
    return;
  }
  var listenLabel = root.getAttribute("data-listen-label");
  var stopLabel = root.getAttribute("data-stop-label");
  var lang = document.documentElement.lang || "fr";
  var speaking = null;

  function voiceFor(language) {
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i += 1) {
      if ((voices[i].lang || "").toLowerCase().indexOf(language.toLowerCase()) === 0) {
        return voices[i];
      }
    }
    return null;
  }

  function textOf(block) {
    var copy = block.cloneNode(true);
    copy.querySelectorAll(".listen, svg, script").forEach(function (node) { node.remove(); });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  function reset(button) {
    button.lastChild.textContent = listenLabel;
  }

  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M11 5L6 9H3v6h3l5 4V5zM15.5 8.5a5 5 0 0 1 0 7M18.5 5.5a9 9 0 0 1 0 13");
    svg.appendChild(path);
    return svg;
  }

  document.querySelectorAll("[data-listen]").forEach(function (block) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "listen";
    button.appendChild(icon());
    button.appendChild(document.createElement("span"));
    reset(button);
    var heading = block.querySelector("h2, h3");
    if (heading && heading.id) {
      button.setAttribute("aria-describedby", heading.id);
    }
    button.addEventListener("click", function () {
      var wasMine = speaking === button;
      window.speechSynthesis.cancel();
      if (speaking) {
        reset(speaking);
        speaking = null;
      }
      if (wasMine) {
        return;
      }
      var utterance = new SpeechSynthesisUtterance(textOf(block));
      utterance.lang = lang;
      var voice = voiceFor(lang);
      if (voice) {
        utterance.voice = voice;
      }
      utterance.onend = utterance.onerror = function () {
        if (speaking === button) {
          reset(button);
          speaking = null;
        }
      };
      speaking = button;
      button.lastChild.textContent = stopLabel;
      window.speechSynthesis.speak(utterance);
    });
    block.insertBefore(button, block.firstChild);  // floated at the block's end, beside its heading
  });
}());
