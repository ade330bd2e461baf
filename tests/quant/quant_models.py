"""QONNX test models built with onnx.helper, and an independent numpy evaluator of their ONNX graphs.

`qonnx_mlp` builds x -> Quant -> [Gemm(Quant(W)) -> Relu -> Quant]* -> Gemm(Quant(W)) -> Quant with
power-of-two scales (weights optionally float scales), in the QONNX domain (or its Brevitas alias). Weight quantizers may be per tensor
or per output channel, IntQuant (any bit width, narrow) or BipolarQuant. Biases are arbitrary float32
values (Brevitas' default unquantized bias).

`numpy_eval` runs such an ONNX graph node by node in float64 straight from the protobuf, written
independently of nn2hls (the QONNX formula of the spec: clamp, then round, then rescale).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QDOMAIN = "qonnx.custom_op.general"


def _quant_node(name, x, scale, zeropt, bits, *, signed=1, narrow=0, rounding="ROUND", domain=QDOMAIN):
    inits = [numpy_helper.from_array(np.asarray(scale, np.float32), f"{name}_scale"),
             numpy_helper.from_array(np.asarray(zeropt, np.float32), f"{name}_zeropt"),
             numpy_helper.from_array(np.asarray(bits, np.float32), f"{name}_bits")]
    node = helper.make_node("Quant", [x, f"{name}_scale", f"{name}_zeropt", f"{name}_bits"], [name],
                            name=name, domain=domain, signed=signed, narrow=narrow, rounding_mode=rounding)
    return node, inits


def qonnx_mlp(sizes, *, w_bits=4, a_bits=8, w_scale_exp=3, per_channel=False, narrow=0, bipolar=False,
              in_bits=8, in_exp=4, a_exp=3, out_bits=16, out_exp=6, rounding="ROUND", seed=0,
              domain=QDOMAIN, final_quant=True, float_scale=False, a_scale=None, a_zero=0.0,
              out_scale=None) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    n_in = sizes[0]
    q, qi = _quant_node("xq", "x", 2.0 ** -in_exp, 0.0, in_bits, domain=domain, rounding=rounding)
    nodes.append(q)
    inits += qi
    h = "xq"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.normal(0, 1.0 / np.sqrt(a), size=(b, a)).astype(np.float32)  # torch layout (out, in)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        if per_channel:
            k = rng.integers(w_scale_exp - 2, w_scale_exp + 2, size=(b, 1))
            scale = (2.0 ** -k).astype(np.float32)
        else:
            scale = np.float32(2.0 ** -w_scale_exp)
        if float_scale:  # Brevitas' default: a float scale (per tensor or per output channel)
            scale = (np.asarray(scale, np.float64) * rng.uniform(0.6, 0.95, size=np.shape(scale))).astype(np.float32)
        if bipolar:
            inits.append(numpy_helper.from_array(np.asarray(scale, np.float32), f"wq{i}_scale"))
            nodes.append(helper.make_node("BipolarQuant", [f"w{i}", f"wq{i}_scale"], [f"wq{i}"], name=f"wq{i}",
                                          domain=domain))
        else:
            q, qi = _quant_node(f"wq{i}", f"w{i}", scale, 0.0, w_bits, narrow=narrow, domain=domain)
            nodes.append(q)
            inits += qi
        bias = rng.normal(0, 0.1, size=(b,)).astype(np.float32)
        inits.append(numpy_helper.from_array(bias, f"b{i}"))
        nodes.append(helper.make_node("Gemm", [h, f"wq{i}", f"b{i}"], [f"g{i}"], name=f"fc{i}", transB=1))
        last = i == len(sizes) - 2
        if not last:
            nodes.append(helper.make_node("Relu", [f"g{i}"], [f"r{i}"], name=f"relu{i}"))
            q, qi = _quant_node(f"aq{i}", f"r{i}", 2.0 ** -a_exp if a_scale is None else a_scale, a_zero, a_bits,
                                signed=0, domain=domain, rounding=rounding)
            nodes.append(q)
            inits += qi
            h = f"aq{i}"
        elif final_quant:
            q, qi = _quant_node("yq", f"g{i}", 2.0 ** -out_exp if out_scale is None else out_scale, 0.0, out_bits,
                                domain=domain)
            nodes.append(q)
            inits += qi
            h = "yq"
        else:
            h = f"g{i}"
    graph = helper.make_graph(nodes, "qmlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_in])],
                              [helper.make_tensor_value_info(h, TensorProto.FLOAT, [None, sizes[-1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(domain, 1)])
    model.ir_version = 8
    return model


# ---- independent numpy evaluation ---------------------------------------------------------------

def _round(v, mode):
    mode = mode.upper()
    if mode == "ROUND":
        return np.round(v)
    if mode == "FLOOR":
        return np.floor(v)
    if mode in ("DOWN", "ROUND_TO_ZERO"):
        return np.fix(v)
    if mode == "HALF_UP":
        return np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5))
    if mode == "HALF_DOWN":
        return np.where(v >= 0, np.ceil(v - 0.5), -np.ceil(-v - 0.5))
    raise ValueError(mode)


def numpy_eval(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    values = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    values[model.graph.input[0].name] = np.asarray(x, np.float64)
    for n in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        ins = [values[i] for i in n.input]
        if n.op_type == "Quant":
            x_, s, z, b = ins
            b = int(b)
            signed, narrow = a.get("signed", 1), a.get("narrow", 0)
            if signed:
                lo, hi = -2 ** (b - 1) + narrow, 2 ** (b - 1) - 1
            else:
                lo, hi = 0, 2 ** b - 1 - narrow
            mode = a.get("rounding_mode", b"ROUND")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            out = (_round(np.minimum(np.maximum(x_ / s + z, lo), hi), mode) - z) * s
        elif n.op_type == "BipolarQuant":
            out = np.where(ins[0] >= 0, 1.0, -1.0) * ins[1]
        elif n.op_type == "Gemm":
            w = ins[1].T if a.get("transB", 0) else ins[1]
            out = ins[0] @ w + (ins[2] if len(ins) > 2 else 0.0)
        elif n.op_type == "MatMul":
            out = ins[0] @ ins[1]
        elif n.op_type == "Add":
            out = ins[0] + ins[1]
        elif n.op_type == "Relu":
            out = np.maximum(ins[0], 0.0)
        else:
            raise NotImplementedError(n.op_type)
        values[n.output[0]] = out
    return values[model.graph.output[0].name]


def qonnx_trunc_model(version: int, *, out_bits=6, rounding="FLOOR", signed=1, narrow=0, seed=0) -> onnx.ModelProto:
    """x -> Quant(2^-4, 8 bit) -> Gemm(Quant(W, 2^-3, 4 bit), float bias) -> Trunc -> output.

    Trunc version 1 (5 inputs, domain opset 1): input bit width 16, output bit width `out_bits`, scale 2^-7.
    Version 2 (6 inputs, domain opset 2): scale 2^-7, output scale 2^-4, output bit width `out_bits`.
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    q, qi = _quant_node("xq", "x", 2.0 ** -4, 0.0, 8)
    nodes.append(q)
    inits += qi
    inits.append(numpy_helper.from_array(rng.normal(0, 0.5, size=(6, 12)).astype(np.float32), "w"))
    q, qi = _quant_node("wq", "w", 2.0 ** -3, 0.0, 4)
    nodes.append(q)
    inits += qi
    inits.append(numpy_helper.from_array(rng.normal(0, 0.3, size=(6,)).astype(np.float32), "b"))
    nodes.append(helper.make_node("Gemm", ["xq", "wq", "b"], ["g"], name="fc", transB=1))
    consts = {"t_scale": 2.0 ** -7, "t_zero": 0.0, "t_inbits": 16.0}
    names = ["g", "t_scale", "t_zero", "t_inbits"]
    if version == 1:
        consts["t_outbits"] = float(16 - 3)  # truncate 3 bits: output grid 2^-4
        names.append("t_outbits")
        attrs = dict(rounding_mode=rounding)
    else:
        consts.update(t_outscale=2.0 ** -4, t_outbits=float(out_bits))
        names += ["t_outscale", "t_outbits"]
        attrs = dict(rounding_mode=rounding, signed=signed, narrow=narrow)
    inits += [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in consts.items()]
    nodes.append(helper.make_node("Trunc", names, ["y"], name="trunc", domain=QDOMAIN, **attrs))
    graph = helper.make_graph(nodes, "qtrunc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 6])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, version)])
    model.ir_version = 8
    return model


def numpy_trunc(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """Evaluate `qonnx_trunc_model` in float64: numpy_eval up to the Gemm, then the Trunc formula of its version."""
    version = next(i.version for i in model.opset_import if i.domain == QDOMAIN)
    trunc = model.graph.node[-1]
    head = onnx.ModelProto()
    head.CopyFrom(model)
    del head.graph.node[-1]
    head.graph.output[0].name = "g"
    g = numpy_eval(head, x)
    c = {t.name: float(numpy_helper.to_array(t)) for t in model.graph.initializer if t.name.startswith("t_")}
    a = {at.name: helper.get_attribute_value(at) for at in trunc.attribute}
    mode = a["rounding_mode"].decode() if isinstance(a["rounding_mode"], bytes) else a["rounding_mode"]
    q = np.round(g / c["t_scale"] + c["t_zero"])
    if version == 1:
        t = 2.0 ** (c["t_inbits"] - c["t_outbits"])
        return (_round(q / t, mode) * t - c["t_zero"]) * c["t_scale"]
    t = 2.0 ** np.round(np.log2(c["t_outscale"] / c["t_scale"]))
    b, signed, narrow = int(c["t_outbits"]), a.get("signed", 1), a.get("narrow", 0)
    lo, hi = (-2 ** (b - 1) + narrow, 2 ** (b - 1) - 1) if signed else (0, 2 ** b - 1 - narrow)
    return (_round(np.minimum(np.maximum(q / t, lo), hi), mode) - c["t_zero"] / t) * c["t_outscale"]
