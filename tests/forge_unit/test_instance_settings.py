"""The Forge side of several instances (issue 12), with Forge's modules faked: what this Forge
can run (its checkpoint, LoRA and ControlNet lists) and its instance name."""

from __future__ import annotations

import socket
import sys
import types

from task_scheduler.core.can_run import Capabilities
from task_scheduler.forge import capabilities, settings


def _fake_forge(monkeypatch, *, port=None, nowebui=False, name="", loras=True, controlnet=True):
    modules = types.ModuleType("modules")
    checkpoint = types.SimpleNamespace(title="sub/randA.safetensors [abc123]")
    modules.sd_models = types.SimpleNamespace(checkpoints_list={"a": checkpoint})
    modules.shared = types.SimpleNamespace(
        cmd_opts=types.SimpleNamespace(port=port, nowebui=nowebui),
        opts=types.SimpleNamespace(task_scheduler_instance_name=name),
    )
    monkeypatch.setitem(sys.modules, "modules", modules)
    monkeypatch.setitem(sys.modules, "modules.sd_models", modules.sd_models)
    monkeypatch.setitem(sys.modules, "modules.shared", modules.shared)
    if loras:
        networks = types.SimpleNamespace(available_network_aliases={"detail": 1, "alias": 2})
        monkeypatch.setitem(sys.modules, "networks", networks)
    else:
        monkeypatch.delitem(sys.modules, "networks", raising=False)
    if controlnet:
        state = types.SimpleNamespace(controlnet_filename_dict={"cn_canny [1234]": "/m/c.pth"})
        monkeypatch.setitem(sys.modules, "lib_controlnet.global_state", state)
    else:
        monkeypatch.delitem(sys.modules, "lib_controlnet.global_state", raising=False)


def test_this_forge_can_run_what_its_lists_name(monkeypatch):
    _fake_forge(monkeypatch)
    assert capabilities.capabilities() == Capabilities.of(
        ["randA.safetensors"], ["detail", "alias"], ["cn_canny"]
    )


def test_a_list_whose_extension_is_not_loaded_is_unknown_never_empty(monkeypatch):
    _fake_forge(monkeypatch, loras=False, controlnet=False)
    has = capabilities.capabilities()
    assert has.loras is None
    assert has.controlnets is None
    assert "randA" in has.checkpoints


def test_the_instance_name_is_the_variable_else_the_setting_else_host_and_port(monkeypatch):
    monkeypatch.delenv(settings.INSTANCE_NAME_ENV, raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    _fake_forge(monkeypatch, port=7861)
    assert settings.instance_name() == f"{socket.gethostname()}:7861"
    _fake_forge(monkeypatch)  # no --port: Gradio's default
    assert settings.instance_name() == f"{socket.gethostname()}:7860"
    _fake_forge(monkeypatch, nowebui=True)
    assert settings.instance_name() == f"{socket.gethostname()}:7861"
    _fake_forge(monkeypatch, port=7862, name="gpu1")
    assert settings.instance_name() == "gpu1"
    monkeypatch.setenv(settings.INSTANCE_NAME_ENV, "gpu2")
    assert settings.instance_name() == "gpu2"


def test_the_data_folder_variable_overrides_the_setting(monkeypatch, tmp_path):
    _fake_forge(monkeypatch)
    paths = types.SimpleNamespace(data_path=str(tmp_path / "forge-data"))
    monkeypatch.setitem(sys.modules, "modules.paths_internal", paths)
    sys.modules["modules"].paths_internal = paths
    sys.modules["modules.shared"].opts.task_scheduler_data_dir = "elsewhere"
    monkeypatch.delenv(settings.DATA_DIR_ENV, raising=False)
    assert settings.read_settings().data_dir == str(tmp_path / "forge-data" / "elsewhere")
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "shared"))
    assert settings.read_settings().data_dir == str(tmp_path / "shared")
