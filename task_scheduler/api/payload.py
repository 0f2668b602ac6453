"""sdapi payloads as the queue keeps them: checked against Forge's names, images moved to files.

A queued API task stores the body of a ``/sdapi/v1/txt2img|img2img`` request unchanged, except
that base64 images (``init_images``, ``mask`` and images anywhere inside ``alwayson_scripts``,
e.g. ControlNet units) are written to the FileStore and replaced by a *file reference*::

    {"__ts_file__": "<sha256>.png"}                                    # was plain base64
    {"__ts_file__": "<sha256>.png", "prefix": "data:image/png;base64,"}  # was a data URL

`restore_images` turns references back into base64 strings that decode to the same bytes, so a
replay hands Forge what the client sent. References are only ever resolved against the task's
own `files` list and the FileStore's plain-name check: a reference can never name a path.
Nothing here imports Forge.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.files import FileStore
from ..core.services import Catalog

FILE_REF = "__ts_file__"
MAX_DEPTH = 64  # nesting deeper than this is not a generation payload

# Forge's hires-fix "same as first pass" choices (modules/ui.py) are not catalog names.
_SAME_SAMPLER = ("Use same sampler",)
_SAME_SCHEDULER = ("Use same scheduler",)
_SAME_CHECKPOINT = ("Use same checkpoint",)
_IMAGE_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}
_MIN_EMBEDDED_IMAGE_CHARS = 32  # shorter strings inside script args are never images


Loc = tuple[str | int, ...]


class FieldError(ValueError):
    """Invalid input, with the location of the offending field (e.g. ("init_images", 0))."""

    def __init__(self, loc: Loc, message: str):
        super().__init__(f"{'.'.join(str(part) for part in loc)}: {message}")
        self.loc = loc
        self.message = message


# -- JSON sanity -------------------------------------------------------------------------------


def check_json(
    value: Any, loc: Loc = (), *, allow_file_refs: bool = False, max_text: int | None = None
) -> None:
    """Raise FieldError for what JSON decoding lets through but storage or replies cannot hold.

    Rejects non-finite numbers, strings that are not valid Unicode (lone surrogates), nesting
    deeper than MAX_DEPTH, strings longer than `max_text` characters (if given), and (unless
    `allow_file_refs`, for imports) our reserved FILE_REF key: a client must not forge
    references.
    """
    stack: list[tuple[Any, Loc]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if len(where) - len(loc) > MAX_DEPTH:
            raise FieldError(where, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, float) and not math.isfinite(item):
            raise FieldError(where, "must be a finite number")
        if isinstance(item, str):
            _check_text(item, where, max_text)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(str(key), (*where, str(key)), max_text)
                if key == FILE_REF and not allow_file_refs:
                    raise FieldError((*where, key), "is a reserved key")
                stack.append((child, (*where, str(key))))
        elif isinstance(item, list):
            stack.extend((child, (*where, index)) for index, child in enumerate(item))


def _check_text(text: str, loc: Loc, max_text: int | None = None) -> None:
    if max_text is not None and len(text) > max_text:
        raise FieldError(loc, f"is {len(text):,} characters long; at most {max_text:,} are taken")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(loc, "is not valid Unicode text") from None


# -- names Forge knows -------------------------------------------------------------------------


def sampler_known(name: str, catalog: Catalog) -> bool:
    """Whether Forge resolves `name` to a real sampler (a scheduler suffix is allowed).

    Forge's sdapi accepts "DPM++ 2M Karras" as sampler "DPM++ 2M" with scheduler "Karras"
    (sd_samplers.get_sampler_and_scheduler), so the same split is accepted here.
    """
    if name in catalog.samplers:
        return True
    for scheduler in catalog.schedulers:
        suffix = " " + scheduler
        if name.endswith(suffix) and name[: -len(suffix)] in catalog.samplers:
            return True
    return False


def script_known(name: str, task_type: str, catalog: Catalog) -> bool:
    """Forge matches script names case-insensitively against script titles."""
    titles = {title.lower() for title in catalog.scripts.get(task_type, [])}
    return name.lower() in titles


def resolve_checkpoint(name: Any, catalog: Catalog, loc: Loc) -> str:
    """The catalog's name for a requested checkpoint; "" (or None) means "whatever is loaded"."""
    if name is None or name == "":
        return ""
    if not isinstance(name, str):
        raise FieldError(loc, "must be a string")
    resolved = catalog.resolve_checkpoint(name)
    if resolved is None:
        raise FieldError(loc, f"unknown checkpoint {name!r}{_known(catalog.checkpoints)}")
    return resolved


def check_names(task_type: str, payload: dict[str, Any], catalog: Catalog) -> None:
    """Raise FieldError for a sampler, scheduler, upscaler, checkpoint or script Forge lacks.

    Forge's sdapi silently replaces an unknown sampler or scheduler by the default one and
    drops an unknown checkpoint override; a queue that runs later must refuse them up front.
    """
    for key in ("sampler_name", "sampler_index"):
        _check_listed(payload, key, catalog, sampler_known, "sampler", catalog.samplers)
    _check_member(payload, "scheduler", catalog.schedulers, "scheduler")
    _check_listed(
        payload, "hr_sampler_name", catalog, sampler_known, "sampler", catalog.samplers,
        _SAME_SAMPLER,
    )  # fmt: skip
    _check_member(payload, "hr_scheduler", catalog.schedulers, "scheduler", _SAME_SCHEDULER)
    if payload.get("enable_hr"):
        _check_member(payload, "hr_upscaler", catalog.upscalers, "upscaler")
    hr_checkpoint = payload.get("hr_checkpoint_name")
    if hr_checkpoint not in (None, "", *_SAME_CHECKPOINT):
        resolve_checkpoint(hr_checkpoint, catalog, ("hr_checkpoint_name",))
    overrides = payload.get("override_settings")
    if isinstance(overrides, dict) and "sd_model_checkpoint" in overrides:
        resolve_checkpoint(
            overrides["sd_model_checkpoint"], catalog, ("override_settings", "sd_model_checkpoint")
        )
    script_name = payload.get("script_name")
    if script_name not in (None, "") and not script_known(script_name, task_type, catalog):
        raise FieldError(("script_name",), f"unknown {task_type} script {script_name!r}")
    for title, entry in (payload.get("alwayson_scripts") or {}).items():
        if not script_known(title, task_type, catalog):
            raise FieldError(("alwayson_scripts", title), f"unknown {task_type} script {title!r}")
        if not isinstance(entry, dict):
            raise FieldError(("alwayson_scripts", title), 'must be an object like {"args": []}')
        if "args" in entry and not isinstance(entry["args"], list):
            raise FieldError(("alwayson_scripts", title, "args"), "must be a list")


def _check_listed(payload, key, catalog, known, kind, names, allowed=()) -> None:
    value = payload.get(key)
    if value in (None, "", *allowed):
        return
    if not isinstance(value, str) or not known(value, catalog):
        raise FieldError((key,), f"unknown {kind} {value!r}{_known(names)}")


def _check_member(payload, key, names, kind, allowed=()) -> None:
    value = payload.get(key)
    if value in (None, "", *allowed):
        return
    if value not in names:
        raise FieldError((key,), f"unknown {kind} {value!r}{_known(names)}")


def _known(names: list[str], shown: int = 12) -> str:
    if not names:
        return " (Forge reports none)"
    listed = ", ".join(repr(name) for name in names[:shown])
    return f" (known: {listed}{', ...' if len(names) > shown else ''})"


# -- images ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageLimits:
    """What one request's images may cost (from Settings: max_image_pixels, max_images)."""

    max_pixels: int = 64 * 1024 * 1024
    max_images: int = 64


@dataclass
class ExtractedImages:
    """A payload whose images became file references, and the files they refer to.

    Nothing is written until `save`: a request that fails validation later stores nothing.
    """

    payload: dict[str, Any]
    limits: ImageLimits = field(default_factory=ImageLimits)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # name -> (bytes, ext)
    count: int = 0  # images found, repeats included (each is decoded by Forge at run time)

    @property
    def names(self) -> list[str]:
        return sorted(self.files)

    def count_only(self, loc: Loc) -> None:
        """Count an image kept in the payload as sent; FieldError past `max_images`."""
        self.count += 1
        if self.count > self.limits.max_images:
            raise FieldError(loc, f"more than {self.limits.max_images} images in one task")

    def save(self, store: FileStore) -> None:
        """Write every file (content-addressed, so saving twice is harmless)."""
        for name, (data, ext) in self.files.items():
            if store.put(data, ext) != name:
                raise RuntimeError(f"file store named {name} differently")

    def add(self, loc: Loc, data: bytes, ext: str) -> str:
        """Keep one image's bytes; FieldError once there are more than `max_images`."""
        self.count_only(loc)
        name = FileStore.name_for(data, ext)
        self.files[name] = (data, ext)
        return name


def extract_images(
    task_type: str, payload: dict[str, Any], limits: ImageLimits | None = None
) -> ExtractedImages:
    """The payload with its base64 images replaced by file references (see module docstring).

    img2img's ``init_images`` and ``mask`` must be images (FieldError otherwise); http(s) URLs
    stay as they are (Forge fetches them at run time, as sdapi would). Inside
    ``alwayson_scripts`` any string that is strict base64 of an image is moved; other strings
    stay. Images are checked from their headers only, never decoded: each must be within
    `limits.max_pixels` and pass Pillow's integrity check, and a task may carry at most
    `limits.max_images` of them (FieldError naming the image otherwise).
    """
    result = ExtractedImages(payload=dict(payload), limits=limits or ImageLimits())
    if task_type == "img2img":
        images = payload.get("init_images")
        if images is not None:
            if not isinstance(images, list):
                raise FieldError(("init_images",), "must be a list of base64 images")
            if len(images) > result.limits.max_images:  # before decoding any of them
                raise FieldError(
                    ("init_images",), f"more than {result.limits.max_images} images in one task"
                )
            result.payload["init_images"] = [
                _required_image(item, ("init_images", index), result)
                for index, item in enumerate(images)
            ]
        if payload.get("mask") not in (None, ""):
            result.payload["mask"] = _required_image(payload["mask"], ("mask",), result)
    if isinstance(payload.get("alwayson_scripts"), dict):
        result.payload["alwayson_scripts"] = _embedded(
            payload["alwayson_scripts"], ("alwayson_scripts",), result
        )
    return result


def _required_image(value: Any, loc: Loc, result: ExtractedImages) -> Any:
    if not isinstance(value, str):
        raise FieldError(loc, "must be a base64-encoded image")
    if value.startswith(("http://", "https://")):
        return value
    ref = _image_ref(value, loc, result, strict=False)
    if ref is None:
        raise FieldError(loc, "is not a base64-encoded image Pillow can read")
    return ref


def _embedded(value: Any, loc: Loc, result: ExtractedImages) -> Any:
    if isinstance(value, dict):
        return {key: _embedded(child, (*loc, key), result) for key, child in value.items()}
    if isinstance(value, list):
        return [_embedded(child, (*loc, index), result) for index, child in enumerate(value)]
    if isinstance(value, str) and len(value) >= _MIN_EMBEDDED_IMAGE_CHARS:
        ref = _image_ref(value, loc, result, strict=True)
        return value if ref is None else ref
    return value


def _image_ref(
    text: str, loc: Loc, result: ExtractedImages, *, strict: bool
) -> dict[str, str] | None:
    """Decode like Forge's decode_base64_to_image; keep the bytes when they are an image.

    None when `text` is not an image, or when `strict` (script args, where most strings are
    text) and `text` is not strict base64: such a string stays as it was sent, so a stored
    value always restores to the very string sent. It is still checked and counted when Forge
    would read an image from it (base64 wrapped over lines, say), so no image escapes the
    limits by its spelling.
    """
    prefix, encoded = "", text
    if text.startswith("data:image/"):
        head, comma, rest = text.partition(",")
        if not comma:
            return None
        prefix, encoded = head + ",", rest
    exact = True
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        exact = False
        try:
            data = base64.b64decode(encoded)  # what Forge does: skips non-base64 characters
        except (binascii.Error, ValueError):
            return None
    ext = checked_image(data, loc, result.limits.max_pixels)
    if ext is None:
        return None
    if strict and not exact:
        result.count_only(loc)
        return None
    ref = {FILE_REF: result.add(loc, data, ext)}
    if prefix:
        ref["prefix"] = prefix
    return ref


def checked_image(data: bytes, loc: Loc, max_pixels: int) -> str | None:
    """The file extension for image bytes, None when Pillow does not recognise them.

    Reads the header only (Image.open) and checks the file's structure (verify) without
    decoding a pixel, so the cost is bounded by the bytes given, never by the image's size.
    Raises FieldError when the image is larger than `max_pixels` or broken.
    """
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # Pillow's own limit (unless Forge turned it off)
        raise FieldError(loc, f"is larger than {_pixels(max_pixels)}") from None
    except Exception:  # Pillow raises many types for bad data; all mean "not an image"
        return None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise FieldError(
                loc, f"is {width} x {height} pixels, larger than {_pixels(max_pixels)}"
            )
        try:
            image.verify()
        except Exception:
            raise FieldError(loc, f"is a broken {image.format} image") from None
        return _IMAGE_EXTENSIONS.get(image.format or "", "png")


def _pixels(count: int) -> str:
    return f"the limit of {count:,} pixels ({count / 2**20:g} MP)"


def image_extension(data: bytes, max_pixels: int = ImageLimits.max_pixels) -> str | None:
    """The file extension for image bytes within `max_pixels` (header check), else None."""
    try:
        return checked_image(data, (), max_pixels)
    except FieldError:
        return None


def file_refs(value: Any) -> Iterator[str]:
    """Every file name referenced anywhere inside `value`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = item.get(FILE_REF)
            if isinstance(name, str):
                yield name
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def restore_images(value: Any, store: FileStore, allowed: list[str]) -> Any:
    """A copy of `value` with every file reference replaced by its base64 string.

    Only names in `allowed` (the task's own files) are read; any other reference raises
    ValueError, so a stored payload can never make a replay read another file.
    """
    if isinstance(value, dict):
        name = value.get(FILE_REF)
        if isinstance(name, str):
            if name not in allowed:
                raise ValueError(f"file reference {name!r} is not one of the task's files")
            encoded = base64.b64encode(store.read(name)).decode("ascii")
            return str(value.get("prefix", "")) + encoded
        return {key: restore_images(child, store, allowed) for key, child in value.items()}
    if isinstance(value, list):
        return [restore_images(child, store, allowed) for child in value]
    return value
