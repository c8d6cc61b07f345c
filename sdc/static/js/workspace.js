// Workspace and traffic pages: progressive enhancement only (every action is also a form).
// CSP: no inline script or style; behaviour attaches here by ids, classes and data attributes.
(function () {
  "use strict";

  // After each save the server sends the new revision (HX-Trigger "sdc:revision"); every form
  // on the page carries it so the next save is not mistaken for a stale one.
  document.body.addEventListener("sdc:revision", function (evt) {
    var rev = evt.detail && evt.detail.revision;
    if (!rev) return;
    document.querySelectorAll("input[data-revision]").forEach(function (input) {
      input.value = String(rev);
    });
  });

  // 409 (changed elsewhere) and 422 (invalid input) carry fragments meant to be shown.
  document.body.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 409 || status === 422) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // Autosave forms save on input (debounced) and again on change (when the field loses focus).
  // Skip a save whose fields are exactly what the form last saved: it would change nothing,
  // and after an edit in another tab it would even come back as a bogus conflict.
  var lastSaved = new WeakMap();
  function fieldsKey(formData) {
    var out = [];
    formData.forEach(function (value, name) {
      if (name !== "revision" && name !== "csrf_token") out.push([name, String(value)]);
    });
    return JSON.stringify(out);
  }
  function isAutosave(elt) {
    return elt && elt.matches && elt.matches("form[data-autosave]");
  }
  document.body.addEventListener("htmx:configRequest", function (evt) {
    var form = evt.detail.elt;
    if (!isAutosave(form) || !evt.detail.formData) return;
    var key = fieldsKey(evt.detail.formData);
    if (lastSaved.get(form) === key) {
      evt.preventDefault();
      return;
    }
    form.dataset.pendingSave = key;
  });
  document.body.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!isAutosave(form) || form.dataset.pendingSave === undefined) return;
    if (evt.detail.successful) lastSaved.set(form, form.dataset.pendingSave);
    delete form.dataset.pendingSave;
  });

  // Sliders are shown only with JavaScript; each mirrors a number input (the real field).
  function bindSliders(root) {
    root.querySelectorAll("input.js-slider[data-sync]").forEach(function (slider) {
      if (slider.dataset.bound) return;
      var target = document.getElementById(slider.dataset.sync);
      if (!target) return;
      slider.dataset.bound = "1";
      slider.hidden = false;
      slider.addEventListener("input", function () {
        target.value = slider.value;
      });
      target.addEventListener("input", function () {
        if (target.value !== "") slider.value = target.value;
      });
    });
  }

  // Drag nodes to place them; the position is PATCHed on drop (keyboard: inspector x/y).
  var drag = null;
  function svgPoint(svg, evt) {
    var pt = svg.createSVGPoint();
    pt.x = evt.clientX;
    pt.y = evt.clientY;
    var ctm = svg.getScreenCTM();
    return ctm ? pt.matrixTransform(ctm.inverse()) : { x: evt.clientX, y: evt.clientY };
  }
  function translateOf(node) {
    var m = /translate\(([-\d.]+),\s*([-\d.]+)\)/.exec(node.getAttribute("transform") || "");
    return m ? { x: parseFloat(m[1]), y: parseFloat(m[2]) } : { x: 0, y: 0 };
  }
  document.addEventListener("pointerdown", function (evt) {
    var node = evt.target.closest && evt.target.closest("#diagram svg .node");
    if (!node || evt.button !== 0) return;
    var svg = node.ownerSVGElement;
    var start = svgPoint(svg, evt);
    drag = { node: node, svg: svg, start: start, origin: translateOf(node), moved: false };
  });
  document.addEventListener("pointermove", function (evt) {
    if (!drag) return;
    var p = svgPoint(drag.svg, evt);
    var dx = p.x - drag.start.x;
    var dy = p.y - drag.start.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    drag.node.classList.add("node-dragging");
    drag.x = Math.max(0, Math.round(drag.origin.x + dx));
    drag.y = Math.max(0, Math.round(drag.origin.y + dy));
    drag.node.setAttribute("transform", "translate(" + drag.x + "," + drag.y + ")");
    evt.preventDefault();
  });
  document.addEventListener("pointerup", function () {
    if (!drag) return;
    var d = drag;
    drag = null;
    if (!d.moved) return;
    d.node.classList.remove("node-dragging");
    // Swallow the click that follows a drag so the node's link does not fire.
    d.node.addEventListener("click", function (e) { e.preventDefault(); e.stopPropagation(); },
      { capture: true, once: true });
    var panel = document.getElementById("diagram");
    var rev = document.querySelector("input[data-revision]");
    if (!panel || !rev || !window.htmx) return;
    var url = panel.dataset.moveUrl.replace("__ID__", encodeURIComponent(d.node.dataset.componentId));
    window.htmx.ajax("PATCH", url, {
      source: panel,
      target: "#save-status",
      swap: "outerHTML",
      values: { x: d.x, y: d.y, revision: rev.value },
    });
  });

  // Selecting a node loads the inspector in place; without JavaScript the link loads the page.
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("#diagram svg a[data-inspector-url]");
    if (!link || evt.defaultPrevented || evt.ctrlKey || evt.metaKey || !window.htmx) return;
    evt.preventDefault();
    window.htmx.ajax("GET", link.dataset.inspectorUrl, {
      source: link, target: "#component-inspector", swap: "outerHTML",
    });
  });

  document.addEventListener("DOMContentLoaded", function () { bindSliders(document); });
  document.body.addEventListener("htmx:afterSettle", function (evt) { bindSliders(evt.target); });
})();
