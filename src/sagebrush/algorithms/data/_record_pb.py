"""The ``aialgs.data.Record`` protobuf message of Amazon's algorithms, built at import.

The schema is the one the sagemaker SDK ships (``sagemaker/amazon/record.proto``). The
classes come from a descriptor assembled here in a private pool, so they never clash with
the SDK's own ``record_pb2`` when both are imported in one process, and no generated code
ties us to one protobuf release. Only the wire format matters, and it is the same.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "aialgs.data"


def _field(
    message: Any,
    name: str,
    number: int,
    kind: int,
    *,
    label: int = _F.LABEL_OPTIONAL,
    type_name: str = "",
    packed: bool = False,
    oneof: int | None = None,
) -> None:
    field = message.field.add(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = f".{_PACKAGE}.{type_name}"
    if packed:
        field.options.packed = True
    if oneof is not None:
        field.oneof_index = oneof


def _tensor(file: Any, name: str, value_kind: int) -> None:
    message = file.message_type.add(name=name)
    _field(message, "values", 1, value_kind, label=_F.LABEL_REPEATED, packed=True)
    _field(message, "keys", 2, _F.TYPE_UINT64, label=_F.LABEL_REPEATED, packed=True)
    _field(message, "shape", 3, _F.TYPE_UINT64, label=_F.LABEL_REPEATED, packed=True)


def _build() -> descriptor_pool.DescriptorPool:
    file = descriptor_pb2.FileDescriptorProto(
        name="sagebrush/aialgs_record.proto", package=_PACKAGE, syntax="proto2"
    )
    _tensor(file, "Float32Tensor", _F.TYPE_FLOAT)
    _tensor(file, "Float64Tensor", _F.TYPE_DOUBLE)
    _tensor(file, "Int32Tensor", _F.TYPE_INT32)
    raw = file.message_type.add(name="Bytes")
    _field(raw, "value", 1, _F.TYPE_BYTES, label=_F.LABEL_REPEATED)
    _field(raw, "content_type", 2, _F.TYPE_STRING)
    value = file.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    _field(value, "float32_tensor", 2, _F.TYPE_MESSAGE, type_name="Float32Tensor", oneof=0)
    _field(value, "float64_tensor", 3, _F.TYPE_MESSAGE, type_name="Float64Tensor", oneof=0)
    _field(value, "int32_tensor", 7, _F.TYPE_MESSAGE, type_name="Int32Tensor", oneof=0)
    _field(value, "bytes", 9, _F.TYPE_MESSAGE, type_name="Bytes", oneof=0)
    record = file.message_type.add(name="Record")
    for entry_name, field_name, number in (
        ("FeaturesEntry", "features", 1),
        ("LabelEntry", "label", 2),
    ):
        entry = record.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        _field(entry, "key", 1, _F.TYPE_STRING)
        _field(entry, "value", 2, _F.TYPE_MESSAGE, type_name="Value")
        field = record.field.add(
            name=field_name, number=number, type=_F.TYPE_MESSAGE, label=_F.LABEL_REPEATED
        )
        field.type_name = f".{_PACKAGE}.Record.{entry_name}"
    _field(record, "uid", 3, _F.TYPE_STRING)
    _field(record, "metadata", 4, _F.TYPE_STRING)
    _field(record, "configuration", 5, _F.TYPE_STRING)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return pool


_POOL = _build()
Record: Any = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.Record"))
