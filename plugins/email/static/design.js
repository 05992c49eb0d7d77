/* The block editor of an MJML newsletter (email/design.html): GrapesJS with
   its MJML plugin, the image library as asset manager, the locked parts
   (view link, footer) shown but not editable, autosave of the draft.
   Settings come from the page's #design-settings JSON (builderviews.design). */
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("design-settings").textContent);
  var words = settings.words;
  var csrf = document.getElementById("design-csrf").value;
  var statusBox = document.getElementById("design-status");
  var errorBox = document.getElementById("design-error");
  var altOf = {};  // image address -> alt text, from the library
  var lockedClass = settings.locked;
  var lockedPattern = new RegExp("<mj-(section|raw)\\b[^>]*css-class=\"[^\"]*" + lockedClass +
                                 "[^\"]*\"[^>]*>[\\s\\S]*?</mj-\\1\\s*>", "g");
  var LOCK = {removable: false, draggable: false, droppable: false, copyable: false, selectable: false,
              hoverable: false, editable: false, highlightable: false, layerable: false, badgable: false,
              stylable: false};
  var OWN_BLOCKS = {
    "mj-1-column": ["section", "layout"], "mj-2-columns": ["twoColumns", "layout"],
    "mj-3-columns": ["threeColumns", "layout"], "mj-text": ["text", "content"], "mj-image": ["image", "content"],
    "mj-button": ["button", "content"], "mj-divider": ["divider", "content"],
    "mj-social-group": ["social", "content"], "mj-spacer": ["spacer", "content"]
  };
  var fr = window.couveeGrapesFr || {};
  var plugin = window["grapesjs-mjml"];
  if (plugin && plugin["default"]) { plugin = plugin["default"]; }

  function escapeHtml(text) {
    var node = document.createElement("span");
    node.textContent = String(text);
    return node.innerHTML;
  }

  function showStatus(text, isError) {
    statusBox.textContent = text;
    statusBox.classList.toggle("is-error", !!isError);
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function isLocked(component) {
    return ((component.getAttributes() || {})["css-class"] || "").indexOf(lockedClass) !== -1;
  }

  function body() {
    return editor.getWrapper().findType("mj-body")[0];
  }

  function lockParts() {
    body().components().forEach(function (component) {
      if (isLocked(component)) {
        component.set(LOCK);
        component.onAll(function (child) { child.set(LOCK); });
        component.addAttributes({title: words.locked});
      }
    });
  }

  function insertAt() {
    var list = body().components();
    var at = list.length;
    while (at > 0 && isLocked(list.at(at - 1))) { at -= 1; }
    return at;
  }

  /* A click on a block adds it: a layout after the last section (before the
     footer), a content block in the selected column or in a new section. */
  function appendOnClick(block) {
    var content = block.get("content");
    var source = typeof content === "string" ? content : "";
    var column = editor.getSelected();
    while (column && column.get("type") !== "mj-column") { column = column.parent(); }
    var added;
    if (/^\s*<mj-(section|wrapper|hero)\b/i.test(source)) {
      added = body().append(source, {at: insertAt()})[0];
    } else if (column && !isLocked(column.parent() || column)) {
      added = column.append(content)[0];
    } else {
      var section = body().append("<mj-section><mj-column>" + source + "</mj-column></mj-section>",
                                  {at: insertAt()})[0];
      added = section.findType("mj-column")[0].components().last();
    }
    if (added) { editor.select(added); }
  }

  function stripLocked(mjml) {
    return mjml.replace(lockedPattern, "");
  }

  function images() {
    return body() ? body().findType("mj-image") : [];
  }

  function fillAlts() {
    images().forEach(function (image) {
      var attributes = image.getAttributes();
      if (!attributes.alt && altOf[attributes.src]) { image.addAttributes({alt: altOf[attributes.src]}); }
    });
  }

  function missingAlt() {
    return images().some(function (image) { return !String(image.getAttributes().alt || "").trim(); });
  }

  function currentMjml() {
    fillAlts();
    return stripLocked(editor.getHtml());
  }

  var editor = grapesjs.init({
    container: "#design-editor",
    height: "100%",
    fromElement: false,
    storageManager: false,
    telemetry: false,  // GrapesJS would report usage to its vendor: nothing leaves this site
    cssIcons: settings.icons,  // the vendored icon font, not its default CDN copy
    components: settings.source,
    plugins: [plugin],
    pluginsOpts: {"grapesjs-mjml": {
      blocks: Object.keys(OWN_BLOCKS), i18n: {fr: fr},
      useXmlParser: true,  // self-closing tags (<mj-all />) kept as MJML writes them
      imagePlaceholderSrc: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="200"><rect width="600" height="200" fill="#e5e7eb"/></svg>')
    }},
    i18n: {locale: settings.lang, detectLocale: false, localeFallback: "en", messagesAdd: {fr: fr}},
    blockManager: {appendOnClick: appendOnClick},
    assetManager: {assets: [], upload: settings.upload, uploadName: "file", autoAdd: false,
                   uploadText: words.upload, addBtnText: words.addImage, modalTitle: words.assetsTitle,
                   uploadFile: uploadFile}
  });

  function uploadFile(event) {
    var files = event.dataTransfer ? event.dataTransfer.files : event.target.files;
    Array.prototype.forEach.call(files || [], function (file) {
      var alt = window.prompt(words.alt + "\n" + file.name, "");
      if (alt === null) { return; }
      var form = new FormData();
      form.append("csrf_token", csrf);
      form.append("file", file);
      form.append("alt", alt);
      fetch(settings.upload, {method: "POST", body: form, credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (!answer.ok) { showError(answer.error); return; }
          showError("");
          answer.data.forEach(function (asset) { altOf[asset.src] = asset.alt; });
          editor.AssetManager.add(answer.data);
        })
        .catch(function () { showError(words.offline); });
    });
  }

  var lastSaved = null, refused = null, saving = false;

  function save(leaving) {
    if (saving || lastSaved === null) { return; }
    var mjml = currentMjml();
    if (mjml === lastSaved || mjml === refused) { return; }
    var form = new FormData();
    form.append("csrf_token", csrf);
    form.append("mjml", mjml);
    saving = true;
    showStatus(words.saving);
    fetch(settings.save, {method: "POST", body: form, credentials: "same-origin", keepalive: !!leaving,
                          headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.ok) {
          lastSaved = mjml;
          showStatus(answer.message);
          showError(missingAlt() ? words.altMissing : "");
        } else {
          refused = mjml;
          showStatus(words.unsaved, true);
          showError(words.failed.replace("%(error)s", answer.error));
        }
      })
      .catch(function () { showStatus(words.unsaved, true); showError(words.offline); })
      .then(function () { saving = false; });
  }

  editor.onReady(function () {
    lockParts();
    Object.keys(OWN_BLOCKS).forEach(function (id) {
      var block = editor.Blocks.get(id);
      if (block) { block.set({label: escapeHtml(words[OWN_BLOCKS[id][0]]), category: words[OWN_BLOCKS[id][1]]}); }
    });
    settings.blocks.forEach(function (block) {
      editor.Blocks.add(block.id, {label: escapeHtml(block.label), category: block.category, content: block.content});
    });
    editor.Blocks.render();
    var blocksButton = editor.Panels.getButton("views", "open-blocks");
    if (blocksButton) { blocksButton.set("active", true); }  // the blocks first, not the style manager
    fetch(settings.assets, {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        answer.images.forEach(function (asset) { altOf[asset.src] = asset.alt; });
        editor.AssetManager.add(answer.images);
      });
    lastSaved = currentMjml();
    window.setInterval(save, settings.every * 1000);
    window.couveeDesign = {editor: editor, save: save, mjml: currentMjml};
  });
  editor.on("component:add", function (component) {
    if (component.get("type") === "mj-image") { window.setTimeout(fillAlts, 0); }
  });
  editor.on("component:update", fillAlts);
  window.addEventListener("pagehide", function () { save(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { save(true); }
  });

  var dialog = document.getElementById("design-code-dialog");
  document.getElementById("design-code").addEventListener("click", function () {
    document.getElementById("design-code-text").value = currentMjml();
    dialog.showModal();
  });
}());
