"""Every kind of value Generate receives is stored as JSON + files and comes back equal."""

from __future__ import annotations

import base64
import enum
import io
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
import pytest
from PIL import Image

from task_scheduler.core.files import FileStore
from task_scheduler.forge.values import (
    Decoder,
    Encoder,
    UnstorableValueError,
    UploadedFile,
    referenced_files,
)


class InputMode(enum.Enum):
    SIMPLE = "simple"
    BATCH = "batch"


@dataclass
class Unit:
    """Shaped like ControlNet's unit: a dataclass with enums and numpy images."""

    input_mode: InputMode = InputMode.SIMPLE
    enabled: bool = True
    image: np.ndarray | None = None
    weight: float = 1.0
    gallery: list | None = None
    extras: dict = field(default_factory=dict)


class NamedString(str):
    """Gradio 4's upload value: a str path with .name."""

    def __init__(self, *args):
        super().__init__()
        self.name = str(self)


@pytest.fixture
def store(tmp_path):
    return FileStore(tmp_path / "inputs")


@pytest.fixture
def temp_uploads(tmp_path):
    folder = tmp_path / "gradio-tmp"
    folder.mkdir()
    return folder


def roundtrip(store, value, template=None, is_upload=lambda _p: False, upload_dir=None):
    encoder = Encoder(store, is_upload)
    encoder.check(value, "the field 'x'")
    encoded = encoder.encode(value)
    text = json.dumps(encoded, allow_nan=False)  # strict JSON, as the API serves it
    decoder = Decoder(store, upload_dir)
    args = () if template is None else (template,)
    return decoder.decode(json.loads(text), *args), encoded, encoder.files


def pixels(image: Image.Image) -> bytes:
    return image.tobytes()


def random_image(mode: str, size=(17, 9)) -> Image.Image:
    rng = np.random.default_rng(7)
    if mode in ("RGB", "RGBA", "L", "LA"):
        channels = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}[mode]
        shape = (size[1], size[0], channels) if channels > 1 else (size[1], size[0])
        return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    if mode == "1":
        return random_image("L", size).point(lambda v: 255 if v > 128 else 0).convert("1")
    if mode == "P":
        return random_image("RGB", size).convert("P", palette=Image.ADAPTIVE, colors=16)
    if mode == "I":
        return Image.fromarray(rng.integers(-70000, 70000, (size[1], size[0]), dtype=np.int32), "I")
    if mode == "F":
        return Image.fromarray(rng.random((size[1], size[0]), dtype=np.float32), "F")
    raise AssertionError(mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "1", "P", "I", "F"])
def test_pil_images_come_back_with_identical_pixels_and_mode(store, mode):
    image = random_image(mode)
    back, encoded, files = roundtrip(store, image)
    assert isinstance(back, Image.Image)
    assert back.mode == mode
    assert back.size == image.size
    assert pixels(back) == pixels(image)
    assert encoded["__ts_file__"] == files[0]
    if mode == "P":
        assert back.getpalette() == image.getpalette()


def test_pil_image_text_metadata_survives(store):
    image = random_image("RGBA")
    image.info = {"parameters": "a cat\nSteps: 2", "dpi": (72, 72)}
    back, _, _ = roundtrip(store, image)
    assert back.info["parameters"] == "a cat\nSteps: 2"


def test_forge_canvas_pairs_keep_transparency_for_masks(store):
    background = random_image("RGBA")
    foreground = Image.new("RGBA", background.size, (0, 0, 0, 0))
    foreground.putpixel((3, 4), (255, 255, 255, 255))
    back, _, _ = roundtrip(store, [background, foreground])
    assert pixels(back[0]) == pixels(background)
    assert back[1].getchannel("A").getpixel((3, 4)) == 255
    assert back[1].getchannel("A").getpixel((0, 0)) == 0


@pytest.mark.parametrize(
    "array",
    [
        np.arange(4 * 5 * 4, dtype=np.uint8).reshape(4, 5, 4),
        np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3),
        np.arange(20, dtype=np.uint8).reshape(4, 5),
        np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5),
        np.array([[True, False], [False, True]]),
        np.arange(6, dtype=np.int64).reshape(1, 2, 3, 1),
    ],
    ids=["rgba-u8", "rgb-u8", "gray-u8", "float32", "bool", "int64-4d"],
)
def test_numpy_arrays_come_back_equal_in_shape_dtype_and_values(store, array):
    back, _, _ = roundtrip(store, array)
    assert back.dtype == array.dtype
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_image_shaped_uint8_arrays_are_stored_as_png(store):
    _, encoded, _ = roundtrip(store, np.zeros((8, 8, 4), dtype=np.uint8))
    assert encoded["__ts_file__"].endswith(".png")


def test_base64_canvas_strings_are_stored_as_png_files_and_rebuilt(store):
    buffer = io.BytesIO()
    random_image("RGBA").save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    back, encoded, files = roundtrip(store, data_url)
    assert back == data_url
    assert encoded["kind"] == "data_url"
    assert store.read(files[0]) == buffer.getvalue()


def test_bytes_come_back_equal(store):
    back, _, _ = roundtrip(store, b"\x00\x01binary")
    assert back == b"\x00\x01binary"


def test_batch_uploads_in_temp_folders_are_copied_and_reappear_under_their_names(
    store, temp_uploads, tmp_path
):
    uploads = []
    for width, name in ((5, "cat.png"), (6, "dog.png")):
        path = temp_uploads / name
        random_image("RGB", (width, 4)).save(path)
        uploads.append(NamedString(str(path)))
    replay_dir = tmp_path / "replay"
    back, _, files = roundtrip(store, uploads, upload_dir=str(replay_dir))
    for path in uploads:
        os.remove(path)  # Gradio's temp files vanish; the task must not need them
    assert [os.path.basename(item.name) for item in back] == ["cat.png", "dog.png"]
    assert all(isinstance(item, UploadedFile) for item in back)
    assert all(os.path.dirname(item.name) == str(replay_dir) for item in back)
    assert len(files) == 2


def test_plain_upload_paths_inside_tuples_are_copied_when_they_are_temp_files(
    store, temp_uploads, tmp_path
):
    path = temp_uploads / "control.png"
    random_image("RGB").save(path)
    gallery = [(str(path), "caption")]

    def is_upload(p):
        return p.startswith(str(temp_uploads))

    back, _, files = roundtrip(
        store, gallery, is_upload=is_upload, upload_dir=str(tmp_path / "replay")
    )
    assert isinstance(back[0], tuple)
    assert back[0][1] == "caption"
    assert type(back[0][0]) is str
    assert os.path.basename(back[0][0]) == "control.png"
    assert len(files) == 1


def test_strings_that_merely_look_like_paths_stay_strings(store):
    back, _, files = roundtrip(store, "/etc/hostname")
    assert back == "/etc/hostname"
    assert files == []


def test_controlnet_like_units_are_rebuilt_with_enums_from_the_current_default(store):
    image = np.arange(8 * 8 * 4, dtype=np.uint8).reshape(8, 8, 4)
    unit = Unit(input_mode=InputMode.BATCH, image=image, weight=0.5, gallery=[("a", "b")])
    back, encoded, _ = roundtrip(store, unit, template=Unit())
    assert "__ts_dataclass__" in encoded
    assert isinstance(back, Unit)
    assert back.input_mode is InputMode.BATCH
    np.testing.assert_array_equal(back.image, image)
    assert back.weight == 0.5
    assert back.gallery == [("a", "b")]


def test_a_unit_without_a_matching_default_comes_back_as_a_dict_of_its_fields(store):
    back, _, _ = roundtrip(store, Unit(input_mode=InputMode.BATCH), template=None)
    assert back["input_mode"] == "batch"
    assert back["enabled"] is True


def test_tuples_floats_and_marker_like_dicts_survive(store):
    value = {
        "t": (1, 2.5, "x"),
        "nan": math.nan,
        "inf": -math.inf,
        "nested": {"__ts_file__": "not a reference"},
        "scalar": np.float32(0.25),
    }
    back, _, files = roundtrip(store, value)
    assert back["t"] == (1, 2.5, "x")
    assert math.isnan(back["nan"])
    assert back["inf"] == -math.inf
    assert back["nested"] == {"__ts_file__": "not a reference"}
    assert back["scalar"] == 0.25
    assert files == []


def test_plain_json_values_are_stored_as_they_are(store):
    value = ["a", 1, 2.5, True, None, {"k": [1, 2]}]
    back, encoded, files = roundtrip(store, value)
    assert back == value
    assert encoded == value
    assert files == []


def test_an_unstorable_value_names_its_field_and_writes_nothing(store):
    encoder = Encoder(store)
    value = [random_image("RGB"), {"obj": object()}]
    with pytest.raises(UnstorableValueError) as caught:
        encoder.check(value, "the script 'ControlNet', field 'ControlNet Unit 0'")
    assert str(caught.value) == (
        "the script 'ControlNet', field 'ControlNet Unit 0'[1]['obj'] holds a object, "
        "which the queue cannot store"
    )
    assert os.listdir(store.root) == []


def test_an_upload_whose_temp_file_is_gone_is_refused(store, temp_uploads):
    gone = NamedString(str(temp_uploads / "gone.png"))
    with pytest.raises(UnstorableValueError, match="gone.png"):
        Encoder(store).check([gone], "the field 'img2img_batch_upload'")


def test_identical_images_are_stored_once_and_listed_once(store):
    image = random_image("RGB")
    encoder = Encoder(store)
    encoded = encoder.encode([image, image.copy()])
    assert encoded[0]["__ts_file__"] == encoded[1]["__ts_file__"]
    assert encoder.files == [encoded[0]["__ts_file__"]]
    assert list(referenced_files(encoded)) == [encoded[0]["__ts_file__"]] * 2
