// The explorable page of micrograd_nn.viz.explore_html: the graph, exported with its ops, is
// evaluated here. Forward: each node's value from its operands, in topological order. Backward:
// from the root down, every node passes d root/d node * d node/d operand to its operands, and a
// node whose gradient is exactly 0 passes nothing (as Value.backward does).
"use strict";
(function () {
  var G = JSON.parse(document.getElementById("graph-data").textContent);
  var OPS = window.MICROGRAD_NN_OPS;
  var nodes = G.nodes, n = nodes.length, root = n - 1;
  var data = new Array(n), grad = new Array(n), local = new Array(n);
  var initial = {}, trace = [], selected = G.leaves.length ? G.leaves[0] : null;

  function number(x) { return typeof x === "number" ? x : Number(x); }  // "Infinity", "NaN"

  // Python's "%.4g", the format of the diagram's numbers (micrograd_nn.viz.naming.fmt)
  function fmt(x) {
    if (isNaN(x)) return "nan";
    if (!isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    var parts = x.toExponential(3).split("e"), exp = parseInt(parts[1], 10), text;
    if (exp < -4 || exp >= 4) {
      var mantissa = parts[0].replace(/\.?0+$/, "");
      var digits = String(Math.abs(exp));
      text = mantissa + "e" + (exp < 0 ? "-" : "+") + (digits.length < 2 ? "0" : "") + digits;
    } else {
      text = x.toFixed(3 - exp);
      if (text.indexOf(".") >= 0) text = text.replace(/\.?0+$/, "");
    }
    return text === "-0" ? "0" : text;
  }

  function long(x) { return isFinite(x) ? String(Number(x.toPrecision(6))) : fmt(x); }

  // values: leaves given; every other node computed. With locals, also each d node/d operand.
  function forward(values, withLocals) {
    for (var k = 0; k < n; k++) {
      var v = nodes[k];
      if (v.op === null) continue;
      var x = v.args.map(function (i) { return values[i]; });
      var op = OPS[v.op];
      values[k] = op.f(x, v.c);
      if (withLocals) local[k] = op.d(x, values[k], v.c);
    }
    return values;
  }

  function backward() {
    grad.fill(0);
    grad[root] = 1;
    for (var k = n - 1; k >= 0; k--) {
      var v = nodes[k], g = grad[k];
      if (v.op === null || g === 0) continue;  // a leaf, or nothing to pass back
      for (var i = 0; i < v.args.length; i++) grad[v.args[i]] += local[k][i] * g;
    }
  }

  function nudge() {
    if (selected === null) return null;
    var eps = number(document.getElementById("eps").value);
    var moved = forward(data.slice(), false);
    var shifted = data.slice();
    shifted[selected] += eps;
    forward(shifted, false);
    return {leaf: selected, eps: eps, before: moved[root], after: shifted[root],
            delta: shifted[root] - moved[root], predicted: grad[selected] * eps};
  }

  // ---- the page ------------------------------------------------------------------------------

  var svg = document.querySelector("#diagram svg");
  var boxes = {}, edgeLabels = {};
  svg.querySelectorAll("g.node").forEach(function (g) {
    var title = g.querySelector("title").textContent.trim();
    var m = /^v(\d+)$/.exec(title);
    if (!m) return;
    g.querySelectorAll("text").forEach(function (t) {
      if (/^data /.test(t.textContent)) boxes[m[1] + ":data"] = t;
      if (/^grad /.test(t.textContent)) boxes[m[1] + ":grad"] = t;
    });
  });
  // an edge operand -> op<k> carries d node_k/d operand; edges into one op come in operand order
  var seen = {};
  svg.querySelectorAll("g.edge").forEach(function (g) {
    var m = /^v\d+(?::\w+)?->op(\d+)$/.exec(g.querySelector("title").textContent.trim());
    var text = g.querySelector("text");
    if (!m) return;
    var k = m[1], i = seen[k] || 0;
    seen[k] = i + 1;
    if (text && / = /.test(text.textContent)) {
      text.setAttribute("data-node", k);
      text.setAttribute("data-operand", i);
      edgeLabels[k + ":" + i] = text;
    }
  });

  // The layout was made for the first numbers: a longer text is squeezed into the old width
  // (textLength), so it never spills over its cell.
  var widths = new Map();
  function setText(t, text) {
    if (!widths.has(t)) widths.set(t, t.getComputedTextLength());
    t.removeAttribute("textLength");
    t.textContent = text;
    var room = widths.get(t);
    if (t.getComputedTextLength() > room) {
      t.setAttribute("textLength", room);
      t.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  function drawDiagram() {
    for (var k = 0; k < n; k++) {
      if (boxes[k + ":data"]) setText(boxes[k + ":data"], "data " + fmt(data[k]));
      if (boxes[k + ":grad"]) setText(boxes[k + ":grad"], "grad " + fmt(grad[k]));
      if (!local[k]) continue;
      for (var i = 0; i < local[k].length; i++) {
        var t = edgeLabels[k + ":" + i];
        if (t) setText(t, t.textContent.replace(/ = [^=]*$/, " = " + fmt(local[k][i])));
      }
    }
  }

  function drawNudge() {
    var r = nudge(), out = document.getElementById("nudge");
    if (r === null) { out.textContent = "(no leaf to nudge)"; return; }
    var name = nodes[r.leaf].name, top = nodes[root].name;
    out.textContent =
      top + "(" + name + " + \u03b5) \u2212 " + top + "(" + name + ") = " + long(r.delta) +
      "\n" + "d" + top + "/d" + name + " \u00b7 \u03b5 = " + long(grad[r.leaf]) + " \u00b7 " +
      long(r.eps) + " = " + long(r.predicted) +
      "\ndifference = " + long(r.delta - r.predicted) + " (second order in \u03b5)";
  }

  function drawTrace() {
    var list = document.getElementById("trace-list"), line = document.getElementById("trace-line");
    list.textContent = trace.map(function (y, s) { return "step " + s + ": " + long(y); })
      .join("\n");
    var finite = trace.filter(isFinite);
    var lo = Math.min.apply(null, finite), hi = Math.max.apply(null, finite);
    var span = hi > lo ? hi - lo : 1, w = 300, h = 100;
    line.setAttribute("points", trace.map(function (y, s) {
      var px = trace.length > 1 ? 10 + s * w / (trace.length - 1) : 10;
      return px.toFixed(1) + "," + (10 + h - (y - lo) / span * h).toFixed(1);
    }).join(" "));
  }

  function update() {
    forward(data, true);
    backward();
    drawDiagram();
    G.leaves.forEach(function (k) {
      var row = document.getElementById("leaf" + k);
      row.querySelector(".value").value = data[k];
      row.querySelector(".range").value = data[k];
      row.querySelector(".grad").textContent = long(grad[k]);
    });
    document.getElementById("root-value").textContent = long(data[root]);
    drawNudge();
  }

  function setLeaf(k, x) {
    data[k] = x;
    update();
    trace = [data[root]];  // a new starting point for the SGD trace
    drawTrace();
  }

  function step() {
    var lr = number(document.getElementById("lr").value);
    G.leaves.forEach(function (k) {
      if (document.getElementById("leaf" + k).querySelector(".train").checked) {
        data[k] -= lr * grad[k];
      }
    });
    update();
    trace.push(data[root]);
    drawTrace();
  }

  G.leaves.forEach(function (k) {
    data[k] = initial[k] = number(nodes[k].data);
    var row = document.getElementById("leaf" + k);
    row.querySelector(".range").addEventListener("input", function (e) {
      setLeaf(k, number(e.target.value));
    });
    row.querySelector(".value").addEventListener("change", function (e) {
      setLeaf(k, number(e.target.value));
    });
    row.querySelector(".select").addEventListener("change", function () {
      selected = k;
      drawNudge();
    });
  });
  document.getElementById("eps").addEventListener("input", drawNudge);
  document.getElementById("step").addEventListener("click", step);
  document.getElementById("reset").addEventListener("click", function () {
    G.leaves.forEach(function (k) { data[k] = initial[k]; });
    update();
    trace = [data[root]];
    drawTrace();
  });

  update();
  trace = [data[root]];
  drawTrace();
  window.explorer = {
    data: function () { return data.slice(); },
    grad: function () { return grad.slice(); },
    local: function () { return local.slice(); },
    trace: function () { return trace.slice(); },
    nudge: nudge,
    fmt: fmt
  };
})();
