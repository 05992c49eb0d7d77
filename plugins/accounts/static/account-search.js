// The contact page's Account panel: typing in <input data-account-search="URL" list="ID"> fills the
// datalist ID with the accounts the search URL finds (?q=...), a short pause after the last key.
// Without this script the form still works: its search page lists the matching accounts.
(function () {
  var timer = null;
  document.addEventListener("input", function (event) {
    var input = event.target.closest && event.target.closest("input[data-account-search]");
    if (!input) return;
    clearTimeout(timer);
    var text = input.value.trim();
    if (text.length < 2) return;
    timer = setTimeout(function () {
      var url = input.getAttribute("data-account-search") + "?q=" + encodeURIComponent(text);
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {items: []}; })
        .then(function (found) {
          var list = document.getElementById(input.getAttribute("list"));
          if (!list) return;
          list.replaceChildren();
          found.items.forEach(function (account) {
            var option = document.createElement("option");
            option.value = account.name;
            option.textContent = account.domain ? account.name + " (" + account.domain + ")" : account.name;
            list.appendChild(option);
          });
        });
    }, 200);
  });
})();
