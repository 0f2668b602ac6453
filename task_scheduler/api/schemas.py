"""Request and response models of the /task-scheduler REST API (shown in Forge's /docs).

The enqueue bodies mirror Forge's ``StableDiffusionProcessingTxt2Img`` / ``...Img2Img`` API
models field for field (modules/api/models.py): every field optional, same types, unknown fields
kept (Forge ignores them), so any body ``/sdapi/v1/txt2img|img2img`` accepts is accepted here.
Extra fields belong to the queue: ``checkpoint`` (or ``checkpoints``: one task per checkpoint),
``priority``, ``name``, ``callback_url``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .responses import (  # noqa: F401 (the API's models, one import place)
    Cleared,
    ConflictOut,
    Enqueued,
    ErrorOut,
    Imported,
    InstanceOut,
    ProgressOut,
    QueueOut,
    RunningOut,
    TaskOut,
    TaskPageOut,
)
from .schedule_schemas import WHEN_DESCRIPTION

Number = Annotated[float, Field(allow_inf_nan=False)]  # JSON has no NaN; never store one

QUEUE_FIELDS = ("checkpoint", "checkpoints", "priority", "name", "callback_url", "run_after")
MAX_GROUP_CHECKPOINTS = 100
PRIORITY_LIMIT = 1_000_000
Status = Literal["pending", "running", "completed", "failed", "cancelled"]

_TXT2IMG_EXAMPLE = {
    "prompt": "a lighthouse at dusk, oil painting",
    "negative_prompt": "blurry",
    "steps": 20,
    "sampler_name": "Euler a",
    "scheduler": "Automatic",
    "cfg_scale": 7,
    "width": 512,
    "height": 512,
    "seed": 1234,
    "checkpoint": "randA.safetensors",
    "priority": 0,
    "name": "lighthouse",
}


class QueueFields(BaseModel):
    """What the queue adds to an sdapi body; removed before the body is stored."""

    checkpoint: str | None = Field(
        default=None,
        description="Checkpoint to switch to before running (title, file name or stem as "
        "Forge lists them). Empty or absent: whatever is loaded when the task runs.",
        examples=["randA.safetensors"],
    )
    checkpoints: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_GROUP_CHECKPOINTS,
        description="Queue the same task once per checkpoint (names as for `checkpoint`; "
        "not together with it): the reply is the group and its tasks, which the tab shows "
        "together and /task-scheduler/groups/{group_id} cancels, retries or deletes at once.",
        examples=[["randA.safetensors", "randB.safetensors"]],
    )
    priority: int = Field(
        default=0,
        ge=-PRIORITY_LIMIT,
        le=PRIORITY_LIMIT,
        description="Lower runs first; equal priorities run first in, first out.",
    )
    name: str = Field(default="", max_length=200, description="A label shown in the queue.")
    callback_url: str | None = Field(
        default=None,
        max_length=2000,
        description="http(s) URL that receives a JSON POST when the task ends "
        "(completed, failed or cancelled). Default: the callback URL in Settings.",
        examples=["http://127.0.0.1:9000/hook"],
    )
    run_after: str | float | None = Field(
        default=None, description="Not before this moment. " + WHEN_DESCRIPTION
    )


class _SdapiCommon(QueueFields):
    model_config = ConfigDict(extra="allow")

    prompt: str | None = Field(default=None, description="Positive prompt.")
    negative_prompt: str | None = Field(default=None, description="Negative prompt.")
    styles: list[str] | None = Field(default=None, description="Saved prompt styles to apply.")
    seed: int | None = Field(default=None, description="-1 picks a random seed at run time.")
    subseed: int | None = None
    subseed_strength: Number | None = None
    seed_resize_from_h: int | None = None
    seed_resize_from_w: int | None = None
    sampler_name: str | None = Field(
        default=None, description="A sampler Forge lists (/sdapi/v1/samplers); checked."
    )
    sampler_index: str | None = Field(default=None, description="Legacy alias of sampler_name.")
    scheduler: str | None = Field(
        default=None, description="A scheduler Forge lists (/sdapi/v1/schedulers); checked."
    )
    batch_size: int | None = None
    n_iter: int | None = Field(default=None, description="Batch count.")
    steps: int | None = None
    cfg_scale: Number | None = None
    distilled_cfg_scale: Number | None = None
    width: int | None = None
    height: int | None = None
    restore_faces: bool | None = None
    tiling: bool | None = None
    do_not_save_samples: bool | None = None
    do_not_save_grid: bool | None = None
    eta: Number | None = None
    denoising_strength: Number | None = None
    s_min_uncond: Number | None = None
    s_churn: Number | None = None
    s_tmax: Number | None = None
    s_tmin: Number | None = None
    s_noise: Number | None = None
    override_settings: dict[str, Any] | None = Field(
        default=None, description="Forge options applied for this task only."
    )
    override_settings_restore_afterwards: bool | None = None
    refiner_checkpoint: str | None = None
    refiner_switch_at: Number | None = None
    disable_extra_networks: bool | None = None
    firstpass_image: str | None = None
    comments: dict[str, Any] | None = None
    force_task_id: str | None = None
    script_name: str | None = Field(
        default=None, description="Title of a selectable script (e.g. 'X/Y/Z plot'); checked."
    )
    script_args: list[Any] | None = Field(default=None, description="Args of `script_name`.")
    send_images: bool | None = Field(
        default=None, description="Accepted for compatibility; results are kept as files."
    )
    save_images: bool | None = Field(
        default=None,
        description="Accepted for compatibility; queued results are always saved so they "
        "can be fetched later.",
    )
    alwayson_scripts: dict[str, Any] | None = Field(
        default=None,
        description='Always-on script args by script title: {"ControlNet": {"args": [...]}}. '
        "Images inside are kept as files until the task runs.",
    )
    infotext: str | None = Field(
        default=None, description="Generation parameters text; fills unset fields."
    )


class Txt2ImgRequest(_SdapiCommon):
    """A /sdapi/v1/txt2img body plus the queue's fields."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_TXT2IMG_EXAMPLE]})

    enable_hr: bool | None = Field(default=None, description="Hires. fix.")
    firstphase_width: int | None = None
    firstphase_height: int | None = None
    hr_scale: Number | None = None
    hr_upscaler: str | None = Field(
        default=None, description="An upscaler or latent mode Forge lists; checked."
    )
    hr_second_pass_steps: int | None = None
    hr_resize_x: int | None = None
    hr_resize_y: int | None = None
    hr_checkpoint_name: str | None = None
    hr_additional_modules: list[Any] | None = None
    hr_sampler_name: str | None = None
    hr_scheduler: str | None = None
    hr_prompt: str | None = None
    hr_negative_prompt: str | None = None
    hr_cfg: Number | None = None
    hr_distilled_cfg: Number | None = None


class Img2ImgRequest(_SdapiCommon):
    """A /sdapi/v1/img2img body plus the queue's fields."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "prompt": "the same scene in winter",
                    "init_images": ["iVBORw0KGgoAAAANSUhEUgAA...(base64 PNG)"],
                    "denoising_strength": 0.6,
                    "steps": 20,
                    "seed": 1234,
                }
            ]
        },
    )

    init_images: list[Any] | None = Field(
        default=None, description="Base64 (or data URL) images; required by Forge to run."
    )
    mask: str | None = Field(default=None, description="Base64 inpaint mask.")
    resize_mode: int | None = None
    image_cfg_scale: Number | None = None
    mask_blur_x: int | None = None
    mask_blur_y: int | None = None
    mask_blur: int | None = None
    mask_round: bool | None = None
    inpainting_fill: int | None = None
    inpaint_full_res: bool | None = None
    inpaint_full_res_padding: int | None = None
    inpainting_mask_invert: int | None = None
    initial_noise_multiplier: Number | None = None
    latent_mask: str | None = None
    include_init_images: bool | None = None
    hr_distilled_cfg: Number | None = None


# -- other request bodies ----------------------------------------------------------------


class TaskEdit(BaseModel):
    """Changes to a pending task; absent fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"prompt": "a red lighthouse", "steps": 30}]},
    )

    prompt: str = Field(default=None, max_length=100_000)
    negative_prompt: str = Field(default=None, max_length=100_000)
    steps: int = Field(default=None, ge=1, le=10_000)
    seed: int = Field(default=None, ge=-1, le=2**63 - 1)
    cfg_scale: Number = Field(default=None, ge=0, le=1000)
    width: int = Field(default=None, ge=1, le=65_536)
    height: int = Field(default=None, ge=1, le=65_536)
    sampler_name: str = Field(default=None, description="Checked against Forge's samplers.")
    scheduler: str = Field(default=None, description="Checked against Forge's schedulers.")
    checkpoint: str = Field(default=None, description='"" = whatever is loaded.')
    name: str = Field(default=None, max_length=200)
    priority: int = Field(default=None, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    callback_url: str = Field(default=None, max_length=2000, description='"" = none.')
    run_after: str | float | None = Field(
        default=None, description="Not before this moment; null: at its turn. " + WHEN_DESCRIPTION
    )


class MoveRequest(BaseModel):
    """Where to move a pending task: exactly one of `to` or `before`."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"to": "top"}, {"before": "<task id>"}]}
    )

    to: Literal["top", "bottom", "up", "down"] | None = None
    before: str | None = Field(default=None, description="Id of a pending task to go before.")


class ClearRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statuses: list[Literal["completed", "failed", "cancelled"]] = Field(
        default=["completed"], min_length=1, description="Which finished tasks to delete."
    )


class ExportedTask(BaseModel):
    """One task in an export document (no status or results: it is queued anew)."""

    model_config = ConfigDict(extra="forbid")

    task_type: Literal["txt2img", "img2img"]
    params: dict[str, Any]
    script_args: dict[str, Any] = Field(default_factory=dict)
    checkpoint: str = ""
    name: str = Field(default="", max_length=200)
    priority: int = Field(default=0, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    callback_url: str | None = Field(default=None, max_length=2000)
    files: list[str] = Field(default_factory=list)
    group_id: str | None = Field(
        default=None,
        max_length=100,
        description="Tasks with the same value were one group; the import links them as a new "
        "group (with a new group id).",
    )


class ExportDocument(BaseModel):
    """Pending tasks with their input files embedded (base64), for another Forge."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["sd-forge-task-scheduler"] = "sd-forge-task-scheduler"
    version: Literal[1] = 1
    exported_at: float = 0.0
    tasks: list[ExportedTask] = Field(max_length=10_000)
    files: dict[str, str] = Field(
        default_factory=dict, description="File name -> base64 content, shared by the tasks."
    )
