"""Turning captured Generate values into JSON plus input files, and back.

Values Gradio hands to Generate are mostly JSON already (str, int, float, bool, None, lists).
The rest is stored as a JSON *marker* object:

* ``{"__ts_file__": name, "kind": "pil", "mode": "RGBA", "info": {...}}`` — a PIL image, stored
  as PNG (or as ``.npy`` for modes PNG cannot hold exactly), ``info`` keeps its text metadata.
* ``{"__ts_file__": name, "kind": "ndarray"}`` — a numpy array: PNG for 8-bit image-shaped
  arrays (ControlNet images and masks), ``.npy`` (never pickled) for anything else numeric.
* ``{"__ts_file__": name, "kind": "data_url"}`` — a ``data:image/png;base64,...`` string
  (what ForgeCanvas sends before preprocessing), stored as the PNG it encodes.
* ``{"__ts_file__": name, "kind": "bytes"}`` — raw bytes.
* ``{"__ts_file__": name, "kind": "upload", "filename": "cat.png", "named": true}`` — a path
  to an uploaded file in a temporary folder (img2img batch upload, gallery uploads): the file
  is copied, and at replay it reappears under its original file name.
* ``{"__ts_tuple__": [...]}``, ``{"__ts_float__": "nan"}``, ``{"__ts_dict__": {...}}`` (a dict
  whose own keys look like markers), ``{"__ts_enum__": "InputMode", "value": ...}`` and
  ``{"__ts_dataclass__": "ControlNetUnit", "fields": {...}}``.

Enums and dataclasses are rebuilt only from a *template* (the current default value of the same
argument), never by importing a class named in stored data. Without a matching template an enum
comes back as its value and a dataclass as a dict of its fields.

Anything else cannot be stored: `find_unstorable` names it before anything is written, so a
failed capture leaves no files behind.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import io
import math
import os
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np
from PIL import Image

FILE_KEY = "__ts_file__"
TUPLE_KEY = "__ts_tuple__"
FLOAT_KEY = "__ts_float__"
DICT_KEY = "__ts_dict__"
ENUM_KEY = "__ts_enum__"
DATACLASS_KEY = "__ts_dataclass__"
MARKER_KEYS = frozenset({FILE_KEY, TUPLE_KEY, FLOAT_KEY, DICT_KEY, ENUM_KEY, DATACLASS_KEY})

DATA_URL_PREFIX = "data:image/png;base64,"
# PIL modes a PNG file gives back exactly as they were.
PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
_MAX_DEPTH = 64


class UnstorableValueError(ValueError):
    """A captured value has a type the queue cannot store as JSON + files."""

    def __init__(self, where: str, value: Any):
        self.where = where
        self.type_name = type(value).__name__
        super().__init__(f"{where} holds a {self.type_name}, which the queue cannot store")


class FileSink(Protocol):
    """Where captured files go (task_scheduler.core.files.FileStore fits)."""

    def put(self, data: bytes, ext: str) -> str: ...


class FileSource(Protocol):
    """Where stored files are read from at replay."""

    def path(self, name: str) -> str: ...


class UploadedFile(str):
    """A path string that also has ``.name`` (what Gradio's NamedString gives Forge)."""

    name: str

    def __new__(cls, path: str) -> UploadedFile:
        value = super().__new__(cls, path)
        value.name = path
        return value


# -- what is storable ------------------------------------------------------------------------


def find_unstorable(value: Any, where: str, is_upload: Callable[[str], bool]) -> None:
    """Raise UnstorableValueError naming the first part of `value` that cannot be stored."""
    _walk(value, where, is_upload, 0)


def _walk(value: Any, where: str, is_upload: Callable[[str], bool], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise UnstorableValueError(where + " (nested too deeply)", value)
    if isinstance(value, str) and hasattr(value, "name") and not os.path.isfile(value.name):
        raise UnstorableValueError(f"{where} (uploaded file {value.name!r} is gone)", value)
    if _is_leaf(value) or isinstance(value, Image.Image | bytes | enum.Enum):
        return
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise UnstorableValueError(where, value)
        return
    if isinstance(value, np.generic):
        if not isinstance(value.item(), bool | int | float | str):
            raise UnstorableValueError(where, value)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]", is_upload, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnstorableValueError(f"{where} (a key)", key)
            _walk(item, f"{where}[{key!r}]", is_upload, depth + 1)
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _walk(getattr(value, item.name), f"{where}.{item.name}", is_upload, depth + 1)
        return
    raise UnstorableValueError(where, value)


def _is_leaf(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


# -- encoding --------------------------------------------------------------------------------


class Encoder:
    """Encodes captured values, writing images and uploads to `sink`.

    `is_upload(path)` says whether a string is a path to an uploaded temporary file that must
    be copied (the Forge side knows Gradio's temporary folders). `files` collects the names
    written, for the task's `files` list.
    """

    def __init__(self, sink: FileSink, is_upload: Callable[[str], bool] = lambda _path: False):
        self.sink = sink
        self.is_upload = is_upload
        self.files: list[str] = []

    def check(self, value: Any, where: str) -> None:
        find_unstorable(value, where, self.is_upload)

    def encode(self, value: Any) -> Any:
        """The JSON form of a value that `check` accepted."""
        if isinstance(value, str):
            return self._encode_str(value)
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {FLOAT_KEY: repr(value)}
        if isinstance(value, np.generic):
            return self.encode(value.item())
        if isinstance(value, enum.Enum):
            return {ENUM_KEY: type(value).__name__, "value": self.encode(value.value)}
        if isinstance(value, Image.Image):
            return self._encode_image(value)
        if isinstance(value, np.ndarray):
            return self._encode_array(value)
        if isinstance(value, bytes):
            return self._file(value, "bin", "bytes")
        if isinstance(value, tuple):
            return {TUPLE_KEY: [self.encode(item) for item in value]}
        if isinstance(value, list):
            return [self.encode(item) for item in value]
        if isinstance(value, dict):
            encoded = {key: self.encode(item) for key, item in value.items()}
            return {DICT_KEY: encoded} if MARKER_KEYS & set(encoded) else encoded
        if dataclasses.is_dataclass(value):
            fields = {
                f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
            return {DATACLASS_KEY: type(value).__name__, "fields": fields}
        raise UnstorableValueError("value", value)  # `check` rejects these first

    def _file(self, data: bytes, ext: str, kind: str, **extra: Any) -> dict[str, Any]:
        name = self.sink.put(data, ext)
        if name not in self.files:
            self.files.append(name)
        return {FILE_KEY: name, "kind": kind, **extra}

    def _encode_str(self, value: str) -> Any:
        if value.startswith(DATA_URL_PREFIX):
            try:
                data = base64.b64decode(value[len(DATA_URL_PREFIX) :], validate=True)
            except (binascii.Error, ValueError):
                return value
            return self._file(data, "png", "data_url")
        named = isinstance(getattr(value, "name", None), str)  # Gradio's NamedString
        path = value.name if named else value
        if (named or self.is_upload(path)) and os.path.isfile(path):
            with open(path, "rb") as handle:
                data = handle.read()
            return self._file(
                data, _safe_ext(path), "upload", filename=os.path.basename(path), named=named
            )
        return str(value)

    def _encode_image(self, image: Image.Image) -> dict[str, Any]:
        info = {k: v for k, v in (image.info or {}).items() if isinstance(v, str)}
        if image.mode in PNG_MODES:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return self._file(buffer.getvalue(), "png", "pil", mode=image.mode, info=info)
        array = np.asarray(image)
        return self._file(_npy_bytes(array), "npy", "pil", mode=image.mode, info=info)

    def _encode_array(self, array: np.ndarray) -> dict[str, Any]:
        if _png_safe_array(array):
            buffer = io.BytesIO()
            Image.fromarray(array).save(buffer, format="PNG")
            return self._file(buffer.getvalue(), "png", "ndarray", shape=list(array.shape))
        return self._file(_npy_bytes(array), "npy", "ndarray", shape=list(array.shape))


def _png_safe_array(array: np.ndarray) -> bool:
    """8-bit arrays of shape (H, W) or (H, W, 2|3|4): PNG gives them back bit for bit."""
    if array.dtype != np.uint8 or array.size == 0:
        return False
    if array.ndim == 2:
        return True
    return array.ndim == 3 and array.shape[2] in (2, 3, 4)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _safe_ext(path: str) -> str:
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    return ext if ext.isalnum() and 0 < len(ext) <= 8 else "bin"


# -- decoding --------------------------------------------------------------------------------


class Decoder:
    """Rebuilds stored values for a replay.

    `source.path(name)` locates stored files; `upload_dir` is a folder (per task) where stored
    uploads reappear under their original names; the caller removes it after the task.
    """

    def __init__(self, source: FileSource, upload_dir: str | None = None):
        self.source = source
        self.upload_dir = upload_dir

    def decode(self, value: Any, template: Any = dataclasses.MISSING) -> Any:
        """The Python value for a stored one; `template` (a current default) rebuilds types."""
        if isinstance(value, list):
            items = template if isinstance(template, list | tuple) else ()
            return [self.decode(v, _at(items, i)) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if FILE_KEY in value:
            return self._decode_file(value)
        if TUPLE_KEY in value:
            items = template if isinstance(template, list | tuple) else ()
            return tuple(self.decode(v, _at(items, i)) for i, v in enumerate(value[TUPLE_KEY]))
        if FLOAT_KEY in value:
            return float(value[FLOAT_KEY])
        if DICT_KEY in value:
            return self._decode_dict(value[DICT_KEY], template)
        if ENUM_KEY in value:
            return self._decode_enum(value, template)
        if DATACLASS_KEY in value:
            return self._decode_dataclass(value, template)
        return self._decode_dict(value, template)

    def _decode_dict(self, value: dict[str, Any], template: Any) -> dict[str, Any]:
        items = template if isinstance(template, dict) else {}
        return {k: self.decode(v, items.get(k, dataclasses.MISSING)) for k, v in value.items()}

    def _decode_enum(self, value: dict[str, Any], template: Any) -> Any:
        raw = self.decode(value.get("value"))
        if isinstance(template, enum.Enum) and type(template).__name__ == value[ENUM_KEY]:
            try:
                return type(template)(raw)
            except ValueError:
                return raw
        return raw

    def _decode_dataclass(self, value: dict[str, Any], template: Any) -> Any:
        stored = value.get("fields", {})
        same_type = (
            dataclasses.is_dataclass(template)
            and not isinstance(template, type)
            and type(template).__name__ == value[DATACLASS_KEY]
        )
        if not same_type:
            return {k: self.decode(v) for k, v in stored.items()}
        fields = {f.name: f for f in dataclasses.fields(template)}
        decoded = {
            name: self.decode(raw, getattr(template, name, dataclasses.MISSING))
            for name, raw in stored.items()
            if name in fields
        }
        init = {k: v for k, v in decoded.items() if fields[k].init}
        rebuilt = dataclasses.replace(template, **init)
        for name, item in decoded.items():
            if not fields[name].init:
                setattr(rebuilt, name, item)
        return rebuilt

    def _decode_file(self, ref: dict[str, Any]) -> Any:
        name = ref[FILE_KEY]
        path = self.source.path(name)
        kind = ref.get("kind")
        if kind == "pil":
            return _load_image(path, ref)
        if kind == "ndarray":
            return _load_array(path)
        if kind == "data_url":
            with open(path, "rb") as handle:
                return DATA_URL_PREFIX + base64.b64encode(handle.read()).decode("ascii")
        if kind == "bytes":
            with open(path, "rb") as handle:
                return handle.read()
        if kind == "upload":
            copy = self._materialize(path, ref.get("filename") or name)
            return UploadedFile(copy) if ref.get("named") else copy
        raise ValueError(f"stored file {name}: unknown kind {kind!r}")

    def _materialize(self, path: str, filename: str) -> str:
        if self.upload_dir is None:
            return path
        filename = os.path.basename(filename) or "upload"
        os.makedirs(self.upload_dir, exist_ok=True)
        target = os.path.join(self.upload_dir, filename)
        stem, ext = os.path.splitext(filename)
        counter = 1
        while os.path.exists(target):  # two uploads with one name: keep both
            counter += 1
            target = os.path.join(self.upload_dir, f"{stem}-{counter}{ext}")
        with open(path, "rb") as src, open(target, "wb") as dst:
            dst.write(src.read())
        return target


def _at(items: Any, index: int) -> Any:
    return items[index] if index < len(items) else dataclasses.MISSING


def _load_image(path: str, ref: dict[str, Any]) -> Image.Image:
    if path.endswith(".npy"):
        image = Image.fromarray(np.load(path, allow_pickle=False), ref.get("mode"))
    else:
        with Image.open(path) as opened:
            opened.load()
            image = opened.copy()
        wanted = ref.get("mode")
        if wanted and image.mode != wanted:
            image = image.convert(wanted)
    # PNG decoding restores binary metadata (transparency); text metadata comes from the ref
    image.info = {**(image.info or {}), **(ref.get("info") or {})}
    return image


def _load_array(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    with Image.open(path) as opened:
        return np.array(opened)


def referenced_files(value: Any) -> Iterable[str]:
    """Every stored file name a JSON value refers to."""
    if isinstance(value, list):
        for item in value:
            yield from referenced_files(item)
    elif isinstance(value, dict):
        if isinstance(value.get(FILE_KEY), str):
            yield value[FILE_KEY]
        for item in value.values():
            yield from referenced_files(item)
