// Segment filter builder: progressive enhancement only. Without JavaScript the
// "Update" button redraws a condition after its subject changed; with it, the
// change redraws at once.
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-subject]")) {
    var refresh = document.getElementById("refresh");
    if (refresh) { refresh.click(); }
  }
});
