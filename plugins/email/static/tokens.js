// The newsletter form's insert-token menu: <div data-token-menu hidden> holds a <select data-token-select>
// and buttons <button data-insert-into="subject|content">; the chosen token is inserted at the cursor
// (or replaces the selection) of that field of the same form. Without JavaScript the menu stays hidden.
(function () {
  function insert(field, text) {
    var start = field.selectionStart, end = field.selectionEnd;
    if (typeof start !== "number") { start = end = field.value.length; }
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }
  document.querySelectorAll("[data-token-menu]").forEach(function (menu) {
    menu.hidden = false;
    var form = menu.closest("form"), select = menu.querySelector("[data-token-select]");
    menu.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-insert-into]");
      if (!button || !form || !select.value) return;
      var field = form.elements[button.getAttribute("data-insert-into")];
      if (field) insert(field, select.value);
    });
  });
})();
