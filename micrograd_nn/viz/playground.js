// The playground of micrograd_nn.viz.playground_html: an MLP trained in the page, exactly as
// micrograd_nn.train.fit trains it. The model and the loss come as graphs exported from the
// engine; the op table's JavaScript (window.MICROGRAD_NN_OPS) evaluates them. Read the Python
// module's docstring for what "exactly" takes.
"use strict";
(function () {
  var S = JSON.parse(document.getElementById("playground-state").textContent);
  var OPS = window.MICROGRAD_NN_OPS;

  function number(x) { return typeof x === "number" ? x : Number(x); }  // "NaN", "Infinity"

  // ---- numpy's np.random.default_rng(seed): SeedSequence, PCG64, Generator.permutation ----------

  // SeedSequence(seed).generate_state(nWords, uint32): the seed's 32-bit words hashed into a
  // pool of 4, then drawn out (numpy/random/bit_generator.pyx)
  function seedSequence(seed, nWords) {
    function mul(a, b) { return Math.imul(a, b) >>> 0; }
    var entropy = [], s = BigInt(seed);
    do { entropy.push(Number(s & 0xffffffffn)); s >>= 32n; } while (s > 0n);
    var pool = [0, 0, 0, 0], hashConst = 0x43b0d7e5;
    function hashmix(value) {
      value = (value ^ hashConst) >>> 0;
      hashConst = mul(hashConst, 0x931e8875);
      value = mul(value, hashConst);
      return (value ^ (value >>> 16)) >>> 0;
    }
    function mix(x, y) {
      var r = (mul(0xca01f9dd, x) - mul(0x4973f715, y)) >>> 0;
      return (r ^ (r >>> 16)) >>> 0;
    }
    var i, src, dst;
    for (i = 0; i < 4; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
    for (src = 0; src < 4; src++) {
      for (dst = 0; dst < 4; dst++) if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    }
    for (src = 4; src < entropy.length; src++) {
      for (dst = 0; dst < 4; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
    }
    var out = [], hc = 0x8b51f9dd;
    for (i = 0; i < nWords; i++) {
      var v = (pool[i % 4] ^ hc) >>> 0;
      hc = mul(hc, 0x58f38ded);
      v = mul(v, hc);
      out.push((v ^ (v >>> 16)) >>> 0);
    }
    return out;
  }

  var MASK64 = (1n << 64n) - 1n, MASK128 = (1n << 128n) - 1n;
  var PCG_MULT = 0x2360ed051fc65da44385df649fccf645n;

  // PCG64 (XSL-RR 128/64), seeded as numpy seeds it: state and increment from SeedSequence
  function PCG64(seed) {
    var w = seedSequence(seed, 8).map(BigInt);
    var u64 = [0, 1, 2, 3].map(function (i) { return w[2 * i] | (w[2 * i + 1] << 32n); });
    this.inc = (((u64[2] << 64n) | u64[3]) << 1n | 1n) & MASK128;
    this.state = 0n;
    this.advance();
    this.state = (this.state + ((u64[0] << 64n) | u64[1])) & MASK128;
    this.advance();
    this.hasHalf = false;
    this.half = 0;
  }
  PCG64.prototype.advance = function () {
    this.state = (this.state * PCG_MULT + this.inc) & MASK128;
  };
  PCG64.prototype.next64 = function () {
    this.advance();
    var s = this.state, x = ((s >> 64n) ^ s) & MASK64, rot = s >> 122n;
    return ((x >> rot) | (x << ((64n - rot) & 63n))) & MASK64;
  };
  PCG64.prototype.next32 = function () {  // the upper half of a 64-bit draw is kept for next time
    if (this.hasHalf) { this.hasHalf = false; return this.half; }
    var n = this.next64();
    this.hasHalf = true;
    this.half = Number(n >> 32n);
    return Number(n & 0xffffffffn);
  };
  PCG64.prototype.interval = function (max) {  // uniform in 0..max by masked rejection
    if (max === 0) return 0;
    var mask = max;
    mask |= mask >>> 1; mask |= mask >>> 2; mask |= mask >>> 4; mask |= mask >>> 8;
    mask |= mask >>> 16;
    var v;
    while ((v = (this.next32() & mask) >>> 0) > max) { /* draw again */ }
    return v;
  };
  PCG64.prototype.permutation = function (n) {  // Generator.permutation: Fisher-Yates, from the end
    var a = [], i;
    for (i = 0; i < n; i++) a.push(i);
    for (i = n - 1; i >= 1; i--) {
      var j = this.interval(i), t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  };
  PCG64.prototype.random = function () {  // Generator.random(): 53 bits in [0, 1)
    return Number(this.next64() >> 11n) / 9007199254740992;
  };
  PCG64.prototype.normal = function () {  // Box-Muller (the page's datasets only)
    var u = 1 - this.random(), v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };

  // ---- graphs, evaluated with the op table's functions ------------------------------------------

  // A graph in topological order. forward(): every op node from its operands (and, with
  // locals, d node/d operand). backward(root, seed): the engine's walk, root first; a node
  // whose gradient is exactly 0 passes nothing, an inf or nan one passes under the zero rule.
  // With keepParams, parameter leaves are not zeroed: they add up a batch, as .grad fields do.
  function Graph(spec, keepParams) {
    var nodes = spec.nodes, n = nodes.length, self = this;
    this.nodes = nodes;
    this.n = n;
    this.z = spec.z;  // a loss's graph: the index of its leaf z (-1 when it does not read z)
    this.data = new Float64Array(n);
    this.grad = new Float64Array(n);
    this.local = new Array(n);
    this.f = new Array(n);
    this.d = new Array(n);
    this.args = new Array(n);
    this.buf = new Array(n);
    this.interior = [];
    this.zeroed = [];
    nodes.forEach(function (node, k) {
      self.args[k] = node.args;
      if (node.op !== null) {
        var op = OPS[node.op];
        self.f[k] = op.f;
        self.d[k] = op.d;
        self.buf[k] = new Array(node.args.length);
        self.interior.push(k);
      } else if (node.data !== undefined) {
        self.data[k] = number(node.data);
      }
      if (!(keepParams && node.param !== undefined)) self.zeroed.push(k);
    });
  }
  Graph.prototype.forward = function (withLocals) {
    var data = this.data, interior = this.interior;
    for (var t = 0; t < interior.length; t++) {
      var k = interior[t], a = this.args[k], x = this.buf[k];
      for (var i = 0; i < a.length; i++) x[i] = data[a[i]];
      var out = this.f[k](x);
      data[k] = out;
      if (withLocals) this.local[k] = this.d[k](x, out);
    }
  };
  function term(g, d) {  // engine.chain_term: a factor exactly 0 gives 0, even beside inf or nan
    return (g === 0 || d === 0) && !(isFinite(g) && isFinite(d)) ? 0 : g * d;
  }
  Graph.prototype.pass = function (k) {  // node k adds grad * d k/d operand to each operand
    var grad = this.grad, g = grad[k], a = this.args[k], d = this.local[k], i;
    if (g === 0) return false;
    if (g - g !== 0) {
      for (i = 0; i < a.length; i++) grad[a[i]] += term(g, d[i]);
    } else {
      for (i = 0; i < a.length; i++) grad[a[i]] += d[i] * g;
    }
    return true;
  };
  Graph.prototype.backward = function (root, seed) {
    var grad = this.grad, zeroed = this.zeroed, interior = this.interior;
    for (var i = 0; i < zeroed.length; i++) grad[zeroed[i]] = 0;
    grad[root] = seed;
    for (var t = interior.length - 1; t >= 0; t--) this.pass(interior[t]);
  };

  // ---- the model, the loss, and one sample through both -----------------------------------------

  var MODEL = S.model, OUT = MODEL.output, HEADS = S.heads;
  var paramNode = [], inputNode = [];
  MODEL.nodes.forEach(function (node, k) {
    if (node.param !== undefined) paramNode[node.param] = k;
    if (node.input !== undefined) inputNode[node.input] = k;
  });
  var NP = paramNode.length;

  // Which of a loss's graphs the engine builds for an output z (micrograd_nn/losses.py):
  // bce_with_logits branches on z > 0; bce clamps p = sigmoid(z) to [1e-12, 1 - 1e-12]
  var BRANCHES = {
    bce_with_logits: function (z) { return z > 0 ? "pos" : "neg"; },
    bce: function (z) {
      var p = M.sigmoid(z);
      return p < 1e-12 ? "low" : (p > 1.0 - 1e-12 ? "high" : "mid");
    }
  };
  function headKey(label, z) {
    var branch = BRANCHES[S.loss];
    return branch ? label + ":" + branch(z) : String(label);
  }

  var trainModel = new Graph(MODEL, true), trainHeads = {};
  Object.keys(HEADS).forEach(function (key) { trainHeads[key] = new Graph(HEADS[key], false); });

  function loadParams(graph, params) {
    for (var j = 0; j < NP; j++) graph.data[paramNode[j]] = params[j];
  }
  function forwardModel(x1, x2, withLocals) {  // the model's output z at (x1, x2)
    trainModel.data[inputNode[0]] = x1;
    trainModel.data[inputNode[1]] = x2;
    trainModel.forward(withLocals);
    return trainModel.data[OUT];
  }
  function score(x1, x2) { return forwardModel(x1, x2, false); }
  // loss_i of one point, and with backward its share of the gradient added into the params
  function sampleLoss(point, withBackward, seed) {
    var z = forwardModel(point[0], point[1], withBackward);
    var head = trainHeads[headKey(point[2], z)], root = head.n - 1;
    if (head.z >= 0) head.data[head.z] = z;
    head.forward(withBackward);
    if (withBackward) {
      head.backward(root, seed);
      trainModel.backward(OUT, head.z >= 0 ? head.grad[head.z] : 0);
    }
    return {z: z, loss: head.data[root]};
  }

  // ---- training: batches, optimizers, a step ----------------------------------------------------

  var points = S.data.map(function (p) { return p.slice(); });
  var T = {};  // the training state: parameters, optimizer, batches, history

  function Optimizer(kind) {  // micrograd_nn/optim.py: SGD (momentum) and Adam
    this.kind = kind;
    this.t = 0;
    this.m = new Float64Array(NP);
    this.v = new Float64Array(NP);
    this.velocity = new Array(NP).fill(null);
  }
  Optimizer.prototype.step = function (p, grads, lr, momentum) {
    var j, g;
    if (this.kind === "sgd") {  // v = momentum v + g (v = g at first); p -= lr v
      for (j = 0; j < NP; j++) {
        g = grads[j];
        if (momentum) {
          var v = this.velocity[j];
          v = v === null ? g : momentum * v + g;
          this.velocity[j] = v;
          g = v;
        }
        p[j] -= lr * g;
      }
      return;
    }
    var beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam's defaults in optim.Adam
    this.t += 1;
    var stepSize = lr / (1 - Math.pow(beta1, this.t));
    var correction2 = Math.sqrt(1 - Math.pow(beta2, this.t));
    var m = this.m, vv = this.v;
    for (j = 0; j < NP; j++) {
      g = grads[j];
      m[j] = beta1 * m[j] + (1 - beta1) * g;
      vv[j] = beta2 * vv[j] + (1 - beta2) * g * g;
      p[j] -= stepSize * m[j] / (Math.sqrt(vv[j]) / correction2 + eps);
    }
  };

  function resetTraining() {
    T.params = Float64Array.from(S.params);
    T.grads = new Float64Array(NP);
    T.optimizer = new Optimizer(T.settings.optimizer);
    T.rng = new PCG64(T.settings.seed);
    T.order = null;
    T.cursor = 0;
    T.epoch = 0;
    T.steps = 0;
    T.history = [];
    T.diverged = null;
  }
  T.settings = {optimizer: S.optimizer, lr: S.lr, momentum: S.momentum,
                batchSize: S.batchSize, seed: S.seed};

  // fit's batches: the points in order when a batch holds them all, else each epoch a fresh
  // permutation from the seeded generator, cut into batches (the last may be smaller)
  function nextBatch() {
    var n = points.length, size = T.settings.batchSize === null ? n :
      Math.min(T.settings.batchSize, n);
    if (T.order === null || T.cursor >= T.order.length) {
      if (size < n) {
        T.order = T.rng.permutation(n);
      } else {
        T.order = [];
        for (var i = 0; i < n; i++) T.order.push(i);
      }
      T.cursor = 0;
      T.epoch += 1;
    }
    var idx = T.order.slice(T.cursor, T.cursor + size);
    T.cursor += size;
    return idx;
  }

  // One step: zero the grads, forward and backward each sample of the batch from its loss
  // with seed 1/|B| (the mean's share), then the optimizer's update. Returns false if diverged.
  function trainStep() {
    if (T.diverged || points.length === 0) return false;
    var idx = nextBatch(), m = idx.length, seed = m === 1 ? 1 : 1 / m, j;
    for (j = 0; j < NP; j++) trainModel.grad[paramNode[j]] = 0;
    loadParams(trainModel, T.params);
    var losses = new Array(m), correct = 0;
    for (var t = 0; t < m; t++) {
      var point = points[idx[t]], r = sampleLoss(point, true, seed);
      if (!isFinite(r.z)) return diverge("the model's output is " + r.z);
      losses[t] = r.loss;
      if ((r.z > S.threshold) === (point[2] === 1)) correct += 1;
    }
    var batchLoss = m === 1 ? losses[0] : M.sum(losses) / m;
    if (!isFinite(batchLoss)) return diverge("the loss is " + batchLoss);
    for (j = 0; j < NP; j++) T.grads[j] = trainModel.grad[paramNode[j]];
    T.optimizer.step(T.params, T.grads, T.settings.lr, T.settings.momentum);
    var total = 0;  // a NaN can hide from the loss (relu passes 0 for it), not from the sum
    for (j = 0; j < NP; j++) total += T.params[j];
    if (!isFinite(total)) return diverge("a parameter became NaN or infinite");
    T.steps += 1;
    T.history.push([batchLoss, correct / m]);
    return true;
  }
  function diverge(what) {
    T.diverged = "Training diverged at step " + (T.steps + 1) + ": " + what +
      ". Try a smaller learning rate, then reset.";
    return false;
  }

  // The mean loss over every point at the current parameters (train.evaluate's loss)
  function fullLoss() {
    if (points.length === 0) return NaN;
    loadParams(trainModel, T.params);
    var losses = points.map(function (p) { return sampleLoss(p, false, 1).loss; });
    return losses.length === 1 ? losses[0] : M.sum(losses) / losses.length;
  }

  // ---- the selected example's graph: the model's nodes, then its loss's -------------------------

  function unify(key) {
    var head = HEADS[key], nodes = MODEL.nodes.slice(), map = [];
    head.nodes.forEach(function (node, k) {
      if (k === head.z) { map[k] = OUT; return; }
      map[k] = nodes.length;
      var copy = {name: node.name, op: node.op, head: true,
                  args: node.args.map(function (a) { return map[a]; })};
      if (node.data !== undefined) copy.data = node.data;
      nodes.push(copy);
    });
    return new Graph({nodes: nodes}, false);
  }
  var sampleGraphs = {};
  Object.keys(HEADS).forEach(function (key) { sampleGraphs[key] = unify(key); });

  var selected = points.length ? 0 : null, view = null;

  // Forward and backward of the selected sample alone (seed 1) at the current parameters
  function computeView() {
    if (selected === null || selected >= points.length) { view = null; return; }
    var p = points[selected], z = (loadParams(trainModel, T.params), score(p[0], p[1]));
    var g = sampleGraphs[headKey(p[2], z)];
    loadParams(g, T.params);
    g.data[inputNode[0]] = p[0];
    g.data[inputNode[1]] = p[1];
    g.forward(true);
    g.backward(g.n - 1, 1);
    view = g;
  }

  // ---- drawing helpers --------------------------------------------------------------------------

  function fmt(x, digits) {  // a short number: 4 significant digits, no trailing zeros
    if (isNaN(x)) return "nan";
    if (!isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    var a = Math.abs(x), s;
    if (a >= 1e4 || a < 1e-3) s = x.toExponential((digits || 4) - 1).replace(/\.?0+e/, "e");
    else s = String(Number(x.toPrecision(digits || 4)));
    return s.replace("-", "\u2212");
  }
  var SVGNS = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent, text) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function $(id) { return document.getElementById(id); }
  var COLORS = {c0: "#E69F00", c1: "#0072B2", pos: "#1b7837", neg: "#762a83"};

  // ---- the data plot and the decision boundary --------------------------------------------------

  var plot = $("plot"), pctx = plot.getContext("2d"), GRID = 50;  // cells a side
  var box = null;  // the part of the plane shown: {x0, y0, size}
  var field = new Float64Array((GRID + 1) * (GRID + 1));
  var shade = document.createElement("canvas");
  shade.width = shade.height = GRID + 1;

  function fitBox() {
    var xs = points.map(function (p) { return p[0]; });
    var ys = points.map(function (p) { return p[1]; });
    if (!xs.length) { xs = [-1, 1]; ys = [-1, 1]; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var size = Math.max(x1 - x0, y1 - y0) * 1.2 + 0.4;
    box = {x0: (x0 + x1 - size) / 2, y0: (y0 + y1 - size) / 2, size: size};
  }
  function toPixel(x1, x2) {
    return [(x1 - box.x0) / box.size * plot.width, (1 - (x2 - box.y0) / box.size) * plot.height];
  }
  function fromPixel(px, py) {
    return [box.x0 + px / plot.width * box.size, box.y0 + (1 - py / plot.height) * box.size];
  }

  // The model's output on a (GRID+1)^2 lattice of the box: the heat map and its contour
  function computeField() {
    loadParams(trainModel, T.params);
    for (var j = 0; j <= GRID; j++) {
      for (var i = 0; i <= GRID; i++) {
        field[j * (GRID + 1) + i] = score(box.x0 + i / GRID * box.size,
                                          box.y0 + (1 - j / GRID) * box.size) - S.threshold;
      }
    }
  }
  var RGB0 = [230, 159, 0], RGB1 = [0, 114, 178], SHARP = S.loss === "mse" ? 4 : 1;
  function drawField() {
    var sctx = shade.getContext("2d"), img = sctx.createImageData(GRID + 1, GRID + 1);
    for (var k = 0; k < field.length; k++) {
      var t = Math.tanh(field[k] * SHARP), c = t > 0 ? RGB1 : RGB0, a = Math.abs(t) * 0.5 + 0.08;
      if (isNaN(t)) a = 0;
      for (var ch = 0; ch < 3; ch++) img.data[4 * k + ch] = Math.round(255 + (c[ch] - 255) * a);
      img.data[4 * k + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    pctx.imageSmoothingEnabled = true;
    var cell = plot.width / GRID;
    pctx.drawImage(shade, 0, 0, GRID + 1, GRID + 1, -cell / 2, -cell / 2,
                   plot.width + cell, plot.height + cell);
    drawContour(cell);
  }
  function drawContour(cell) {  // marching squares on the sign of z - threshold
    pctx.beginPath();
    var W = GRID + 1;
    function cross(a, b, pa, pb) {
      var t = a / (a - b);
      return [pa[0] + (pb[0] - pa[0]) * t, pa[1] + (pb[1] - pa[1]) * t];
    }
    for (var j = 0; j < GRID; j++) {
      for (var i = 0; i < GRID; i++) {
        var v = [field[j * W + i], field[j * W + i + 1], field[(j + 1) * W + i + 1],
                 field[(j + 1) * W + i]];
        var c = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], hits = [];
        for (var e = 0; e < 4; e++) {
          var a = v[e], b = v[(e + 1) % 4];
          if ((a > 0) !== (b > 0)) hits.push(cross(a, b, c[e], c[(e + 1) % 4]));
        }
        for (var h = 0; h + 1 < hits.length; h += 2) {
          pctx.moveTo(hits[h][0] * cell, hits[h][1] * cell);
          pctx.lineTo(hits[h + 1][0] * cell, hits[h + 1][1] * cell);
        }
      }
    }
    pctx.strokeStyle = "rgba(31,35,40,0.75)";
    pctx.lineWidth = 1.5;
    pctx.stroke();
  }
  function drawAxes() {
    pctx.strokeStyle = "rgba(31,35,40,0.12)";
    pctx.fillStyle = "rgba(31,35,40,0.55)";
    pctx.lineWidth = 1;
    pctx.font = "11px system-ui, sans-serif";
    var lo = Math.ceil(box.x0), hi = Math.floor(box.x0 + box.size);
    for (var u = lo; u <= hi; u++) {
      var p = toPixel(u, 0);
      pctx.beginPath(); pctx.moveTo(p[0], 0); pctx.lineTo(p[0], plot.height); pctx.stroke();
      pctx.fillText(String(u), p[0] + 3, plot.height - 4);
    }
    lo = Math.ceil(box.y0); hi = Math.floor(box.y0 + box.size);
    for (u = lo; u <= hi; u++) {
      p = toPixel(0, u);
      pctx.beginPath(); pctx.moveTo(0, p[1]); pctx.lineTo(plot.width, p[1]); pctx.stroke();
      pctx.fillText(String(u), 3, p[1] - 3);
    }
    pctx.fillText("x1 \u2192", plot.width - 36, plot.height - 16);
    pctx.fillText("x2 \u2191", 6, 14);
  }
  function drawPoints() {
    points.forEach(function (p, i) {
      var q = toPixel(p[0], p[1]);
      pctx.lineWidth = 1.2;
      pctx.strokeStyle = "#ffffff";
      pctx.fillStyle = p[2] === 1 ? COLORS.c1 : COLORS.c0;
      pctx.beginPath();
      if (p[2] === 1) pctx.rect(q[0] - 4, q[1] - 4, 8, 8);
      else pctx.arc(q[0], q[1], 4.6, 0, 2 * Math.PI);
      pctx.fill();
      pctx.stroke();
      if (i === selected) {
        pctx.beginPath();
        pctx.arc(q[0], q[1], 9, 0, 2 * Math.PI);
        pctx.strokeStyle = "#1f2328";
        pctx.lineWidth = 2;
        pctx.stroke();
      }
    });
  }
  var fieldDraws = 0;
  function drawPlot() {
    computeField();
    pctx.clearRect(0, 0, plot.width, plot.height);
    drawField();
    drawAxes();
    drawPoints();
    fieldDraws += 1;
  }

  // ---- the loss curve ---------------------------------------------------------------------------

  var curve = $("curve"), cctx = curve.getContext("2d");
  function drawCurve() {
    var w = curve.width, h = curve.height, L = 34, R = 34, Tp = 16, B = 20;
    cctx.clearRect(0, 0, w, h);
    cctx.font = "11px system-ui, sans-serif";
    cctx.strokeStyle = "#d0d7de";
    cctx.strokeRect(L + 0.5, Tp + 0.5, w - L - R, h - Tp - B);
    var hist = T.history, n = hist.length;
    cctx.fillStyle = "#59636e";
    cctx.fillText("loss", 4, 11);
    cctx.fillText("accuracy", w - 56, 11);
    if (!n) { cctx.fillText("press play or step", L + 8, Tp + 20); return; }
    var top = 0;
    hist.forEach(function (r) { if (isFinite(r[0])) top = Math.max(top, r[0]); });
    top = top || 1;
    function X(i) { return L + (n === 1 ? 0 : i / (n - 1)) * (w - L - R); }
    function line(get, scale, color, dash) {
      cctx.beginPath();
      cctx.setLineDash(dash);
      hist.forEach(function (r, i) {
        var y = Tp + (1 - get(r) / scale) * (h - Tp - B);
        if (i === 0) cctx.moveTo(X(i), y); else cctx.lineTo(X(i), y);
      });
      cctx.strokeStyle = color;
      cctx.lineWidth = 1.8;
      cctx.stroke();
      cctx.setLineDash([]);
    }
    line(function (r) { return r[1]; }, 1, "#009E73", [4, 3]);
    line(function (r) { return r[0]; }, top, "#cc3311", []);
    cctx.fillStyle = "#cc3311";
    cctx.fillText(fmt(top, 3), 4, Tp + 8);
    cctx.fillText("0", 4, h - B);
    cctx.fillStyle = "#009E73";
    cctx.fillText("100%", w - R + 3, Tp + 8);
    cctx.fillText("0%", w - R + 3, h - B);
    cctx.fillStyle = "#59636e";
    cctx.fillText("step " + n, w - R - 48, h - 5);
    cctx.fillText("1", L, h - 5);
  }

  // ---- the network ------------------------------------------------------------------------------

  var LAYERS = S.layers;
  // model node index of each neuron's output (its activation, or z when linear), by [layer][j]
  var neuronOut = LAYERS.map(function (w) { return new Array(w); });
  var neuronZ = LAYERS.map(function (w) { return new Array(w); });
  MODEL.nodes.forEach(function (node, k) {
    if (!node.neuron) return;
    var l = node.neuron[0], j = node.neuron[1] - 1;
    if (node.role === "z") neuronZ[l][j] = k;
    if (node.role === "a" || neuronOut[l][j] === undefined) neuronOut[l][j] = k;
  });
  neuronOut[0] = inputNode.slice();

  function netPositions(width) {
    var tallest = Math.max.apply(null, LAYERS), gap = Math.max(26, Math.min(46, 480 / tallest));
    var height = tallest * gap + 34, pos = [];
    LAYERS.forEach(function (w, l) {
      var x = 22 + l * (width - 100) / (LAYERS.length - 1);  // room for the last cards
      pos.push([]);
      for (var j = 0; j < w; j++) {
        pos[l].push([x, 26 + (height - 34 - w * gap) / 2 + (j + 0.5) * gap]);
      }
    });
    return {pos: pos, height: height};
  }
  function neuronName(l, j) { return l === 0 ? "x" + (j + 1) : "L" + l + ".N" + (j + 1); }
  function drawNetwork() {
    var svg = $("net"), width = Math.max(340, svg.clientWidth || 460);
    var layout = netPositions(width), pos = layout.pos;
    svg.setAttribute("viewBox", "0 0 " + width + " " + layout.height);
    svg.setAttribute("height", layout.height);
    svg.textContent = "";
    var biggest = 1e-12, j;
    for (j = 0; j < NP; j++) biggest = Math.max(biggest, Math.abs(T.params[j]));
    var edges = el("g", {}, svg);
    for (var l = 1; l < LAYERS.length; l++) {
      for (j = 0; j < LAYERS[l]; j++) {
        var zNode = MODEL.nodes[neuronZ[l][j]];
        for (var i = 0; i < LAYERS[l - 1]; i++) {
          var wNode = MODEL.nodes[zNode.args[i]], w = T.params[wNode.param];
          var a = pos[l - 1][i], b = pos[l][j];
          el("line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1],
                      "stroke-width": (0.3 + 4.2 * Math.abs(w) / biggest).toFixed(2),
                      stroke: w >= 0 ? COLORS.pos : COLORS.neg, "stroke-opacity": 0.5}, edges)
            .appendChild(el("title", {}, null, wNode.name + " = " + fmt(w, 6)));
        }
      }
    }
    var nodes = el("g", {}, svg), labels = el("g", {}, svg);
    LAYERS.forEach(function (w, l) {
      var head = l === 0 ? "inputs" : (l === LAYERS.length - 1 ? "output L" + l : "layer L" + l);
      el("text", {x: pos[l][0][0], y: 12, "text-anchor": "middle", "font-size": 11,
                  fill: "#59636e"}, nodes, head);
      for (var j = 0; j < w; j++) {
        var p = pos[l][j], k = neuronOut[l][j];
        var a = view ? view.data[k] : NaN, g = view ? view.grad[k] : NaN;
        var level = Math.round(255 - 150 * Math.min(1, Math.abs(a) || 0));
        var circle = el("circle", {cx: p[0], cy: p[1], r: 9, stroke: "#1f2328", "stroke-width": 1.2,
                                   fill: "rgb(" + level + "," + level + "," + level + ")"}, nodes);
        circle.appendChild(el("title", {}, null, neuronName(l, j) + ": a = " + fmt(a, 6) +
                              ", d loss/d a = " + fmt(g, 6) +
                              (l > 0 ? " (click: open it in the graph below)" : "")));
        if (l > 0) {
          circle.style.cursor = "pointer";
          circle.addEventListener("click", toggleNeuron.bind(null, l + "." + (j + 1)));
        }
        el("text", {x: p[0], y: p[1] + 3.5, "text-anchor": "middle", "font-size": 9.5,
                    "pointer-events": "none",
                    fill: level < 170 ? "#fff" : "#1f2328"}, nodes,
           l === 0 ? "x" + (j + 1) : "N" + (j + 1));
        // the numbers on a card beside the neuron, so the arrows behind do not cross them
        var card = el("g", {transform: "translate(" + (p[0] + 11) + "," + (p[1] - 10) + ")"},
                      labels);
        el("rect", {width: 60, height: l > 0 ? 21 : 12, rx: 3, fill: "#fff",
                    "fill-opacity": 0.9, stroke: "#d0d7de", "stroke-width": 0.6}, card);
        el("text", {x: 3, y: 9, "font-size": 9.5, fill: "#1f2328"}, card, "a " + fmt(a, 3));
        if (l > 0) {
          el("text", {x: 3, y: 19, "font-size": 9.5, fill: "#b3261e"}, card, "g " + fmt(g, 3));
        }
      }
    });
  }

  function toggleNeuron(key) {  // a neuron shown as its scalar operations, or collapsed again
    expanded[key] = !expanded[key];
    drawGraph();
  }

  // ---- the selected example's graph: layout -----------------------------------------------------

  var expanded = {};   // "l.j" of the neurons shown as their scalar operations
  function neuronKey(node) { return node.neuron ? node.neuron[0] + "." + node.neuron[1] : null; }

  // What the drawing shows for the sample graph g: boxes (a collapsed neuron, or one value)
  // and arrows between them. A box shows the data and grad of its node `out`; boxOf maps each
  // node to its box (a collapsed neuron's z too). An arrow is one edge of the graph: operand
  // i (node p) of node k. Columns: inputs 0, layer l at 2l (its parameters at 2l - 1 and z at
  // 2l - 0.5 when expanded), then the loss's nodes by depth.
  function buildScene(g) {
    var nodes = g.nodes, boxOf = new Array(g.n), boxes = [], arrows = [];
    function add(b, covers) {
      b.id = boxes.length;
      boxes.push(b);
      covers.forEach(function (k) { boxOf[k] = b.id; });
    }
    inputNode.forEach(function (k) {
      add({kind: "value", out: k, col: 0, name: nodes[k].name}, [k]);
    });
    for (var l = 1; l < LAYERS.length; l++) {
      for (var j = 0; j < LAYERS[l]; j++) {
        var zk = neuronZ[l][j], ak = neuronOut[l][j], key = l + "." + (j + 1);
        if (!expanded[key]) {
          add({kind: "neuron", key: key, out: ak, z: zk, col: 2 * l,
               name: "L" + l + ".N" + (j + 1)}, [zk, ak]);
          continue;
        }
        g.args[zk].forEach(function (p) {
          if (nodes[p].param !== undefined) {
            add({kind: "param", key: key, out: p, col: 2 * l - 1, name: nodes[p].name}, [p]);
          }
        });
        add({kind: "value", key: key, out: zk, col: 2 * l - 0.5, name: nodes[zk].name}, [zk]);
        if (ak !== zk) {
          add({kind: "value", key: key, out: ak, col: 2 * l, name: nodes[ak].name}, [ak]);
        }
      }
    }
    var depth = {}, last = 2 * (LAYERS.length - 1);  // the loss's constants are not drawn
    depth[OUT] = 0;
    nodes.forEach(function (node, k) {
      if (!node.head || node.op === null) return;
      depth[k] = 1;
      node.args.forEach(function (p) {
        if (depth[p] !== undefined) depth[k] = Math.max(depth[k], depth[p] + 1);
      });
      add({kind: "loss", out: k, col: last + depth[k], name: node.name}, [k]);
    });
    g.interior.forEach(function (k) {
      g.args[k].forEach(function (p, i) {
        var from = boxOf[p], to = boxOf[k];
        if (from !== undefined && to !== undefined && from !== to) {
          arrows.push({from: from, to: to, p: p, k: k, i: i});
        }
      });
    });
    return {boxes: boxes, arrows: arrows, boxOf: boxOf};
  }
  // Columns left to right, boxes top to bottom in each; returns the drawing's size
  function placeScene(scene) {
    var cols = {}, gapX = 34, gapY = 8;
    scene.boxes.forEach(function (b) {
      b.w = b.kind === "loss" ? 150 : 118;
      b.h = 44;
      (cols[b.col] = cols[b.col] || []).push(b);
    });
    var keys = Object.keys(cols).map(Number).sort(function (a, b) { return a - b; });
    var heights = keys.map(function (c) {
      return cols[c].reduce(function (s, b) { return s + b.h + gapY; }, 0);
    });
    var tallest = Math.max.apply(null, heights), x = 12;
    keys.forEach(function (c, n) {
      var y = 12 + (tallest - heights[n]) / 2, width = 0;
      cols[c].forEach(function (b) {
        b.x = x;
        b.y = y;
        y += b.h + gapY;
        width = Math.max(width, b.w);
      });
      x += width + gapX;
    });
    return {width: x, height: tallest + 24};
  }

  // ---- the selected example's graph: drawing, arrows, paths, step-through -----------------------

  var scene = null, stepper = null, pathTo = null;
  function shownGrad(k) {  // during a step-through: what has arrived so far
    return stepper ? stepper.grad[k] : view.grad[k];
  }
  function edgeNumbers(a) {  // the arrow's local derivative (to the box's value) and its flow
    var d = view.local[a.k][a.i], boxTo = scene.boxes[a.to];
    var outer = boxTo.out !== a.k ? view.local[boxTo.out][0] : 1;  // through a collapsed neuron
    return {local: d * outer, direct: d, flow: term(shownGrad(a.k), d)};
  }
  function drawGraph() {
    var svg = $("graph");
    svg.textContent = "";
    hideTip();  // its arrow is gone
    if (!view) { svg.setAttribute("width", 10); svg.setAttribute("height", 10); return; }
    scene = buildScene(view);
    var size = placeScene(scene);
    svg.setAttribute("width", size.width);
    svg.setAttribute("height", size.height);
    svg.setAttribute("viewBox", "0 0 " + size.width + " " + size.height);
    var onPath = pathTo !== null ? pathEdges(pathTo) : null;
    var current = stepper ? stepper.current : null;
    var edgeLayer = el("g", {}, svg), hitLayer = el("g", {}, svg), boxLayer = el("g", {}, svg);
    scene.arrows.forEach(function (a) {
      var f = scene.boxes[a.from], t = scene.boxes[a.to];
      var x1 = f.x + f.w, y1 = f.y + f.h / 2, x2 = t.x, y2 = t.y + t.h / 2, mx = (x1 + x2) / 2;
      var d = "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," +
        y2;
      var highlighted = onPath && onPath[a.p + ">" + a.k];
      var active = current !== null && a.k === current;
      el("path", {d: d, class: "edge", stroke: highlighted ? "#cc3311" : (active ? "#0969da" :
        "#8c959f"), "stroke-width": highlighted || active ? 2.4 : 1,
        "stroke-opacity": highlighted || active ? 0.95 : 0.45}, edgeLayer);
      var hit = el("path", {d: d, class: "hit"}, hitLayer);
      hit.addEventListener("mousemove", function (e) { showTip(e, arrowText(a)); });
      hit.addEventListener("mouseleave", hideTip);
    });
    scene.boxes.forEach(function (b) { drawBox(boxLayer, b, current); });
  }
  function arrowText(a) {
    var n = edgeNumbers(a), from = view.nodes[a.p].name, box = scene.boxes[a.to];
    var to = box.kind === "neuron" ? box.name : view.nodes[a.k].name;
    var lines = [from + " \u2192 " + to,
                 "local derivative d " + to + "/d " + from + " = " + fmt(n.local, 6)];
    if (box.kind === "neuron" && box.out !== a.k) {
      lines.push("  = d z/d " + from + " \u00b7 d a/d z = " + fmt(n.direct, 6) + " \u00b7 " +
                 fmt(view.local[box.out][0], 6));
    }
    lines.push("flows back: d loss/d " + view.nodes[a.k].name + " \u00b7 " + fmt(n.direct, 6) +
               " = " + fmt(n.flow, 6));
    return lines.join("\n");
  }
  function drawBox(layer, b, current) {
    var g = el("g", {class: "node", transform: "translate(" + b.x + "," + b.y + ")"}, layer);
    var k = b.out, isCurrent = current !== null && scene.boxOf[current] === b.id;
    var fill = {neuron: "#eaf2fb", value: "#f6f8fa", param: "#e9f5ec", loss: "#fbeee6"}[b.kind];
    var reached = !stepper || stepper.reached[k];
    el("rect", {width: b.w, height: b.h, rx: 6, fill: fill, stroke: isCurrent ? "#0969da" :
      (pathTo === k ? "#cc3311" : "#8c959f"), "stroke-width": isCurrent || pathTo === k ? 2.5 : 1,
      "fill-opacity": reached ? 1 : 0.45}, g);
    var title = b.kind === "neuron" ? b.name + " (" + (view.nodes[b.out].op || "") + ")" : b.name;
    var room = Math.floor((b.w - 12) / 6.7);  // characters of 11px monospace that fit
    el("text", {x: 7, y: 13, "font-size": 11, "font-weight": 700, fill: "#1f2328"}, g,
       title.length > room ? title.slice(0, room - 1) + "\u2026" : title);
    el("text", {x: 7, y: 27, "font-size": 10.5, fill: "#1f2328"}, g, "data " + fmt(view.data[k]));
    el("text", {x: 7, y: 40, "font-size": 10.5, fill: reached ? "#b3261e" : "#8c959f"}, g,
       "grad " + (reached ? fmt(shownGrad(k)) : "?"));
    g.addEventListener("click", function () { if (b.key) toggleNeuron(b.key); });
    g.appendChild(el("title", {}, null, b.kind === "neuron" ? "click to show its scalar operations"
                     : (b.key ? b.name + ": click to collapse the neuron" : b.name)));
  }

  var tip = $("tip");
  function showTip(e, text) {
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = (e.clientX + 14) + "px";
    tip.style.top = (e.clientY + 12) + "px";
  }
  function hideTip() { tip.style.display = "none"; }

  // Every path from a value up to the loss: its local derivatives multiply along it, and the
  // products add up to d loss/d value (the chain rule, path by path)
  var MAX_PATHS = 64;
  function consumers(g) {
    var users = [];
    for (var k = 0; k < g.n; k++) users.push([]);
    g.interior.forEach(function (k) {
      g.args[k].forEach(function (p, i) { users[p].push([k, i]); });
    });
    return users;
  }
  function paths(from) {
    var users = consumers(view), root = view.n - 1, count = new Float64Array(view.n), found = [];
    count[root] = 1;
    for (var k = root - 1; k >= 0; k--) {
      users[k].forEach(function (u) { count[k] += count[u[0]]; });
    }
    (function walk(k, trail) {
      if (found.length >= MAX_PATHS) return;
      if (k === root) { found.push(trail.slice()); return; }
      users[k].forEach(function (u) {
        if (count[u[0]] > 0) { trail.push(u); walk(u[0], trail); trail.pop(); }
      });
    })(from, []);
    return {paths: found, count: count[from]};
  }
  function pathEdges(from) {
    var marks = {};
    paths(from).paths.forEach(function (trail) {
      var prev = from;
      trail.forEach(function (u) { marks[prev + ">" + u[0]] = true; prev = u[0]; });
    });
    return marks;
  }
  function drawPaths() {
    var out = $("paths");
    if (pathTo === null || !view) { out.textContent = ""; return; }
    var r = paths(pathTo), total = 0, lines = [];
    r.paths.forEach(function (trail, n) {
      var product = 1, names = [view.nodes[pathTo].name], factors = [];
      trail.forEach(function (u) {
        var d = view.local[u[0]][u[1]];
        product *= d;
        factors.push(fmt(d, 5));
        names.push(view.nodes[u[0]].name);
      });
      total += product;
      lines.push("path " + (n + 1) + ": " + names.join(" \u2192 ") + "\n   " +
                 factors.join(" \u00d7 ") + " = " + fmt(product, 6));
    });
    var name = view.nodes[pathTo].name;
    lines.unshift(r.count + " path" + (r.count === 1 ? "" : "s") + " from " + name +
                  " to the loss" + (r.count > r.paths.length ? " (the first " + r.paths.length +
                  " shown)" : "") + ": the sum of their products is d loss/d " + name);
    lines.push("sum of the products = " + fmt(total, 8) + "; grad of " + name + " = " +
               fmt(view.grad[pathTo], 8));
    out.textContent = lines.join("\n");
  }

  // Backward one node at a time on the live numbers, as trace_html shows it
  function startStepper() {
    var g = view, order = g.interior.slice().reverse(), grad = new Float64Array(g.n);
    var reached = new Array(g.n).fill(false);
    grad[g.n - 1] = 1;
    reached[g.n - 1] = true;
    stepper = {order: order, pos: -1, grad: grad, reached: reached, current: g.n - 1,
               text: "seed: d loss/d loss = 1"};
  }
  function backStep() {
    if (playing || !view) return;
    if (!stepper) { startStepper(); return refresh(); }
    var s = stepper;
    s.pos += 1;
    if (s.pos >= s.order.length) {
      s.current = null;
      s.text = "done: every value has its gradient (the same as the boxes show without " +
        "step-through)";
      return refresh();
    }
    var k = s.order[s.pos], g = s.grad[k], a = view.args[k], parts = [];
    s.current = k;
    a.forEach(function (p, i) {
      var t = g === 0 ? 0 : term(g, view.local[k][i]);
      s.grad[p] += t;
      s.reached[p] = true;
      if (a.length <= 6) {
        parts.push(view.nodes[p].name + " += " + fmt(g, 5) + " \u00b7 " +
                   fmt(view.local[k][i], 5) + " = " + fmt(t, 5));
      }
    });
    s.text = "step " + (s.pos + 1) + " of " + s.order.length + ": " + view.nodes[k].name +
      " (" + view.nodes[k].op + ") has d loss/d " + view.nodes[k].name + " = " + fmt(g, 5) +
      (g === 0 ? " and passes nothing" : "; it passes it on: " + (parts.length ? parts.join("; ")
      : a.length + " operands, each += grad \u00b7 local"));
    refresh();
  }
  function stopStepper() { stepper = null; refresh(); }

  // ---- putting it on the page -------------------------------------------------------------------

  var playing = false, lastFull = 0, FULL_EVERY = 250;  // ms between redraws of the views
  // Redraw the page. While playing, the plot and the curve every frame, the network and the
  // graph (hundreds of SVG elements) a few times a second
  function refresh(live) {
    var now = performance.now();
    drawPlot();
    drawCurve();
    if (!live || now - lastFull >= FULL_EVERY) {
      lastFull = now;
      computeView();
      if (stepper && !view) stepper = null;
      drawNetwork();
      drawGraph();
      drawPaths();
    }
    $("stat-step").textContent = T.steps;
    $("stat-epoch").textContent = T.epoch;
    var last = T.history[T.history.length - 1];
    $("stat-loss").textContent = last ? fmt(last[0]) : "\u2014";
    $("stat-accuracy").textContent = last ? Math.round(100 * last[1]) + "%" : "\u2014";
    $("message").textContent = T.diverged || "";
    $("back-text").textContent = stepper ? stepper.text : "";
    $("back-stop").disabled = !stepper;
    $("back-step").disabled = playing || !view;
    var p = selected !== null ? points[selected] : null;
    $("selected-text").textContent = p ? "example " + selected + ": x = (" + fmt(p[0]) + ", " +
      fmt(p[1]) + "), class " + p[2] : "no example selected (click a point)";
  }

  function steps(n) {
    stepper = null;
    for (var i = 0; i < n; i++) if (!trainStep()) { setPlaying(false); break; }
  }
  function setPlaying(on) {
    playing = on && !T.diverged;
    var b = $("play");
    b.innerHTML = playing ? "&#10074;&#10074; pause" : "&#9654; play";
    b.setAttribute("aria-pressed", String(playing));
    if (playing) { stepper = null; requestAnimationFrame(frame); }
    refresh();
  }
  var FRAME_BUDGET = 50;  // ms of training a frame at most, so the plot keeps moving
  function frame() {
    if (!playing) return;
    var start = performance.now(), n = Number($("speed").value);
    stepper = null;
    for (var i = 0; i < n && performance.now() - start < FRAME_BUDGET; i++) {
      if (!trainStep()) { setPlaying(false); break; }
    }
    refresh(true);
    if (playing) requestAnimationFrame(frame);
  }

  function dataChanged() {  // a change to the data ends the epoch; the selection follows
    T.order = null;
    if (selected !== null && selected >= points.length) selected = points.length ? 0 : null;
    stepper = null;
  }
  function addPoint(x1, x2, label) {
    if (!(isFinite(x1) && isFinite(x2)) || (label !== 0 && label !== 1)) {
      throw new Error("addPoint(x1, x2, label) takes two finite numbers and a label 0 or 1");
    }
    points.push([x1, x2, label]);
    dataChanged();
    refresh();
    return points.length - 1;
  }
  function removePoint(i) {
    if (!(i >= 0 && i < points.length) || i !== Math.floor(i)) {
      throw new Error("removePoint(i): i must be a point's index, 0 to " + (points.length - 1));
    }
    points.splice(i, 1);
    if (selected !== null && selected > i) selected -= 1;
    else if (selected === i) selected = points.length ? Math.min(i, points.length - 1) : null;
    dataChanged();
    refresh();
  }
  function nearest(x1, x2) {
    var best = null, bd = Infinity;
    points.forEach(function (p, i) {
      var d = (p[0] - x1) * (p[0] - x1) + (p[1] - x2) * (p[1] - x2);
      if (d < bd) { bd = d; best = i; }
    });
    return {index: best, distance: Math.sqrt(bd)};
  }

  plot.addEventListener("click", function (e) {
    var r = plot.getBoundingClientRect();
    var x = fromPixel((e.clientX - r.left) * plot.width / r.width,
                      (e.clientY - r.top) * plot.height / r.height);
    var near = nearest(x[0], x[1]), close = near.distance < 10 / plot.width * box.size;
    if (e.shiftKey || $("delete-mode").checked) {
      if (near.index !== null) removePoint(near.index);
    } else if (close) {
      selected = near.index;
      stepper = null;
      refresh();
    } else {
      addPoint(x[0], x[1], Number(document.querySelector("input[name=cls]:checked").value));
    }
  });

  // ---- the page's own datasets (seeded; shaped like micrograd_nn.datasets) ----------------------

  var MAKERS = {
    moons: function (n, rng) {
      var out = [], n0 = Math.ceil(n / 2);
      for (var i = 0; i < n; i++) {
        var c = i < n0 ? 0 : 1, m = c ? n - n0 : n0;
        var t = Math.PI * (c ? i - n0 : i) / Math.max(1, m - 1);
        out.push(c ? [1 - Math.cos(t), 0.5 - Math.sin(t), 1] : [Math.cos(t), Math.sin(t), 0]);
      }
      return out;
    },
    circles: function (n) {
      var out = [], n0 = Math.ceil(n / 2);
      for (var i = 0; i < n; i++) {
        var c = i < n0 ? 0 : 1, m = c ? n - n0 : n0, t = 2 * Math.PI * (c ? i - n0 : i) / m;
        var r = c ? 0.5 : 1;
        out.push([r * Math.cos(t), r * Math.sin(t), c]);
      }
      return out;
    },
    xor: function (n, rng) {
      var signs = [[1, 1], [1, -1], [-1, -1], [-1, 1]], out = [];
      for (var i = 0; i < n; i++) {
        var s = signs[i % 4];
        out.push([s[0] * (0.1 + 0.9 * rng.random()), s[1] * (0.1 + 0.9 * rng.random()), i % 2]);
      }
      return out;
    },
    spiral: function (n) {
      var out = [], n0 = Math.ceil(n / 2);
      for (var i = 0; i < n; i++) {
        var c = i < n0 ? 0 : 1, m = c ? n - n0 : n0, r = (c ? i - n0 : i) / Math.max(1, m - 1);
        var t = 4 * r + Math.PI * c;
        out.push([r * Math.cos(t), r * Math.sin(t), c, t]);
      }
      return out;
    },
    blobs: function (n) {
      var out = [];
      for (var i = 0; i < n; i++) out.push([i % 2 ? -2 : 2, 0, i % 2]);
      return out;
    }
  };
  function makeData(name, n, noise, seed) {
    var rng = new PCG64(seed), raw = MAKERS[name](n, rng);
    var scale = name === "blobs" ? noise * 5 : noise;  // blobs: noise 0.1 is a spread of 0.5
    return raw.map(function (p) {
      if (name === "spiral") {  // jitter the angle, so the arms stay arms
        var r = Math.hypot(p[0], p[1]), t = p[3] + 2 * noise * rng.normal();
        return [r * Math.cos(t), r * Math.sin(t), p[2]];
      }
      return [p[0] + scale * rng.normal(), p[1] + scale * rng.normal(), p[2]];
    });
  }
  $("noise").addEventListener("input", function () {
    $("noise-value").textContent = Number($("noise").value).toFixed(2);
  });
  $("new-data").addEventListener("click", function () {
    var n = Math.max(2, Math.min(1000, Math.round(Number($("count").value)) || 100));
    points = makeData($("dataset").value, n, Number($("noise").value),
                      Math.max(0, Math.round(Number($("data-seed").value)) || 0));
    selected = 0;
    dataChanged();
    fitBox();
    refresh();
  });

  // ---- controls ---------------------------------------------------------------------------------

  function readSettings() {
    var lr = Number($("lr").value), momentum = Number($("momentum").value);
    var seed = Math.round(Number($("seed").value)), batch = $("batch").value;
    if (isFinite(lr) && lr >= 0) T.settings.lr = lr;
    if (isFinite(momentum) && momentum >= 0 && momentum < 1) T.settings.momentum = momentum;
    T.settings.batchSize = batch === "full" ? null : Number(batch);
    if (isFinite(seed) && seed >= 0) T.settings.seed = seed;
  }
  $("lr").value = S.lr;
  $("momentum").value = S.momentum;
  $("seed").value = S.seed;
  $("optimizer").value = S.optimizer;
  (function () {  // the batch size the page was made with, as an option
    var b = $("batch");
    if (S.batchSize !== null && !b.querySelector('option[value="' + S.batchSize + '"]')) {
      var o = document.createElement("option");
      o.value = o.textContent = String(S.batchSize);
      b.appendChild(o);
    }
    b.value = S.batchSize === null ? "full" : String(S.batchSize);
  })();
  ["lr", "momentum", "batch"].forEach(function (id) {
    $(id).addEventListener("change", function () { readSettings(); refresh(); });
  });
  $("seed").addEventListener("change", function () {
    readSettings();
    T.rng = new PCG64(T.settings.seed);
    T.order = null;
  });
  $("optimizer").addEventListener("change", function () {  // a new optimizer starts afresh
    T.settings.optimizer = $("optimizer").value;
    T.optimizer = new Optimizer(T.settings.optimizer);
    refresh();
  });
  $("play").addEventListener("click", function () { setPlaying(!playing); });
  $("step").addEventListener("click", function () { steps(1); refresh(); });
  $("reset").addEventListener("click", function () {
    setPlaying(false);
    readSettings();
    resetTraining();
    stepper = null;
    refresh();
  });
  $("back-step").addEventListener("click", backStep);
  $("back-stop").addEventListener("click", stopStepper);
  $("expand-all").addEventListener("click", function () {
    MODEL.nodes.forEach(function (node) { if (node.neuron) expanded[neuronKey(node)] = true; });
    refresh();
  });
  $("collapse-all").addEventListener("click", function () { expanded = {}; refresh(); });
  (function () {
    var select = $("path-to");
    S.labels.forEach(function (label, j) {
      var o = document.createElement("option");
      o.value = String(paramNode[j]);
      o.textContent = label;
      select.appendChild(o);
    });
    select.addEventListener("change", function () {
      pathTo = select.value === "" ? null : Number(select.value);
      if (pathTo !== null) {  // show the weight's neuron open, so its arrow can be seen
        var reader = MODEL.nodes.findIndex(function (n) {
          return n.args.indexOf(pathTo) >= 0 && n.neuron;
        });
        if (reader >= 0) expanded[neuronKey(MODEL.nodes[reader])] = true;
      }
      refresh();
    });
  })();
  // Space plays and pauses, -> steps: anywhere but in a field being typed in. On a focused
  // button, space would also press it when released: that is cancelled (keyup)
  function typing(e) {
    var tag = (e.target && e.target.tagName) || "";
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA";
  }
  document.addEventListener("keydown", function (e) {
    if (typing(e)) return;
    if (e.key === " ") {
      e.preventDefault();
      if (!e.repeat) setPlaying(!playing);
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      steps(1);
      refresh();
    }
  });
  document.addEventListener("keyup", function (e) {
    if (e.key === " " && !typing(e)) e.preventDefault();
  });

  // What playground.set accepts, with an error that says so
  function checkSettings(changes) {
    var rules = {
      lr: [function (x) { return isFinite(x) && x >= 0; }, "a finite number >= 0"],
      momentum: [function (x) { return isFinite(x) && x >= 0 && x < 1; }, "a number in [0, 1)"],
      batchSize: [function (x) { return x === null || (Number.isInteger(x) && x > 0); },
                  "null (every point) or an int > 0"],
      seed: [function (x) { return Number.isSafeInteger(x) && x >= 0; }, "an int >= 0"],
      optimizer: [function (x) { return x === "sgd" || x === "adam"; }, "'sgd' or 'adam'"]
    };
    Object.keys(changes).forEach(function (key) {
      if (!rules[key]) {
        throw new Error("playground.set: unknown setting " + key + "; known: " +
                        Object.keys(rules).join(", "));
      }
      if (typeof changes[key] !== (key === "optimizer" ? "string" : "number") &&
          changes[key] !== null || !rules[key][0](changes[key])) {
        throw new Error("playground.set: " + key + " must be " + rules[key][1] + ", got " +
                        changes[key]);
      }
    });
  }

  resetTraining();
  fitBox();
  refresh();

  // ---- the page's API, for tests and for curious readers ----------------------------------------

  window.playground = {
    step: function (n) { steps(n === undefined ? 1 : n); refresh(); return T.steps; },
    params: function () { return Array.from(T.params); },
    grads: function () { return Array.from(T.grads); },
    loss: fullLoss,
    history: function () { return T.history.map(function (r) { return r.slice(); }); },
    data: function () { return points.map(function (p) { return p.slice(0, 3); }); },
    addPoint: addPoint,
    removePoint: removePoint,
    select: function (i) {
      if (!(i >= 0 && i < points.length)) throw new Error("select(i): no point " + i);
      selected = i;
      stepper = null;
      refresh();
    },
    graph: function () {
      if (!view) return null;
      return view.nodes.map(function (node, k) {
        return {name: node.name, op: node.op, data: view.data[k], grad: view.grad[k]};
      });
    },
    settings: function () { return Object.assign({}, T.settings); },
    set: function (changes) {  // {lr, momentum, batchSize, seed, optimizer}: as the controls do
      checkSettings(changes);
      Object.assign(T.settings, changes);
      if ("optimizer" in changes) T.optimizer = new Optimizer(T.settings.optimizer);
      if ("seed" in changes) { T.rng = new PCG64(T.settings.seed); T.order = null; }
      refresh();
    },
    play: function (on) { setPlaying(on !== false); },
    fieldDraws: function () { return fieldDraws; },
    backwardStep: function () {  // one step of the step-through: the gradients arrived so far
      backStep();
      return stepper ? Array.from(stepper.grad) : null;
    },
    expand: function (key, on) { expanded[key] = on !== false; refresh(); },
    pathsTo: function (k) { pathTo = k; refresh(); return $("paths").textContent; },
    permutation: function (seed, n) { return new PCG64(seed).permutation(n); },
    where: function (i) {  // point i's place on the plot canvas, in CSS pixels from its corner
      var q = toPixel(points[i][0], points[i][1]), r = plot.getBoundingClientRect();
      return [q[0] * r.width / plot.width, q[1] * r.height / plot.height];
    },
    expanded: function () {
      return Object.keys(expanded).filter(function (k) { return expanded[k]; });
    }
  };
})();
