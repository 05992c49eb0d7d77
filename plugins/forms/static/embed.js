/* Couvée forms embed: draws the CURRENT version of a form in any page.
 *
 *   <div data-couvee-form="FORM_KEY"></div>
 *   <script src="https://couvee.example.com/f/embed.js" async></script>
 *
 * The definition is fetched as JSON at each page view, so editing the form
 * never requires re-copying the snippet. Every text is put in the page with
 * textContent (never as HTML). Submissions are posted with fetch (FormData,
 * so file uploads work); server validation errors are shown next to the
 * fields. When the Couvée tracking script is on the page, the visitor id it
 * knows is sent along so past visits are attached to the contact.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script && script.src ? new URL(script.src, location.href).origin : "";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === true) node.setAttribute(name, "");
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, String(value));
    });
    if (text) node.textContent = text;
    return node;
  }

  function visitorId(callback) {
    var answered = false;
    function answer(id) { if (!answered) { answered = true; callback(id ? String(id) : ""); } }
    if (typeof window.couvee !== "function") return answer("");
    try { window.couvee("visitor", answer); } catch (e) { return answer(""); }
    setTimeout(function () { answer(""); }, 1500);
  }

  function hiddenValue(field) {
    if (field.source === "query") return new URLSearchParams(location.search).get(field["default"]) || "";
    if (field.source === "page_url") return location.href;
    if (field.source === "referrer") return document.referrer || "";
    return field["default"] || "";
  }

  function drawField(form, def, field) {
    var id = "cv-" + def.key + "-" + field.name;
    if (field.hidden) {
      form.appendChild(el("input", {type: "hidden", name: field.name, value: hiddenValue(field)}));
      return;
    }
    var box = el("div", {"class": "cv-field cv-" + field.widget, "data-name": field.name});
    var star = field.required ? " *" : "";
    if (field.widget === "boolean") {
      var label = el("label");
      label.appendChild(el("input", {type: "checkbox", id: id, name: field.name, value: "1"}));
      label.appendChild(document.createTextNode(" " + field.label + star));
      box.appendChild(label);
      box.appendChild(el("input", {type: "hidden", name: field.name, value: "0"}));
    } else if (field.widget === "multiselect") {
      var set = el("fieldset");
      set.appendChild(el("legend", {}, field.label + star));
      set.appendChild(el("input", {type: "hidden", name: field.name, value: ""}));
      field.options.forEach(function (option) {
        var choice = el("label");
        choice.appendChild(el("input", {type: "checkbox", name: field.name, value: option}));
        choice.appendChild(document.createTextNode(" " + option));
        set.appendChild(choice);
      });
      box.appendChild(set);
    } else {
      box.appendChild(el("label", {"for": id}, field.label + star));
      var input;
      if (field.widget === "select") {
        input = el("select", {id: id, name: field.name});
        input.appendChild(el("option", {value: ""}));
        field.options.forEach(function (option) {
          var item = el("option", {value: option}, option);
          if (option === field["default"]) item.selected = true;
          input.appendChild(item);
        });
      } else if (field.widget === "file") {
        input = el("input", {type: "file", id: id, name: field.name, accept: field.accept || null});
      } else {
        var type = field.widget === "email" ? "email" : (field.widget === "date" ? "date" : "text");
        input = el("input", {type: type, id: id, name: field.name, value: field["default"] || ""});
      }
      box.appendChild(input);
    }
    if (field.help) box.appendChild(el("small", {"class": "cv-help"}, field.help));
    box.appendChild(el("p", {"class": "cv-error", role: "alert", hidden: true}));
    form.appendChild(box);
  }

  function drawConsent(form, consent) {
    var box = el("div", {"class": "cv-field cv-consent", "data-name": consent.name});
    var label = el("label");
    label.appendChild(el("input", {type: "checkbox", name: consent.name, value: consent.version}));
    label.appendChild(document.createTextNode(" " + consent.text));
    box.appendChild(label);
    box.appendChild(el("p", {"class": "cv-error", role: "alert", hidden: true}));
    form.appendChild(box);
  }

  function showErrors(form, errors) {
    Array.prototype.forEach.call(form.querySelectorAll(".cv-error"), function (node) {
      node.textContent = ""; node.hidden = true;
    });
    Array.prototype.forEach.call(form.querySelectorAll(".cv-invalid"), function (node) {
      node.classList.remove("cv-invalid");
    });
    Object.keys(errors || {}).forEach(function (name) {
      var target = name === "_form" ? form.querySelector(".cv-form-error")
        : form.querySelector('.cv-field[data-name="' + name.replace(/"/g, "") + '"] .cv-error');
      if (!target) target = form.querySelector(".cv-form-error");
      target.textContent = errors[name];
      target.hidden = false;
      if (target.parentNode.classList) target.parentNode.classList.add("cv-invalid");
    });
  }

  function tooLarge(form, def) {
    var errors = {};
    def.fields.forEach(function (field) {
      if (field.widget !== "file" || !field.max_bytes) return;
      var input = form.querySelector('input[type=file][name="' + field.name + '"]');
      if (input && input.files[0] && input.files[0].size > field.max_bytes) {
        errors[field.name] = input.files[0].name + ": > " + Math.round(field.max_bytes / 1048576 * 10) / 10 + " MB";
      }
    });
    return Object.keys(errors).length ? errors : null;
  }

  function render(container, def) {
    var form = el("form", {"class": "cv-form", novalidate: true, "data-version": def.version});
    form.appendChild(el("p", {"class": "cv-error cv-form-error", role: "alert", hidden: true}));
    form.appendChild(el("input", {type: "hidden", name: "cv_token", value: def.token}));
    form.appendChild(el("input", {type: "hidden", name: "cv_channel", value: "js"}));
    var trap = el("div", {"class": "cv-hp", "aria-hidden": "true",
      style: "position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden"});
    var trapLabel = el("label", {}, def.honeypot_label + " ");
    trapLabel.appendChild(el("input", {type: "text", name: def.honeypot, tabindex: "-1", autocomplete: "off"}));
    trap.appendChild(trapLabel);
    form.appendChild(trap);
    def.fields.forEach(function (field) { drawField(form, def, field); });
    def.consents.forEach(function (consent) { drawConsent(form, consent); });
    var button = el("button", {type: "submit", "class": "cv-submit"}, def.submit_label);
    form.appendChild(button);
    if (def.purpose_text) form.appendChild(el("p", {"class": "cv-purpose", style: "white-space:pre-line"}, def.purpose_text));

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var local = tooLarge(form, def);
      if (local) { showErrors(form, local); return; }
      button.disabled = true;
      visitorId(function (visitor) {
        var data = new FormData(form);
        data.set("cv_page_url", location.href);
        if (visitor) data.set("cv_visitor", visitor);
        fetch(def.submit_url, {method: "POST", body: data, credentials: "omit", headers: {Accept: "application/json"}})
          .then(function (response) { return response.json(); })
          .then(function (answer) {
            button.disabled = false;
            if (answer.ok) {
              if (answer.redirect) { location.href = answer.redirect; return; }
              var done = el("p", {"class": "cv-success", role: "status"}, answer.message);
              container.replaceChild(done, form);
              return;
            }
            if (answer.token) form.querySelector('input[name="cv_token"]').value = answer.token;
            showErrors(form, answer.errors);
          })
          .catch(function () {
            button.disabled = false;
            showErrors(form, {_form: def.strings.fix_errors});
          });
      });
    });
    container.textContent = "";
    container.appendChild(form);
  }

  function mount(container) {
    if (container.getAttribute("data-couvee-mounted")) return;
    container.setAttribute("data-couvee-mounted", "1");
    var key = container.getAttribute("data-couvee-form");
    fetch(base + "/f/" + encodeURIComponent(key) + "/form.json", {credentials: "omit"})
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (def) { render(container, def); })
      .catch(function (error) {
        if (window.console) console.warn("Couvée form " + key + " could not be loaded:", error);
      });
  }

  function mountAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-couvee-form]"), mount);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
