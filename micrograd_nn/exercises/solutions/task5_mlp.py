"""Task 5: a Neuron, a Layer and an MLP, built on micrograd_nn's Value.

Neuron(nin, nonlin=True): weights self.w (nin Values) and a bias self.b; neuron(x) is
tanh(w . x + b), or w . x + b when nonlin is False; parameters() is [w_1, ..., w_nin, b].
Layer(nin, nout, nonlin=True): self.neurons, nout Neurons; layer(x) is the list of their
outputs; parameters() are the neurons' parameters, neuron after neuron.
MLP(nin, nouts): self.layers, one Layer per width in nouts, each reading the previous one's
outputs; the last layer is linear (nonlin=False), the others use tanh. mlp(x) is the list of
the last layer's outputs (a list, even of one); parameters() go layer after layer.

x is a list of numbers or Values. The checker writes its own numbers into parameters().

Check your work: python -m micrograd_nn exercises check DIR --task 5
"""

import random

from micrograd_nn import Value


class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, nin, nout, nonlin=True):
        self.neurons = [Neuron(nin, nonlin) for _ in range(nout)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i < len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]
