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
  var initial = {}, trace = [], selected = null;

  function number(x) { return typeof x === "number" ? x : Number(x); }  // "Infinity", "NaN"

  // x.toExponential(3), but an exact half goes to the even digit, as in Python's formatting
  function sig4(x) {
    var tie = /^(\d)\.(\d{3})50*e([+-]\d+)$/.exec(Math.abs(x).toExponential(20));
    if (tie && Number(tie[2].slice(-1)) % 2 === 0) {
      return (x < 0 ? "-" : "") + tie[1] + "." + tie[2] + "e" + tie[3];
    }
    return x.toExponential(3);
  }

  // Python's "%.4g", the format of the diagram's numbers (micrograd_nn.viz.naming.fmt)
  function fmt(x) {
    if (isNaN(x)) return "nan";
    if (!isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    var s = sig4(x), sign = x < 0 ? "-" : "", parts = (sign ? s.slice(1) : s).split("e");
    var exp = parseInt(parts[1], 10), digits = parts[0].replace(".", ""), text;
    if (exp < -4 || exp >= 4) {
      var power = String(Math.abs(exp));
      text = parts[0].replace(/\.?0+$/, "") + "e" + (exp < 0 ? "-" : "+") +
        (power.length < 2 ? "0" : "") + power;
    } else if (exp < 0) {
      text = "0." + "0".repeat(-exp - 1) + digits;
    } else {
      text = digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
    }
    if (text.indexOf("e") < 0) text = text.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
    return sign + text;
  }

  function long(x) { return isFinite(x) ? String(Number(x.toPrecision(6))) : fmt(x); }

  // values: leaves given; every other node computed. With locals, also each d node/d operand.
  function forward(values, withLocals) {
    for (var k = 0; k < n; k++) {
      var v = nodes[k];
      if (v.op === null) continue;
      var x = v.args.map(function (i) { return values[i]; });
      var op = OPS[v.op];
      values[k] = op.f(x);
      if (withLocals) local[k] = op.d(x, values[k]);
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

  // The diagram's boxes are g.node titled v<k> (or v<k>_again<m>, a copy of the box drawn near
  // a far reader); an arrow from value j into node k's operation is titled v<j>...->op<k>.
  var svg = document.querySelector("#diagram svg");
  var boxes = [], arrows = [];
  svg.querySelectorAll("g.node").forEach(function (g) {
    var m = /^v(\d+)(?:_again\d+)?$/.exec(g.querySelector("title").textContent.trim());
    if (!m) return;
    g.querySelectorAll("text").forEach(function (t) {
      var kind = /^(data|grad) /.exec(t.textContent);
      if (kind) boxes.push({k: +m[1], kind: kind[1], text: t});
    });
  });
  svg.querySelectorAll("g.edge").forEach(function (g) {
    var m = /^v(\d+)(?:_again\d+)?(?::\w+)?->op(\d+)(?::\w+)?$/.exec(
      g.querySelector("title").textContent.trim());
    var text = g.querySelector("text");
    if (!m || !text) return;
    var groups = (nodes[m[2]].edges || {})[m[1]];
    if (!groups || text.textContent.split("; ").length !== groups.length) return;
    text.setAttribute("data-node", m[2]);
    text.setAttribute("data-groups", groups.map(function (g) { return g.join(","); }).join("|"));
    arrows.push({k: +m[2], groups: groups, text: text});
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

  // "d/da = b = 1.3 (×2); d/da = 1": each part's last number is d node_k/d operand_i
  function relabel(text, k, groups) {
    return text.split("; ").map(function (part, p) {
      var m = /^((?:.* = )?)[^=]*?((?: \(\u00d7\d+\))?)$/.exec(part);
      return m[1] + fmt(local[k][groups[p][0]]) + m[2];
    }).join("; ");
  }

  function drawDiagram() {
    boxes.forEach(function (b) {
      setText(b.text, b.kind + " " + fmt(b.kind === "data" ? data[b.k] : grad[b.k]));
    });
    arrows.forEach(function (a) {
      setText(a.text, relabel(a.text.textContent, a.k, a.groups));
    });
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
    if (row.querySelector(".select").checked) selected = k;
    row.querySelector(".select").addEventListener("change", function () {
      selected = k;
      drawNudge();
    });
  });
  document.getElementById("fit").addEventListener("change", function (e) {
    document.getElementById("diagram").classList.toggle("fit", e.target.checked);
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
