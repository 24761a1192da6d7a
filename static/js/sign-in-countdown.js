/*
 * Sign-in code page: counts down the seconds until a new code may be asked for, and
 * enables the "send a new code" button at zero. Only a nicety: without JavaScript the
 * page says the seconds left and the button is enabled on the next load.
 * The number changes silently; only "you can ask now" is announced (role="status").
 */
(function () {
  "use strict";
  var wait = document.getElementById("resend-wait");
  var button = document.getElementById("resend-button");
  var ready = document.getElementById("resend-ready");
  if (!wait || !button || !ready) {
    return;
  }
  var seconds = parseInt(wait.getAttribute("data-wait-seconds"), 10);
  var text = wait.querySelector("[data-template]");
  if (!(seconds > 0) || !text) {
    return;
  }
  var template = text.getAttribute("data-template");
  var end = Date.now() + seconds * 1000;
  var timer = window.setInterval(function () {
    var left = Math.ceil((end - Date.now()) / 1000);
    if (left > 0) {
      text.textContent = template.replace("{n}", String(left));
      return;
    }
    window.clearInterval(timer);
    wait.hidden = true;
    button.disabled = false;
    button.removeAttribute("aria-describedby");
    ready.textContent = ready.getAttribute("data-text");
  }, 1000);
})();
