// Live segment count and cost under an SMS text: a <textarea data-sms-count="URL"
// data-sms-count-target="ID"> asks URL?text=... (the sms plugin's authenticated
// /admin/sms/count) as the text is typed and writes the answer's label into #ID.
// Where the textarea is another plugin's (the workflow step form), an element
// <p data-sms-count="URL" data-sms-count-for="TEXTAREA-ID"> is the target instead.
(function () {
  "use strict";
  function attach(element) {
    var area = element.dataset.smsCountFor ? document.getElementById(element.dataset.smsCountFor) : element;
    var target = element.dataset.smsCountFor ? element : document.getElementById(element.dataset.smsCountTarget);
    if (!area || !target) return;
    area.dataset.smsCount = element.dataset.smsCount;
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
  document.querySelectorAll("textarea[data-sms-count-target], [data-sms-count-for]").forEach(attach);
})();
