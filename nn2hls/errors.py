"""The one exception hierarchy of nn2hls.

Every error a user can cause is an `Nn2hlsError` whose message is one line that names the file,
node, layer or option at fault and says what to do. The command line prints it as `error: ...` and
exits 2; anything else escaping is a bug in nn2hls.
"""
from __future__ import annotations


class Nn2hlsError(Exception):
    """Base class of all errors nn2hls reports to users."""


class FixedTypeError(Nn2hlsError, ValueError):
    """A malformed or unsupported fixed-point type string or parameter."""


class ModelLoadError(Nn2hlsError):
    """A model file is missing, corrupt, or in a format nn2hls does not read."""


class UnsupportedOpError(Nn2hlsError):
    """A model uses an operator, layer or attribute value nn2hls does not support."""


class GraphError(Nn2hlsError):
    """The IR graph is inconsistent (shape mismatch, dangling value, missing type)."""


class ConfigError(Nn2hlsError):
    """A configuration key or value is invalid."""


class InputDataError(Nn2hlsError):
    """Input data (X.npy, calibration data) has the wrong shape, dtype or content."""


class FloatReferenceError(Nn2hlsError):
    """The float reference (onnxruntime, Keras, PyTorch) cannot evaluate the model on the samples."""


class BuildError(Nn2hlsError):
    """The C++ compiler failed or is missing."""


class OutputExistsError(Nn2hlsError):
    """An output path exists and --force was not given."""
