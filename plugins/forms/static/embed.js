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
 *
 * Look: the default stylesheet (/f/form.css, replaceable by a theme) is added
 * once to the page; all its rules are scoped under cv- classes, so nothing
 * else on the page changes. data-couvee-style="none" on the div leaves it out.
 * Each input names its help text and error message with aria-describedby.
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

  function addStylesheet(container) {
    if (container.getAttribute("data-couvee-style") === "none") return;
    if (document.querySelector("link[data-couvee-style]")) return;
    var link = el("link", {rel: "stylesheet", href: base + "/f/form.css", "data-couvee-style": "1"});
    (document.head || document.documentElement).appendChild(link);
  }

  function requiredMark() {
    return el("span", {"class": "cv-required", "aria-hidden": "true"}, "*");
  }

  function labelled(tag, attrs, text, required) {
    var node = el(tag, attrs, text);
    if (required) { node.appendChild(document.createTextNode(" ")); node.appendChild(requiredMark()); }
    return node;
  }

  function choice(type, name, value, text, required) {
    var label = el("label", {"class": "cv-choice"});
    label.appendChild(el("input", {type: type, name: name, value: value, required: !!required}));
    label.appendChild(document.createTextNode(" "));
    label.appendChild(labelled("span", {}, text, false));
    return label;
  }

  /* aria-describedby of the field's inputs: its help text, and its error when shown. */
  function describe(box) {
    var ids = [];
    var help = box.querySelector(".cv-help");
    var error = box.querySelector(".cv-error");
    if (help) ids.push(help.id);
    if (error && !error.hidden) ids.push(error.id);
    var targets = box.querySelectorAll("fieldset, input:not([type=hidden]), select, textarea");
    Array.prototype.forEach.call(targets, function (node) {
      if (node.tagName === "INPUT" && node.closest("fieldset")) return;
      if (ids.length) node.setAttribute("aria-describedby", ids.join(" "));
      else node.removeAttribute("aria-describedby");
      if (error && !error.hidden) node.setAttribute("aria-invalid", "true");
      else node.removeAttribute("aria-invalid");
    });
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
    if (field.widget === "boolean") {
      var label = el("label", {"class": "cv-choice"});
      label.appendChild(el("input", {type: "checkbox", id: id, name: field.name, value: "1"}));
      label.appendChild(document.createTextNode(" "));
      label.appendChild(labelled("span", {}, field.label, field.required));
      box.appendChild(label);
      box.appendChild(el("input", {type: "hidden", name: field.name, value: "0"}));
    } else if (field.widget === "yes_no" || field.widget === "multiselect") {
      var set = el("fieldset", {id: id});
      set.appendChild(labelled("legend", {}, field.label, field.required));
      var choices = el("div", {"class": field.widget === "yes_no" ? "cv-choices cv-inline" : "cv-choices"});
      if (field.widget === "yes_no") {
        choices.appendChild(choice("radio", field.name, "1", def.strings.yes, true));
        choices.appendChild(choice("radio", field.name, "0", def.strings.no, true));
      } else {
        set.appendChild(el("input", {type: "hidden", name: field.name, value: ""}));
        field.options.forEach(function (option) {
          choices.appendChild(choice("checkbox", field.name, option, option, false));
        });
      }
      set.appendChild(choices);
      box.appendChild(set);
    } else {
      box.appendChild(labelled("label", {"for": id}, field.label, field.required));
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
        input = el("input", {type: type, id: id, name: field.name, value: field["default"] || "",
                             placeholder: field.placeholder || null});
      }
      box.appendChild(input);
    }
    if (field.help) box.appendChild(el("small", {"class": "cv-help", id: id + "-help"}, field.help));
    box.appendChild(el("p", {"class": "cv-error", id: id + "-error", role: "alert", hidden: true}));
    form.appendChild(box);
    describe(box);
  }

  function drawConsent(form, def, consent) {
    var id = "cv-" + def.key + "-" + consent.name;
    var box = el("div", {"class": "cv-field cv-consent", "data-name": consent.name});
    var label = el("label", {"class": "cv-choice"});
    label.appendChild(el("input", {type: "checkbox", id: id, name: consent.name, value: consent.version}));
    label.appendChild(document.createTextNode(" "));
    label.appendChild(labelled("span", {}, consent.text, consent.required));
    box.appendChild(label);
    box.appendChild(el("p", {"class": "cv-error", id: id + "-error", role: "alert", hidden: true}));
    form.appendChild(box);
    describe(box);
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
    Array.prototype.forEach.call(form.querySelectorAll(".cv-field"), describe);
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
    var form = el("form", {"class": "cv-form", novalidate: true, "data-version": def.version,
      "aria-describedby": "cv-" + def.key + "-form-error"});
    form.appendChild(el("p", {"class": "cv-error cv-form-error", id: "cv-" + def.key + "-form-error", role: "alert",
      hidden: true}));
    form.appendChild(el("input", {type: "hidden", name: "cv_token", value: def.token}));
    form.appendChild(el("input", {type: "hidden", name: "cv_channel", value: "js"}));
    var trap = el("div", {"class": "cv-hp", "aria-hidden": "true",
      style: "position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden"});
    var trapLabel = el("label", {}, def.honeypot_label + " ");
    trapLabel.appendChild(el("input", {type: "text", name: def.honeypot, tabindex: "-1", autocomplete: "off"}));
    trap.appendChild(trapLabel);
    form.appendChild(trap);
    def.fields.forEach(function (field) { drawField(form, def, field); });
    def.consents.forEach(function (consent) { drawConsent(form, def, consent); });
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
    addStylesheet(container);
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
