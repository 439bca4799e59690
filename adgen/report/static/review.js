// AdGen report: a reviewer's keep/reject choices on the photo pages (adgen/report/templates/item.html).
// Choices accumulate in this browser (localStorage) across pages until they are downloaded as the
// overrides file `adgen review apply FILE` reads, or saved straight into the project when the
// report is served by `adgen review serve`. No request leaves the machine; works from file://.
(function () {
  "use strict";
  var KEY = "adgen.review.v1";
  var BY = "adgen.review.by";
  var ID = /^[0-9a-f]{64}$/;

  function load() {
    try {
      var got = JSON.parse(window.localStorage.getItem(KEY) || "{}");
      return got && typeof got === "object" && !Array.isArray(got) ? got : {};
    } catch (e) {
      return {};
    }
  }
  function store(choices) {
    window.localStorage.setItem(KEY, JSON.stringify(choices));
  }
  function overridesFile(choices) {
    var by = window.localStorage.getItem(BY) || "";
    return {
      version: 1,
      overrides: Object.keys(choices).filter(function (id) { return ID.test(id); }).sort().map(function (id) {
        var c = choices[id], entry = { image_id: id, decision: c.decision, at: c.at };
        if (c.note) entry.note = c.note;
        if (by) entry.by = by;
        return entry;
      })
    };
  }
  function served() {
    return location.protocol === "http:" && (location.hostname === "127.0.0.1" || location.hostname === "localhost");
  }
  function el(id) { return document.getElementById(id); }

  var box = el("review");
  if (!box) return;
  var imageId = box.getAttribute("data-image-id");
  var shown = box.getAttribute("data-decision");   // the filter's decision on this page
  var rule = box.getAttribute("data-rule");        // what the rule alone decided
  var reviewed = box.getAttribute("data-reviewed") === "1";
  if (!ID.test(imageId)) return;
  try {
    window.localStorage.getItem(KEY);
  } catch (e) {  // storage switched off for file:// pages in this browser
    el("review-message").textContent = "this browser keeps no choices for pages opened from disk: use `adgen review serve`";
    return;
  }

  function current(choices) {
    var c = choices[imageId];
    if (!c) return shown;
    return c.decision === "rule" ? rule : c.decision;
  }
  function show(message) {
    var choices = load(), c = choices[imageId], n = Object.keys(choices).length;
    var now = current(choices);
    el("review-flip").textContent = now === "keep" ? "flip to reject" : "flip to keep";
    el("review-choice").textContent = c ? (c.decision === "rule" ? "back to the rule (" + rule + ")" : c.decision) + ", not applied yet" : "none";
    el("review-count").textContent = String(n);
    el("review-download").disabled = n === 0;
    el("review-save").disabled = n === 0;
    if (c && el("review-note").value === "" && c.note) el("review-note").value = c.note;
    if (message !== undefined) el("review-message").textContent = message;
  }
  function choose(decision) {
    var choices = load();
    if (decision === shown) {
      delete choices[imageId];               // back to what the page already says: nothing to change
    } else {
      choices[imageId] = { decision: decision, note: el("review-note").value.slice(0, 2000), at: new Date().toISOString() };
    }
    store(choices);
    show("");
  }

  el("review-flip").addEventListener("click", function () {
    choose(current(load()) === "keep" ? "reject" : "keep");
  });
  el("review-rule").addEventListener("click", function () {
    var choices = load();
    if (reviewed) {
      choices[imageId] = { decision: "rule", note: el("review-note").value.slice(0, 2000), at: new Date().toISOString() };
    } else {
      delete choices[imageId];
    }
    store(choices);
    show("");
  });
  el("review-note").addEventListener("change", function () {
    var choices = load();
    if (choices[imageId]) {
      choices[imageId].note = el("review-note").value.slice(0, 2000);
      store(choices);
    }
  });
  el("review-by").value = window.localStorage.getItem(BY) || "";
  el("review-by").addEventListener("change", function () {
    window.localStorage.setItem(BY, el("review-by").value.slice(0, 100));
  });
  el("review-download").addEventListener("click", function () {
    var blob = new Blob([JSON.stringify(overridesFile(load()), null, 1)], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "adgen-overrides.json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    show("downloaded adgen-overrides.json: run `adgen review apply adgen-overrides.json`, then `dvc repro`");
  });
  el("review-forget").addEventListener("click", function () {
    store({});
    show("forgot every choice in this browser");
  });
  if (served()) {
    el("review-save").hidden = false;
    el("review-save").addEventListener("click", function () {
      fetch("/api/overrides", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(overridesFile(load()))
      }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.error || r.statusText);
          store({});
          show(body.message);
        });
      }).catch(function (e) { show("not saved: " + e.message); });
    });
  }
  show();
})();
