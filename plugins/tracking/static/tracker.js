/* Couvée tracking script. Served by core with the site's configuration
   (CFG) and the plugins' parts; see docs/tracking.md. Never throws into the
   host page: every entry point is wrapped. */
(function (w, d, CFG) {
  "use strict";
  var n = w.navigator, ls = null, YEAR13 = 395 * 864e5, KV = "cv_vid", KC = "cv_consent";
  var memory = [], ui = null, started = false, lastUrl = null, token = null, vid = null;
  try { ls = w.localStorage; } catch (e) { ls = null; }

  function warn(e) { try { w.console && console.warn("couvee:", e); } catch (x) { /* ignore */ } }
  function safe(f) {
    return function () { try { return f.apply(this, arguments); } catch (e) { warn(e); } };
  }
  function get(k) { try { return ls ? ls.getItem(k) : null; } catch (e) { return null; } }
  function put(k, v) { try { if (ls) { ls.setItem(k, v); } } catch (e) { /* full or blocked */ } }
  function drop(k) { try { if (ls) { ls.removeItem(k); } } catch (e) { /* blocked */ } }
  function rid(len) {
    var a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", s = "", i, b;
    b = new Uint8Array(len);
    (w.crypto || w.msCrypto).getRandomValues(b);
    for (i = 0; i < len; i++) { s += a.charAt(b[i] % 62); }
    return s;
  }

  /* --- consent ------------------------------------------------------- */
  function privacySignal() {
    return !!CFG.dnt && (n.doNotTrack === "1" || w.doNotTrack === "1" || n.globalPrivacyControl === true);
  }
  function decision() {
    var raw = get(KC), c = null;
    try { c = raw ? JSON.parse(raw) : null; } catch (e) { c = null; }
    if (c && (!c.at || Date.now() - c.at > YEAR13)) { drop(KC); drop(KV); c = null; }
    return c;
  }
  function allowed() {
    if (privacySignal()) { return false; }
    var c = decision();
    if (c) { return !!(c.p && c.p.analytics); }
    return !CFG.consent;
  }
  function purposes(p) {
    var o = {}, i;
    if (p === undefined || p === true) { o.analytics = true; }
    else if (p && p.length !== undefined) { for (i = 0; i < p.length; i++) { o[p[i]] = true; } }
    else if (p && typeof p === "object") { for (i in p) { if (p.hasOwnProperty(i)) { o[i] = !!p[i]; } } }
    return o;
  }
  function setConsent(p) {
    if (p === false || p === null) {
      drop(KV); vid = null; memory = [];
      if (!privacySignal()) { put(KC, JSON.stringify({ p: {}, at: Date.now() })); }
      return;
    }
    if (privacySignal()) { return; }
    put(KC, JSON.stringify({ p: purposes(p), at: Date.now() }));
    flush();
  }
  var api = {
    grant: safe(function (p) { setConsent(p === undefined ? true : p); }),
    deny: safe(function () { setConsent(false); }),
    current: safe(function () { var c = decision(); return c ? { purposes: c.p, at: c.at } : null; })
  };
  function askConsent() {
    if (ui && started && CFG.consent && !decision() && !privacySignal()) { ui(api); }
  }

  /* --- sending ------------------------------------------------------- */
  function visitor() {
    if (!allowed()) { return null; }
    vid = vid || get(KV);
    if (!vid || !/^[A-Za-z0-9_-]{8,64}$/.test(vid)) { vid = rid(22); }
    put(KV, vid);
    return vid;
  }
  function base(kind) {
    var s = w.screen || {}, tz = "";
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { tz = ""; }
    return { s: CFG.key, k: kind, h: rid(20), u: clean(w.location.href), t: (d.title || "").slice(0, 500),
      l: (n.language || "").slice(0, 35), sc: s.width ? s.width + "x" + s.height : "", tz: tz.slice(0, 64) };
  }
  function post(hit) {
    var body = JSON.stringify(hit), url = CFG.endpoint, ok = false;
    try { ok = n.sendBeacon && n.sendBeacon(url, new Blob([body], { type: "text/plain" })); } catch (e) { ok = false; }
    if (!ok && w.fetch) {
      w.fetch(url, { method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit",
        headers: { "Content-Type": "text/plain" } })["catch"](function () { /* offline */ });
    }
  }
  function send(hit) {
    if (privacySignal()) { return; }
    if (!allowed()) { if (CFG.consent && !decision() && memory.length < 20) { memory.push(hit); } return; }
    hit.v = visitor();
    if (token) { hit.ct = token; token = null; }
    post(hit);
  }
  function flush() {
    var pending = memory; memory = [];
    for (var i = 0; i < pending.length; i++) { send(pending[i]); }
  }

  /* --- page views ---------------------------------------------------- */
  function clean(href) { return String(href).replace(/([?&])cv_t=[^&#]*&?/, "$1").replace(/[?&](#|$)/, "$1"); }
  function pageview() {
    var hit = base("page"), here = hit.u;
    if (here === lastUrl) { return; }
    hit.r = lastUrl || (/^https?:/.test(d.referrer) ? d.referrer : "");
    hit.r = hit.r ? clean(hit.r).slice(0, 2000) : "";
    lastUrl = here;
    send(hit);
  }
  function takeToken() {
    var m = /[?&]cv_t=([^&#]+)/.exec(w.location.search);
    if (!m) { return; }
    token = decodeURIComponent(m[1]).slice(0, 1000);
    try { w.history.replaceState(w.history.state, "", clean(w.location.href)); } catch (e) { /* ignore */ }
  }
  function watchHistory() {
    var h = w.history, push = h && h.pushState;
    if (!push) { return; }
    h.pushState = function () {
      var r = push.apply(h, arguments);
      safe(pageview)();
      return r;
    };
    w.addEventListener("popstate", safe(pageview));
  }

  /* --- commands ------------------------------------------------------ */
  var commands = {
    init: function (key) {
      if (started || (key && key !== CFG.key)) { return; }
      started = true;
      takeToken();
      if (CFG.spa !== false) { watchHistory(); }
      pageview();
      askConsent();
    },
    track: function (name, props) {
      var hit = base("event");
      hit.n = String(name).slice(0, 100);
      hit.p = props && typeof props === "object" ? props : {};
      send(hit);
    },
    identify: function (who) {
      if (!who || !who.email) { return; }
      var hit = base("identify");
      hit.id = { email: String(who.email), hash: who.hash ? String(who.hash) : "",
        first_name: who.first_name ? String(who.first_name) : "", last_name: who.last_name ? String(who.last_name) : "" };
      send(hit);
    },
    consent: function (p) { setConsent(p); },
    visitor: function (cb) { if (typeof cb === "function") { cb(allowed() ? visitor() : null); } },
    page: function () { lastUrl = null; pageview(); }
  };
  function run(args) {
    var f = commands[args[0]];
    if (f) { f.apply(null, Array.prototype.slice.call(args, 1)); }
  }

  /* --- extension API for plugins' parts ------------------------------ */
  var tracker = {
    config: CFG,
    setConsentUI: safe(function (f) { ui = typeof f === "function" ? f : null; askConsent(); }),
    consent: api,
    visitor: safe(function () { return allowed() ? visitor() : null; }),
    track: safe(commands.track)
  };
  /*PARTS*/

  var queued = (w.couvee && w.couvee.q) || [];
  w.couvee = safe(function () { run(arguments); });
  w.couvee.loaded = true;
  for (var i = 0; i < queued.length; i++) { safe(run)(queued[i]); }
})(window, document, /*CONFIG*/);
