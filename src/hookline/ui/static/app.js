/* Hookline dashboard: live fragments, copy buttons. No dependencies, nothing from outside. */
(function () {
  "use strict";

  function loginAgain() {
    var next = window.location.pathname + window.location.search;
    window.location.href = "/ui/login?next=" + encodeURIComponent(next);
  }

  function ids(el) {
    var seen = {};
    el.querySelectorAll("[data-id]").forEach(function (row) { seen[row.getAttribute("data-id")] = true; });
    return seen;
  }

  /* Replace an element's content with its `data-poll-url` fragment every few seconds while
     the page is visible; stop once the fragment says it is final (`data-final`). */
  function poll(el) {
    var url = el.getAttribute("data-poll-url");
    var every = parseInt(el.getAttribute("data-poll-every") || "3000", 10);
    var busy = false;
    var last = null;
    var timer = window.setInterval(function () {
      if (document.hidden || busy) { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (response.status === 401) { loginAgain(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null || html === last) { return; }  /* unchanged: keep focus, open details */
          last = html;
          var before = ids(el);
          el.innerHTML = html;
          el.querySelectorAll("[data-id]").forEach(function (row) {
            if (!before[row.getAttribute("data-id")]) { row.classList.add("fresh"); }
          });
          if (el.querySelector("[data-final]")) { window.clearInterval(timer); }
        })
        .catch(function () { /* offline for a moment: try again next tick */ })
        .then(function () { busy = false; });
    }, every);
  }

  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) { return; }
    input.select();
    var done = function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  }

  document.querySelectorAll("[data-poll-url]").forEach(poll);
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () { copy(button); });
  });
})();
