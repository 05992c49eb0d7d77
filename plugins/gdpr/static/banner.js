/* Couvée GDPR cookie banner: a tracking script part (runs inside the tracker's
   closure, `tracker` in scope). It only draws the choice and hands it to core
   through api.grant(purposes) / api.deny(); core stores the decision (at most
   13 months) and sends nothing before it. The banner itself stores nothing.
   No dependencies; every text goes through textContent; never throws. */
(function () {
  "use strict";
  var ID = "cv-consent";
  function pickLang(cfg) {
    if (cfg.lang === "fr" || cfg.lang === "en") return cfg.lang;
    var nav = ((navigator.languages && navigator.languages[0]) || navigator.language || "en").toLowerCase();
    var page = (document.documentElement.getAttribute("lang") || "").toLowerCase();
    return (page || nav).indexOf("fr") === 0 ? "fr" : "en";
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs) if (Object.prototype.hasOwnProperty.call(attrs, key)) node.setAttribute(key, attrs[key]);
    if (text) node.textContent = text;
    return node;
  }
  function style() {
    if (document.getElementById(ID + "-style")) return;
    var css = "#" + ID + "{position:fixed;left:0;right:0;bottom:0;z-index:2147483000;background:#fff;color:#1d2327;" +
      "border-top:3px solid #17322b;box-shadow:0 -4px 18px rgba(0,0,0,.18);padding:1rem 1.25rem;font:15px/1.45 system-ui,sans-serif}" +
      "#" + ID + " h2{font-size:1.05rem;margin:0 0 .4rem}#" + ID + " p{margin:.3rem 0 .7rem;max-width:70rem}" +
      "#" + ID + " .cv-row{display:flex;flex-wrap:wrap;gap:.5rem}" +
      "#" + ID + " button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:2px solid #17322b;background:#17322b;color:#fff;cursor:pointer}" +
      "#" + ID + " button.cv-link{background:#fff;color:#17322b}" +
      "#" + ID + " button:focus-visible,#" + ID + " input:focus-visible{outline:3px solid #f0b429;outline-offset:2px}" +
      "#" + ID + " fieldset{border:1px solid #ccd3d9;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}" +
      "#" + ID + " label{display:block;margin:.25rem 0}#" + ID + " a{color:#17322b}";
    var node = el("style", {id: ID + "-style"});
    node.textContent = css;
    (document.head || document.documentElement).appendChild(node);
  }
  function show(api, cfg) {
    if (document.getElementById(ID)) return;
    var lang = pickLang(cfg), t = (cfg.texts && cfg.texts[lang]) || {};
    var purposes = cfg.purposes || [];
    style();
    var box = el("div", {id: ID, role: "dialog", "aria-modal": "false", "aria-labelledby": ID + "-title",
      "aria-describedby": ID + "-text", lang: lang});
    box.appendChild(el("h2", {id: ID + "-title"}, t.title));
    box.appendChild(el("p", {id: ID + "-text"}, t.message));
    var details = el("div", {id: ID + "-details", hidden: "hidden"});
    details.appendChild(el("p", {}, t.more));
    var set = el("fieldset", {});
    set.appendChild(el("legend", {}, t.purposes_legend));
    var boxes = [];
    for (var i = 0; i < purposes.length; i++) {
      var label = el("label", {}), input = el("input", {type: "checkbox", name: "cv-purpose", value: purposes[i].id});
      boxes.push(input);  // never pre-ticked: consent is a positive act
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + ((purposes[i].label || {})[lang] || purposes[i].id)));
      set.appendChild(label);
    }
    details.appendChild(set);
    if (cfg.privacy_url && /^https?:\/\//i.test(cfg.privacy_url)) {
      var more = el("a", {href: cfg.privacy_url, target: "_blank", rel: "noopener"}, t.privacy);
      details.appendChild(el("p", {})).appendChild(more);
    }
    box.appendChild(details);
    var row = el("div", {"class": "cv-row"});
    var accept = el("button", {type: "button", "data-cv": "accept"}, t.accept);
    var refuse = el("button", {type: "button", "data-cv": "refuse"}, t.refuse);
    var custom = el("button", {type: "button", "class": "cv-link", "data-cv": "customise",
      "aria-expanded": "false", "aria-controls": ID + "-details"}, t.customise);
    var save = el("button", {type: "button", "data-cv": "save", hidden: "hidden"}, t.save);
    row.appendChild(accept); row.appendChild(refuse); row.appendChild(custom); row.appendChild(save);
    box.appendChild(row);
    function done(action) {
      try { action(); } catch (e) { if (window.console) console.error("couvee consent:", e); }
      if (box.parentNode) box.parentNode.removeChild(box);
    }
    accept.onclick = function () {
      var all = []; for (var j = 0; j < purposes.length; j++) all.push(purposes[j].id);
      done(function () { api.grant(all); });
    };
    refuse.onclick = function () { done(function () { api.deny(); }); };
    custom.onclick = function () {
      details.removeAttribute("hidden"); save.removeAttribute("hidden");
      custom.setAttribute("aria-expanded", "true");
      if (boxes[0]) boxes[0].focus();
    };
    save.onclick = function () {
      var chosen = []; for (var j = 0; j < boxes.length; j++) if (boxes[j].checked) chosen.push(boxes[j].value);
      done(function () { if (chosen.length) api.grant(chosen); else api.deny(); });
    };
    (document.body || document.documentElement).appendChild(box);
  }
  try {
    var cfg = tracker && tracker.config && tracker.config.ext && tracker.config.ext.gdpr_banner;
    if (cfg && typeof tracker.setConsentUI === "function") {
      tracker.setConsentUI(function (api) {
        try {
          if (document.body) show(api, cfg);
          else document.addEventListener("DOMContentLoaded", function () {
            try { show(api, cfg); } catch (e) { if (window.console) console.error("couvee banner:", e); }
          });
        } catch (e) { if (window.console) console.error("couvee banner:", e); }
      });
    }
  } catch (e) { if (window.console) console.error("couvee banner:", e); }
})();
