"""The paper's released ~50 KB sparse-update schemes (Lin et al. 2022; table in
shared/notes/paper-facts.md) as data, and their mapping onto tflm-train's `SparseUpdate`.

Mapping, written out:
- Paper layer index k counts the CONV_2D and DEPTHWISE_CONV_2D layers from the input, 0-based,
  classifier excluded. Our `SparseUpdate.weights` keys index the trainable layers (CONV_2D,
  DEPTHWISE_CONV_2D, FULLY_CONNECTED) in graph order. In every zoo model the first N trainable
  layers are exactly the N conv/depthwise layers in input-to-output order and the classifier
  (FULLY_CONNECTED) is trainable layer N, the last one; so paper index k == our layer k.
  `check_layout` verifies this on the converted graph (kinds, count N, FC last).
- Paper `weight_update_ratio` r for `manual_weight_idx` k -> `weights[k] = r` (r = 0 kept: that
  layer's weights stay frozen, as in the paper).
- Paper `n_bias_update` b updates the biases of the last b conv layers. Our `n_bias` counts the
  last trainable layers including the classifier, so `n_bias = b + 1`.
- The classifier: the zoo models get a new 10-class head, which has to be learned for transfer,
  so its weights are trained fully (`weights[N] = 1`) besides its bias. This is our choice for
  the head; the table lists only the backbone layers.
"""
from __future__ import annotations

from dataclasses import dataclass

from tflm_train.converter.scheme import SparseUpdate


@dataclass(frozen=True)
class PaperScheme:
    paper_model: str
    # conv + depthwise layers of our zoo model: 52 for MobileNetV2-w0.35 (the paper's count),
    # 61 for ProxylessNAS-Mobile (from its published layer list), 52 for the MCUNet-like net.
    conv_layers: int
    n_bias_update: int
    manual_weight_idx: tuple[int, ...]
    weight_update_ratio: tuple[float, ...]
    note: str = ""


PAPER_SCHEMES: dict[str, PaperScheme] = {
    "mobilenetv2_w035": PaperScheme(
        "MobileNetV2-w0.35", 52, 16, (36, 39, 40, 41, 42, 45, 48, 49),
        (1, 1, 0, 1 / 4, 1 / 8, 1 / 8, 1 / 8, 1 / 8)),
    "proxylessnas_w03": PaperScheme(
        "ProxylessNAS-w0.3", 61, 21, (39, 42, 44, 45, 50, 51, 54, 57),
        (1 / 4, 1, 0, 1, 0, 1 / 8, 1 / 4, 1 / 4)),
    "mcunet_like": PaperScheme(
        "MCUNet-5FPS", 52, 20, (23, 24, 27, 30, 33, 39), (0, 1 / 4, 1 / 2, 1 / 2, 0, 0),
        note="MCUNet-5FPS's scheme on an MCUNet-like approximation: the layer indices land "
             "on layers of the same kinds and depth range, not on the same layers"),
}

CONV_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def check_layout(kinds: list[str], conv_layers: int) -> None:
    """`kinds`: the trainable layers' op kinds in graph order. Raises ValueError unless they are
    `conv_layers` conv/depthwise layers followed by one FULLY_CONNECTED."""
    convs = [k for k in kinds[:-1] if k in CONV_KINDS]
    if len(kinds) != conv_layers + 1 or len(convs) != conv_layers or \
            kinds[-1] != "FULLY_CONNECTED":
        raise ValueError(f"expected {conv_layers} conv/depthwise layers then FULLY_CONNECTED, "
                         f"got {len(kinds)} trainable layers: {kinds}")


def to_sparse_update(scheme: PaperScheme, conv_layers: int) -> SparseUpdate:
    """The paper scheme as a SparseUpdate for a model with `conv_layers` conv layers + an FC."""
    if max(scheme.manual_weight_idx) >= conv_layers:
        raise ValueError(f"{scheme.paper_model}: layer index {max(scheme.manual_weight_idx)} "
                         f"does not exist in a model with {conv_layers} conv layers")
    weights = {k: float(r) for k, r in zip(scheme.manual_weight_idx, scheme.weight_update_ratio)}
    weights[conv_layers] = 1.0  # the new classifier head
    return SparseUpdate(n_bias=scheme.n_bias_update + 1, weights=weights)


def sparse_update_for(name: str, model: bytes) -> SparseUpdate | None:
    """The paper scheme of zoo model `name` mapped onto `model`'s layers, after checking the
    layout; None for models without a paper scheme (the demo CNN)."""
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model

    scheme = PAPER_SCHEMES.get(name)
    if scheme is None:
        return None
    kinds = [op.kind for op in build_graph(read_model(model)).trainable_ops()]
    check_layout(kinds, scheme.conv_layers)
    return to_sparse_update(scheme, scheme.conv_layers)
