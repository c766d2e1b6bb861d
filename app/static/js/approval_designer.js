/* The approval flow designer (BIZ-8): reorder steps by HTML5 drag and drop, add/remove steps, pick the post,
   role, named users and kind of each, and see the flow as an SVG diagram. Saving posts the steps as JSON;
   the server validates them and saves a new version. No external libraries. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("designer-data").textContent);
  var L = data.labels;
  var steps = data.steps.map(function (s) { return Object.assign({}, s); });
  var list = document.getElementById("designer-steps");
  var diagram = document.getElementById("designer-diagram");
  var dragFrom = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function select(options, value, field, i, multiple) {
    var s = el("select", {"class": "form-control input-sm", "data-field": field, "data-index": i,
                          "title": L[field] || field});
    if (multiple) { s.multiple = true; s.size = 3; }
    options.forEach(function (o) {
      var opt = el("option", {value: o[0], text: o[1]});
      if (multiple ? (value || []).map(String).indexOf(String(o[0])) >= 0 : String(value === null || value === undefined ? "" : value) === String(o[0])) {
        opt.selected = true;
      }
      s.appendChild(opt);
    });
    return s;
  }

  function input(value, field, i, type, placeholder, size) {
    return el("input", {"class": "form-control input-sm", "data-field": field, "data-index": i, type: type || "text",
                        value: value === null || value === undefined ? "" : value, placeholder: placeholder || "",
                        title: placeholder || field, size: size || 10});
  }

  function checkbox(value, field, i, label) {
    var box = el("input", {type: "checkbox", "data-field": field, "data-index": i});
    box.checked = !!value;
    return el("label", {"class": "checkbox-inline"}, [box, document.createTextNode(" " + label)]);
  }

  function withNone(items) {
    return [["", L.none]].concat(items.map(function (x) { return [x.id, x.name]; }));
  }

  function render() {
    list.innerHTML = "";
    steps.forEach(function (s, i) {
      var card = el("div", {"class": "designer-step" + (s.mode === "committee" ? " committee" : ""), draggable: "true",
                            "data-index": i, id: "step-" + i});
      var head = el("div", {}, [
        el("span", {"class": "handle fa fa-bars", title: L.drag}),
        el("strong", {"class": "step-no", text: (i + 1) + ". "}),
        input(s.name, "name", i, "text", L.name, 18),
        select(data.modes, s.mode, "mode", i),
        el("button", {type: "button", "class": "btn btn-xs btn-danger remove-step", "data-index": i, text: L.remove})
      ]);
      var who = el("div", {}, [
        el("small", {text: L.post + " "}), select(withNone(data.posts), s.post_id, "post_id", i),
        el("small", {text: L.role + " "}), select(withNone(data.roles), s.role_id, "role_id", i),
        el("small", {text: L.users + " "}), select(data.users.map(function (u) { return [u.id, u.name]; }), s.user_ids, "user_ids", i, true)
      ]);
      var cond = el("div", {}, [
        el("small", {text: L.cond + ": "}),
        input(s.amount_min, "amount_min", i, "text", L.amount_min, 10),
        input(s.amount_max, "amount_max", i, "text", L.amount_max, 10),
        input(s.product_codes, "product_codes", i, "text", L.products, 8),
        input(s.customer_grades, "customer_grades", i, "text", L.grades, 6),
        select(data.green, s.green_channel, "green_channel", i),
        checkbox(s.allow_same_person, "allow_same_person", i, L.same)
      ]);
      var committee = el("div", {"class": "committee-only"}, [
        el("small", {text: L.quorum + " "}), input(s.quorum, "quorum", i, "number", L.quorum, 3),
        el("small", {text: L.pass + " "}), input(s.pass_num, "pass_num", i, "number", "2", 2),
        el("span", {text: "/"}), input(s.pass_den, "pass_den", i, "number", "3", 2),
        checkbox(s.chair_veto, "chair_veto", i, L.veto)
      ]);
      card.appendChild(head); card.appendChild(who); card.appendChild(cond); card.appendChild(committee);
      card.addEventListener("dragstart", function (e) {
        dragFrom = i; card.classList.add("dragging");
        e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", String(i));
      });
      card.addEventListener("dragend", function () { card.classList.remove("dragging"); });
      card.addEventListener("dragover", function (e) { e.preventDefault(); card.classList.add("drop-target"); });
      card.addEventListener("dragleave", function () { card.classList.remove("drop-target"); });
      card.addEventListener("drop", function (e) {
        e.preventDefault();
        var from = dragFrom !== null ? dragFrom : parseInt(e.dataTransfer.getData("text/plain"), 10);
        dragFrom = null;
        if (isNaN(from) || from === i) { render(); return; }
        var moved = steps.splice(from, 1)[0];
        steps.splice(i, 0, moved);
        render();
      });
      list.appendChild(card);
    });
    drawDiagram();
  }

  function labelOf(options, id) {
    for (var k = 0; k < options.length; k++) { if (String(options[k].id) === String(id)) { return options[k].name; } }
    return "";
  }
  function modeLabel(m) {
    for (var k = 0; k < data.modes.length; k++) { if (data.modes[k][0] === m) { return data.modes[k][1]; } }
    return m;
  }

  function drawDiagram() {
    var NS = "http://www.w3.org/2000/svg";
    var boxW = 260, boxH = 52, gap = 28, x = 20;
    var nodes = [{title: L.start, sub: "", round: true}].concat(steps.map(function (s, i) {
      var who = [labelOf(data.posts, s.post_id), labelOf(data.roles, s.role_id),
                 (s.user_ids || []).length ? (L.users + " ×" + s.user_ids.length) : ""].filter(Boolean).join(" / ");
      return {title: (i + 1) + ". " + (s.name || "?"), sub: modeLabel(s.mode) + (who ? " · " + who : ""),
              cond: !!(s.amount_min || s.amount_max || s.product_codes || s.customer_grades || s.green_channel)};
    })).concat([{title: L.end, sub: "", round: true}]);
    var height = nodes.length * (boxH + gap) + 10;
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", boxW + 2 * x); svg.setAttribute("height", height); svg.setAttribute("id", "flow-svg");
    var defs = document.createElementNS(NS, "defs");
    defs.innerHTML = '<marker id="arrow" markerWidth="10" markerHeight="10" refX="5" refY="5" orient="auto">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>';
    svg.appendChild(defs);
    nodes.forEach(function (n, i) {
      var y = 10 + i * (boxH + gap);
      var r = document.createElementNS(NS, "rect");
      r.setAttribute("x", x); r.setAttribute("y", y); r.setAttribute("width", boxW); r.setAttribute("height", boxH);
      r.setAttribute("rx", n.round ? 24 : 4);
      r.setAttribute("fill", n.round ? "#dff0d8" : (n.cond ? "#fcf8e3" : "#d9edf7"));
      r.setAttribute("stroke", "#31708f");
      r.setAttribute("class", n.round ? "flow-terminal" : "flow-step");
      svg.appendChild(r);
      var t = document.createElementNS(NS, "text");
      t.setAttribute("x", x + boxW / 2); t.setAttribute("y", y + (n.sub ? 22 : 31)); t.setAttribute("text-anchor", "middle");
      t.setAttribute("font-size", "14"); t.setAttribute("font-weight", "bold"); t.textContent = n.title;
      svg.appendChild(t);
      if (n.sub) {
        var s2 = document.createElementNS(NS, "text");
        s2.setAttribute("x", x + boxW / 2); s2.setAttribute("y", y + 40); s2.setAttribute("text-anchor", "middle");
        s2.setAttribute("font-size", "11"); s2.setAttribute("fill", "#555");
        s2.textContent = n.sub.length > 38 ? n.sub.slice(0, 37) + "…" : n.sub;
        svg.appendChild(s2);
      }
      if (i < nodes.length - 1) {
        var a = document.createElementNS(NS, "line");
        a.setAttribute("x1", x + boxW / 2); a.setAttribute("y1", y + boxH);
        a.setAttribute("x2", x + boxW / 2); a.setAttribute("y2", y + boxH + gap - 4);
        a.setAttribute("stroke", "#555"); a.setAttribute("marker-end", "url(#arrow)");
        svg.appendChild(a);
      }
    });
    diagram.innerHTML = "";
    diagram.appendChild(svg);
  }

  function fieldChanged(e) {
    var t = e.target, field = t.getAttribute("data-field"), i = parseInt(t.getAttribute("data-index"), 10);
    if (!field || isNaN(i)) { return; }
    var value;
    if (t.type === "checkbox") { value = t.checked; }
    else if (t.multiple) { value = Array.prototype.filter.call(t.options, function (o) { return o.selected; }).map(function (o) { return parseInt(o.value, 10); }); }
    else { value = t.value; }
    steps[i][field] = value;
    if (field === "mode") { render(); } else { drawDiagram(); }
  }
  list.addEventListener("change", fieldChanged);
  list.addEventListener("input", function (e) { if (e.target.tagName === "INPUT" && e.target.type !== "checkbox") { fieldChanged(e); } });
  list.addEventListener("click", function (e) {
    if (e.target.classList.contains("remove-step")) {
      steps.splice(parseInt(e.target.getAttribute("data-index"), 10), 1);
      render();
    }
  });
  document.getElementById("add-step").addEventListener("click", function () {
    steps.push({name: L.new_step + " " + (steps.length + 1), mode: "single", post_id: "", role_id: "", user_ids: [],
                allow_same_person: false, amount_min: "", amount_max: "", product_codes: "", customer_grades: "",
                green_channel: "", quorum: "", pass_num: "", pass_den: "", chair_veto: false});
    render();
  });
  document.getElementById("designer-form").addEventListener("submit", function (e) {
    if (!steps.length) { e.preventDefault(); alert(L.empty); return; }
    document.getElementById("steps-json").value = JSON.stringify(steps);
  });
  render();
})();
