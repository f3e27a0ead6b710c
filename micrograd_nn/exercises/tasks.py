"""The tasks of the graded exercises, in the order of the lecture: a file, a title and a hint each.

The stub a learner fills in is ``stubs/<file>``, the worked solution ``solutions/<file>``; both
ship with the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS, SOLUTIONS = HERE / "stubs", HERE / "solutions"


@dataclass(frozen=True)
class Task:
    number: int
    file: str
    title: str
    hint: str


TASKS: tuple[Task, ...] = (
    Task(1, "task1_add_mul.py", "local derivatives of + and *",
         "Nudge one operand by a small h and see how far out moves: (x + h) * y is x * y + h * y, "
         "so d(x * y)/dx is y. The other operand stays fixed."),
    Task(2, "task2_pow_exp_log.py", "local derivatives of x**n, exp and log",
         "The power rule: d(x**n)/dx = n * x**(n - 1). exp is its own derivative; "
         "d log(x)/dx = 1/x."),
    Task(3, "task3_activations.py", "local derivatives of tanh, relu and sigmoid",
         "d tanh(x)/dx = 1 - tanh(x)**2; relu passes the gradient where x > 0 and blocks it "
         "where x < 0; with s = sigmoid(x), d s/dx = s * (1 - s), s taken at x itself."),
    Task(4, "task4_value.py", "your own Value with backward() and its topological sort",
         "Each _backward must ADD (+=) its share into the operands' grad: a value used twice "
         "gets two shares. backward() must run a node's _backward only after every node that "
         "uses it has run: build the topological order (operands before results) with an "
         "explicit stack, and walk it in reverse."),
    Task(5, "task5_mlp.py", "a Neuron, a Layer and an MLP",
         "A neuron is tanh(sum of w_i * x_i, plus b); a layer is a list of neurons reading the "
         "same inputs; an MLP feeds each layer's outputs to the next one. parameters() lists "
         "every weight and bias once, in order."),
    Task(6, "task6_losses.py", "the MSE and cross-entropy losses",
         "MSE: sum the squared differences and divide by their count. Cross-entropy: the log "
         "of the sum of exp(logit), minus the target's logit (that is -log softmax); build it "
         "from Value operations so backward() reaches the logits."),
    Task(7, "task7_sgd.py", "one step of gradient descent",
         "The gradient points uphill: data -= lr * grad. Gradients add up across backward() "
         "calls, so set them back to 0 before the next one."),
    Task(8, "task8_perceptron.py", "the tutorial's perceptron, by hand",
         "Three factors, each the derivative of one line with respect to the line above it: "
         "loss = (yhat - y)**2, yhat = sigmoid(z), z = w1*x1 + w2*x2 + b. Take sigmoid's "
         "derivative at its own input z: sigmoid(z) * (1 - sigmoid(z)), which is "
         "yhat * (1 - yhat)."),
)


def task(number: int) -> Task:
    """The task numbered ``number``; ValueError naming the valid numbers otherwise."""
    for t in TASKS:
        if t.number == number:
            return t
    raise ValueError(f"there is no task {number}; the tasks are 1 to {len(TASKS)}")
