"""Losses with data: any differentiable loss, and losses linear in x through Ax."""

from ._attention import (
    Attention as Attention,
    AttentionFactors as AttentionFactors,
    AttentionParams as AttentionParams,
    attention_init as attention_init,
    digits_tokens as digits_tokens,
)
from ._base import (
    AbstractLinearProblem as AbstractLinearProblem,
    AbstractProblem as AbstractProblem,
    require_linear as require_linear,
)
from ._linear_regression import (
    LinearRegression as LinearRegression,
    random_regression as random_regression,
)
from ._lora import (
    LoRALinear as LoRALinear,
    LoRAMLP as LoRAMLP,
    lora_init as lora_init,
    lora_regression as lora_regression,
)
from ._matrix_sensing import (
    MatrixSensing as MatrixSensing,
    random_sensing as random_sensing,
)
from ._relu_neuron import ReluNeuron as ReluNeuron
from ._sparse_coding import (
    SparseCoding as SparseCoding,
    random_sparse_coding as random_sparse_coding,
)
from ._two_layer_relu import (
    TwoLayerReLU as TwoLayerReLU,
    relu_teacher_student as relu_teacher_student,
)
