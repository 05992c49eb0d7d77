// Live segment count and cost under an SMS text: a <textarea data-sms-count="URL"
// data-sms-count-target="ID"> asks URL?text=... (the sms plugin's authenticated
// /admin/sms/count) as the text is typed and writes the answer's label into #ID.
(function () {
  "use strict";
  function attach(area) {
    var target = document.getElementById(area.dataset.smsCountTarget);
    if (!target) return;
    var timer = null, asked = 0;
    function ask() {
      var mine = ++asked;
      fetch(area.dataset.smsCount + "?text=" + encodeURIComponent(area.value), {credentials: "same-origin",
        headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (mine !== asked) return;  // a later keystroke's answer wins
          target.textContent = answer.error || answer.label;
          target.classList.toggle("error", Boolean(answer.error));
        })
        .catch(function () { if (mine === asked) target.textContent = ""; });
    }
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 250); });
    ask();
  }
  document.querySelectorAll("textarea[data-sms-count]").forEach(attach);
})();
