"""Arrow arrays to and from numpy on their buffers: pyarrow's own conversions (`pa.array`,
`Array.to_numpy`) import pandas to ask whether they are given or should give a pandas object,
and importing pandas takes longer than checking and loading an LA's returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pyarrow as pa


def numbers(array: pa.Array) -> npt.NDArray[np.generic]:
    """The values of an Arrow array of integers without missing values (not copied)."""
    width = np.dtype(f"i{array.type.bit_width // 8}")
    return np.frombuffer(array.buffers()[1], dtype=width)[array.offset:array.offset + len(array)]


def strings(array: pa.Array) -> npt.NDArray[np.object_]:
    """The values of an Arrow array of text as Python strings."""
    return np.asarray(array.to_pylist(), dtype=object)


def fixed_width(values: npt.ArrayLike, kind: pa.DataType,
                valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """Numbers as an Arrow array of `kind` (integers, or days for date32), missing where not
    `valid`."""
    import pyarrow as pa

    numbers = np.ascontiguousarray(values, dtype=f"i{kind.bit_width // 8}")
    validity = (pa.py_buffer(np.packbits(valid, bitorder="little"))
                if valid is not None and not valid.all() else None)
    return pa.Array.from_buffers(kind, len(numbers), [validity, pa.py_buffer(numbers)])


def text_array(values: npt.ArrayLike) -> pa.StringArray:
    """Text as an Arrow array."""
    import pyarrow as pa

    encoded = [str(v).encode("utf-8") for v in np.asarray(values, dtype=object)]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets),
                                       pa.py_buffer(b"".join(encoded)))
