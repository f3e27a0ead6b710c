"""Task 7: one step of gradient descent.

sgd_step(parameters, lr): move every parameter's data against its gradient, by lr times it.
zero_grad(parameters): set every parameter's grad back to 0, ready for the next backward().

Check your work: python -m micrograd_nn exercises check DIR --task 7
"""


def sgd_step(parameters, lr):
    raise NotImplementedError("task 7: sgd_step")


def zero_grad(parameters):
    raise NotImplementedError("task 7: zero_grad")
