/* Staff idle sessions: warn before the server signs the person out, and never lose
 * what they typed when it has.
 *
 * The server (staff.middleware) ends a staff session after data-idle-seconds without a
 * request. Five minutes before that this shows a dialog with "Stay signed in", which
 * asks /admin/keepalive (204 while the session lives). Other tabs share the clock
 * through localStorage, so a tab someone works in keeps the quiet ones alive too.
 * After the deadline a form is not sent into a sign-in page: the submit is stopped, the
 * session checked; when it has ended the page says so, links to sign in in a new tab,
 * and leaves every typed value where it is. Signing in there renews the CSRF token,
 * which keepalive hands back for this page's forms before they are sent again.
 */
(function () {
  "use strict";

  var script = document.getElementById("yuyue-session");
  if (!script || !window.fetch) {
    return;
  }
  var data = script.dataset;
  var idleMs = parseInt(data.idleSeconds, 10) * 1000;
  var warnMs = parseInt(data.warnSeconds || "300", 10) * 1000;
  if (!idleMs) {
    return;
  }
  var STORAGE_KEY = "yuyue-staff-last-seen";
  // A little before the server's own limit, so the check never races it.
  var MARGIN_MS = 15000;
  var lastSeen = Date.now();
  var box = null;
  var timer = null;
  var resubmitting = false;

  function sharedLastSeen() {
    try {
      var stored = parseInt(window.localStorage.getItem(STORAGE_KEY), 10);
      return stored && stored > lastSeen ? stored : lastSeen;
    } catch (e) {
      return lastSeen;
    }
  }

  function touch(when) {
    lastSeen = when;
    try {
      window.localStorage.setItem(STORAGE_KEY, String(when));
    } catch (e) {
      /* private mode: this tab's own clock */
    }
    schedule();
  }

  function deadline() {
    return sharedLastSeen() + idleMs - MARGIN_MS;
  }

  function schedule() {
    window.clearTimeout(timer);
    var now = Date.now();
    var warnAt = deadline() - warnMs;
    if (now < warnAt) {
      hide();
      timer = window.setTimeout(schedule, Math.min(warnAt - now, 60000));
    } else if (now < deadline()) {
      showWarning();
      timer = window.setTimeout(schedule, Math.min(deadline() - now, 30000));
    } else {
      // Maybe another tab kept it alive: ask only when the person acts (submit or the button).
      showWarning();
    }
  }

  function hide() {
    if (box) {
      box.remove();
      box = null;
    }
  }

  function makeBox(expired) {
    hide();
    box = document.createElement("div");
    box.className = "yuyue-session" + (expired ? " yuyue-session--expired" : "");
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-live", "assertive");
    box.setAttribute("aria-labelledby", "yuyue-session-text");
    var text = document.createElement("p");
    text.id = "yuyue-session-text";
    text.textContent = expired ? data.textExpired : data.textWarning;
    box.appendChild(text);
    var actions = document.createElement("div");
    actions.className = "yuyue-session__actions";
    box.appendChild(actions);
    document.body.appendChild(box);
    return actions;
  }

  function showWarning() {
    if (box && box.dataset.kind === "warning") {
      return;
    }
    var actions = makeBox(false);
    box.dataset.kind = "warning";
    var stay = document.createElement("button");
    stay.type = "button";
    stay.className = "button default";
    stay.textContent = data.textStay;
    stay.addEventListener("click", function () {
      check().then(function (alive) {
        if (!alive) {
          showExpired();
        }
      });
    });
    actions.appendChild(stay);
    stay.focus();
  }

  function showExpired() {
    window.clearTimeout(timer);
    var actions = makeBox(true);
    box.dataset.kind = "expired";
    var link = document.createElement("a");
    link.className = "button default";
    link.href = data.loginUrl;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = data.textSignIn;
    actions.appendChild(link);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "button";
    close.textContent = data.textClose;
    close.addEventListener("click", hide);
    actions.appendChild(close);
    link.focus();
  }

  function renewCsrf(token) {
    if (!token) {
      return;
    }
    var fields = document.querySelectorAll('input[name="csrfmiddlewaretoken"]');
    for (var i = 0; i < fields.length; i++) {
      fields[i].value = token;
    }
  }

  // True when the session lives (and now for another idle period).
  function check() {
    return window
      .fetch(data.keepaliveUrl, {
        credentials: "same-origin",
        redirect: "manual",
        cache: "no-store",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      })
      .then(function (response) {
        if (response.status === 204) {
          renewCsrf(response.headers.get("X-CSRFToken"));
          touch(Date.now());
          return true;
        }
        return false;
      })
      .catch(function () {
        return false;
      });
  }

  document.addEventListener(
    "submit",
    function (event) {
      if (resubmitting || Date.now() < deadline()) {
        return; // fresh enough: the form goes as usual
      }
      var form = event.target;
      var submitter = event.submitter || null;
      event.preventDefault();
      check().then(function (alive) {
        if (!alive) {
          showExpired();
          return;
        }
        hide();
        resubmitting = true;
        try {
          if (form.requestSubmit) {
            form.requestSubmit(submitter);
          } else {
            form.submit();
          }
        } finally {
          resubmitting = false;
        }
      });
    },
    true
  );

  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY) {
      schedule();
    }
  });

  touch(Date.now());
})();
