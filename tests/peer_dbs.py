"""Databases of the other queue extensions, built as their own code builds and writes them.

SachiraChin's sd-webui-forge-task-scheduler (commit 7cf52be4): the raw DDL of
task_scheduler/store/sqlite.py `_init_db` + `_migrate_db`, rows as `Task.to_dict()` writes them
(json.dumps of params / script_args / result_images, naive local ISO times).

Agent Scheduler (ArtVentureX, commit a3375332): the DDL SQLAlchemy emits for SQLite from
agent_scheduler/db/task.py `TaskTable` and db/app_state.py (checked by compiling the model with
SQLAlchemy's CreateTable), rows as `TaskManager.add_task` / `update_task` write them: JSON params
`{"args", "checkpoint", "vae", "is_ui", "is_img2img"}`, `script_params` = zlib(pickle(list))
— pickled here, in the test, only to make a realistic blob; product code never loads it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import sqlite3
import uuid
import zlib
from datetime import datetime, timedelta
from typing import Any

SACHIRA_DDL = [
    """
            CREATE TABLE IF NOT EXISTS tasks (
                id TEXT PRIMARY KEY,
                task_type TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending',
                priority INTEGER DEFAULT 0,
                created_at TEXT,
                started_at TEXT,
                completed_at TEXT,
                params TEXT,
                checkpoint TEXT,
                script_args TEXT,
                result_images TEXT,
                result_info TEXT,
                error TEXT,
                name TEXT,
                completed_iterations INTEGER DEFAULT 0,
                original_n_iter INTEGER DEFAULT 0
            )
        """,
    """
            CREATE INDEX IF NOT EXISTS idx_tasks_status_priority
            ON tasks (status, priority, created_at)
        """,
    """
            CREATE TABLE IF NOT EXISTS bookmarks (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                task_type TEXT NOT NULL,
                created_at TEXT,
                params TEXT,
                checkpoint TEXT,
                script_args TEXT
            )
        """,
    """
            CREATE INDEX IF NOT EXISTS idx_bookmarks_created
            ON bookmarks (created_at DESC)
        """,
    "ALTER TABLE tasks ADD COLUMN requeued_task_id TEXT",
    "ALTER TABLE tasks ADD COLUMN capture_format TEXT",
]

AGENT_DDL = [
    """
CREATE TABLE app_state (
	"key" VARCHAR(64) NOT NULL,
	value VARCHAR(255),
	PRIMARY KEY ("key")
)
""",
    """
CREATE TABLE task (
	id VARCHAR(64) NOT NULL,
	api_task_id VARCHAR(64),
	api_task_callback VARCHAR(255),
	name VARCHAR(255),
	type VARCHAR(20) NOT NULL,
	params TEXT NOT NULL,
	script_params BLOB NOT NULL,
	priority INTEGER NOT NULL,
	status VARCHAR(20) NOT NULL,
	result TEXT,
	bookmarked BOOLEAN,
	created_at DATETIME DEFAULT (datetime('now')) NOT NULL,
	updated_at DATETIME DEFAULT (datetime('now')) NOT NULL,
	PRIMARY KEY (id)
)
""",
]  # (SQLAlchemy ends these lines with a space; trimmed here)


def png_bytes(color=(10, 200, 30), size=(16, 16)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


# -- SachiraChin ---------------------------------------------------------------------------------


def make_sachira_db(folder: str, rows: list[dict[str, Any]]) -> str:
    """<folder>/task_queue.db with `rows` (dicts from `sachira_row`)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "task_queue.db")
    conn = sqlite3.connect(path)
    for statement in SACHIRA_DDL:
        conn.execute(statement)
    for row in rows:
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        conn.execute(f"INSERT INTO tasks ({columns}) VALUES ({marks})", list(row.values()))
    conn.commit()
    conn.close()
    return path


SACHIRA_LABELS = [  # _script_args_labeled as their base.py writes it (abridged layout)
    {"index": 0, "name": "arg_0", "label": "Argument 0", "script": None, "type": "unknown"},
    {"index": 1, "name": "x", "label": "X type", "script": "X/Y/Z plot", "type": "Dropdown"},
    {"index": 2, "name": "s", "label": "Steps", "script": "Sampler", "type": "Slider"},
    {"index": 3, "name": "n", "label": "Sampler", "script": "Sampler", "type": "Dropdown"},
    {"index": 4, "name": "c", "label": "Enable", "script": "ControlNet", "type": "skipped"},
    {"index": 5, "name": "fa", "label": "Enable", "script": "FreeU", "type": "Checkbox"},
    {"index": 6, "name": "fb", "label": "B1", "script": "FreeU", "type": "Slider"},
    {"index": 7, "name": "u", "label": "Enable", "script": "Unknown Ext", "type": "Checkbox"},
]
SACHIRA_SCRIPT_ARGS = [0, "Seed", 20, "Euler a", None, True, 1.01, True]


def sachira_row(task_type: str = "txt2img", **overrides: Any) -> dict[str, Any]:
    """A row as their `Task.to_dict()` makes it (legacy capture, the default format)."""
    params = {
        "prompt": "a red fox in snow",
        "negative_prompt": "blurry",
        "styles": [],
        "seed": 1234,
        "subseed": -1,
        "subseed_strength": 0,
        "seed_resize_from_h": -1,
        "seed_resize_from_w": -1,
        "sampler_name": "Euler a",
        "scheduler": "Karras",
        "batch_size": 2,
        "n_iter": 3,
        "steps": 24,
        "cfg_scale": 6.5,
        "distilled_cfg_scale": 3.5,
        "width": 640,
        "height": 448,
        "restore_faces": False,
        "tiling": False,
        "do_not_save_samples": False,
        "do_not_save_grid": False,
        "ui_settings": {"CLIP_stop_at_last_layers": 2, "forge_additional_modules": []},
        "_script_args_labeled": [
            {**label, "value": SACHIRA_SCRIPT_ARGS[label["index"]]} for label in SACHIRA_LABELS
        ],
    }
    params.update(overrides.pop("params", {}))
    for key in overrides.pop("drop_params", []):
        params.pop(key, None)
    created = overrides.pop("created", datetime(2025, 11, 2, 10, 0, 0))
    row = {
        "id": str(uuid.uuid4()),
        "task_type": task_type,
        "status": "pending",
        "priority": 0,
        "created_at": created.isoformat(),
        "started_at": None,
        "completed_at": None,
        "params": json.dumps(params),
        "checkpoint": "randA.safetensors [0123456789]",
        "script_args": json.dumps(SACHIRA_SCRIPT_ARGS),
        "result_images": json.dumps([]),
        "result_info": "",
        "error": None,
        "name": "",
        "completed_iterations": 0,
        "original_n_iter": 0,
        "requeued_task_id": None,
        "capture_format": None,
    }
    row.update(overrides)
    return row


def sachira_finished(status: str, images: list[str], **overrides: Any) -> dict[str, Any]:
    start = datetime(2025, 11, 1, 9, 0, 0)
    return sachira_row(
        status=status,
        started_at=start.isoformat(),
        completed_at=(start + timedelta(seconds=30)).isoformat(),
        result_images=json.dumps(images),
        result_info="a red fox in snow\nSteps: 24, Seed: 1234",
        **overrides,
    )


def sachira_init_image(folder: str, color=(10, 200, 30)) -> str:
    """An init image where their capture saves it: <folder>/temp_images/<uuid>.png."""
    path = os.path.join(folder, "temp_images", f"{uuid.uuid4()}.png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(png_bytes(color))
    return path


# -- Agent Scheduler -----------------------------------------------------------------------------


def make_agent_db(folder: str, rows: list[dict[str, Any]]) -> str:
    """<folder>/task_scheduler.sqlite3 with `rows` (dicts from `agent_*_row`)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "task_scheduler.sqlite3")
    conn = sqlite3.connect(path)
    for statement in AGENT_DDL:
        conn.execute(statement)
    conn.execute("INSERT INTO app_state (key, value) VALUES ('version', '2')")
    conn.execute("INSERT INTO app_state (key, value) VALUES ('queue_state', 'running')")
    for row in rows:
        row = dict(row)
        times = {k: row.pop(k) for k in ("created_at", "updated_at") if k in row}
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        conn.execute(f"INSERT INTO task ({columns}) VALUES ({marks})", list(row.values()))
        for column, value in times.items():  # what datetime('now') / update_task left there
            conn.execute(f"UPDATE task SET {column} = ? WHERE id = ?", (value, row["id"]))
    conn.commit()
    conn.close()
    return path


def agent_script_params(args: list[Any]) -> bytes:
    """Their serialize_script_args: zlib(pickle(list)). Test-only, to make a realistic blob."""
    return zlib.compress(pickle.dumps(args))


_PRIORITY = [1_700_000_000_000]


def _agent_row(task_type: str, params: dict[str, Any], script_args: list[Any], **overrides):
    _PRIORITY[0] += 1000
    row = {
        "id": str(uuid.uuid4()),
        "api_task_id": None,
        "api_task_callback": None,
        "name": None,
        "type": task_type,
        "params": json.dumps(params),
        "script_params": agent_script_params(script_args),
        "priority": _PRIORITY[0],
        "status": "pending",
        "result": None,
        "bookmarked": False,
    }
    row.update(overrides)
    return row


def agent_ui_txt2img_row(**overrides: Any) -> dict[str, Any]:
    """A UI task of A1111 1.7+ (steps / sampler / seed live in script args, so in the pickle)."""
    args = {
        "id_task": "task(abc)",
        "request": {"username": None},
        "prompt": "castle on a hill",
        "negative_prompt": "lowres",
        "prompt_styles": ["Style A"],
        "n_iter": 2,
        "batch_size": 1,
        "cfg_scale": 5.0,
        "height": 512,
        "width": 768,
        "enable_hr": True,
        "denoising_strength": 0.45,
        "hr_scale": 1.5,
        "hr_upscaler": "Latent",
        "hr_second_pass_steps": 10,
        "hr_resize_x": 0,
        "hr_resize_y": 0,
        "hr_checkpoint_name": "Use same checkpoint",
        "hr_sampler_name": "Use same sampler",
        "hr_scheduler": "Use same scheduler",
        "hr_prompt": "",
        "hr_negative_prompt": "",
        "override_settings_texts": ["Clip skip: 2"],
    }
    args.update(overrides.pop("args", {}))
    params = {
        "args": args,
        "checkpoint": overrides.pop("checkpoint", "randB.safetensors [abcdef0123]"),
        "vae": "Automatic",
        "is_ui": True,
        "is_img2img": False,
    }
    script_args = [0, 20, "DPM++ 2M", "Karras", -1, False, -1, 0, 0, 0]
    return _agent_row("txt2img", params, script_args, **overrides)


def raw_image_args(color=(40, 50, 60), size=(12, 10)) -> dict[str, Any]:
    """Their serialize_image of a PIL image: raw pixels, zlib, base64."""
    from PIL import Image

    image = Image.new("RGB", size, color)
    data = base64.b64encode(zlib.compress(image.tobytes())).decode()
    return {"size": list(size), "mode": "RGB", "data": data, "cls": "Image"}


def agent_ui_img2img_row(mode: int = 0, **overrides: Any) -> dict[str, Any]:
    images = {
        "init_img": None,
        "sketch": None,
        "init_img_with_mask": None,
        "inpaint_color_sketch": None,
        "inpaint_color_sketch_orig": None,
        "init_img_inpaint": None,
        "init_mask_inpaint": None,
    }
    if mode == 0:
        images["init_img"] = raw_image_args()
    elif mode == 4:
        images["init_img_inpaint"] = raw_image_args()
        images["init_mask_inpaint"] = raw_image_args((255, 255, 255))
    args = {
        "id_task": "task(def)",
        "request": {"username": None},
        "mode": mode,
        "prompt": "the castle in winter",
        "negative_prompt": "",
        "prompt_styles": [],
        **images,
        "mask_blur": 4,
        "mask_alpha": 0,
        "inpainting_fill": 1,
        "n_iter": 1,
        "batch_size": 1,
        "cfg_scale": 7.0,
        "image_cfg_scale": 1.5,
        "denoising_strength": 0.6,
        "selected_scale_tab": 0,
        "height": 512,
        "width": 512,
        "scale_by": 1.0,
        "resize_mode": 0,
        "inpaint_full_res": 0,
        "inpaint_full_res_padding": 32,
        "inpainting_mask_invert": 0,
        "img2img_batch_input_dir": "",
        "img2img_batch_output_dir": "",
        "img2img_batch_inpaint_mask_dir": "",
        "override_settings_texts": [],
        "img2img_batch_use_png_info": False,
        "img2img_batch_png_info_props": [],
        "img2img_batch_png_info_dir": "",
    }
    args.update(overrides.pop("args", {}))
    params = {"args": args, "checkpoint": None, "vae": "Automatic", "is_ui": True}
    params["is_img2img"] = True
    return _agent_row("img2img", params, [0, 20, "Euler", "Automatic", 77], **overrides)


def agent_api_txt2img_row(**overrides: Any) -> dict[str, Any]:
    """An API task: args is StableDiffusionTxt2ImgProcessingAPI(...).dict() minus script_args."""
    args = {
        "prompt": "api lighthouse",
        "negative_prompt": "",
        "styles": None,
        "seed": 99,
        "subseed": -1,
        "subseed_strength": 0,
        "seed_resize_from_h": -1,
        "seed_resize_from_w": -1,
        "sampler_name": "Euler",
        "scheduler": None,
        "batch_size": 1,
        "n_iter": 1,
        "steps": 12,
        "cfg_scale": 7.0,
        "width": 512,
        "height": 512,
        "restore_faces": None,
        "tiling": None,
        "do_not_save_samples": False,
        "do_not_save_grid": False,
        "eta": None,
        "denoising_strength": None,
        "override_settings": {"sd_model_checkpoint": "randA.safetensors [0123456789]"},
        "override_settings_restore_afterwards": True,
        "refiner_checkpoint": None,
        "refiner_switch_at": None,
        "disable_extra_networks": False,
        "comments": None,
        "enable_hr": False,
        "hr_scale": 2.0,
        "hr_upscaler": None,
        "sampler_index": "Euler",
        "script_name": None,
        "send_images": False,
        "save_images": True,
        "alwayson_scripts": {"FreeU": {"args": [True, 1.1]}},
    }
    args.update(overrides.pop("args", {}))
    params = {
        "args": args,
        "checkpoint": "randA.safetensors [0123456789]",
        "is_ui": False,
        "is_img2img": False,
    }
    return _agent_row("txt2img", params, [], **overrides)


def agent_api_img2img_row(**overrides: Any) -> dict[str, Any]:
    image = "data:image/png;base64," + base64.b64encode(png_bytes((1, 2, 3))).decode()
    row = agent_api_txt2img_row(args={"init_images": [image], "denoising_strength": 0.5})
    params = json.loads(row["params"])
    params["is_img2img"] = True
    row.update(type="img2img", params=json.dumps(params))
    row.update(overrides)
    return row


def peer_catalog():
    """The names a test Forge knows: FreeU and ControlNet are always-on, X/Y/Z plot is not."""
    from task_scheduler.core.services import Catalog

    scripts = ["X/Y/Z plot", "Sampler", "Seed", "FreeU", "ControlNet"]
    alwayson = ["Sampler", "Seed", "FreeU", "ControlNet"]
    return Catalog(
        samplers=["Euler", "Euler a", "DPM++ 2M"],
        schedulers=["Automatic", "Karras", "Uniform"],
        checkpoints=["randA.safetensors [0123456789]", "randB.safetensors [abcdef0123]"],
        upscalers=["Latent", "R-ESRGAN 4x+"],
        scripts={"txt2img": scripts, "img2img": scripts},
        alwayson={"txt2img": alwayson, "img2img": alwayson},
    )
