// Task Queue tab: inline editing of a pending task, with a message beside each bad field.
(function (TS) {
    "use strict";

    // [field, label, kind] — kind: text, area, int, number, choice:<catalog list>
    const FIELDS = [
        ["name", "Name", "text"],
        ["priority", "Priority (lower runs first)", "int"],
        ["prompt", "Prompt", "area"],
        ["negative_prompt", "Negative prompt", "area"],
        ["steps", "Steps", "int"],
        ["cfg_scale", "CFG scale", "number"],
        ["width", "Width", "int"],
        ["height", "Height", "int"],
        ["seed", "Seed (-1 for random)", "int"],
        ["sampler_name", "Sampler", "choice:samplers"],
        ["scheduler", "Scheduler", "choice:schedulers"],
        ["checkpoint", "Checkpoint", "choice:checkpoints"],
    ];

    class Editor {
        constructor(app, task, onClose) {
            const {el} = TS.dom;
            this.app = app;
            this.taskId = task.id;
            this.onClose = onClose;
            this.inputs = {};
            this.errors = {};
            const rows = FIELDS.map(([name, label, kind]) => {
                const input = this.input(name, kind, task);
                const error = el("span", {className: "ts-field-error", attrs: {id: `ts-error-${name}`, role: "alert"}});
                input.setAttribute("aria-describedby", error.id);
                input.setAttribute("aria-label", label);
                input.name = name;
                this.inputs[name] = input;
                this.errors[name] = error;
                return el("label", {className: `ts-edit-field ts-edit-${kind.split(":")[0]}`}, [el("span", {text: label}), input, error]);
            });
            this.banner = el("p", {className: "ts-edit-banner", attrs: {hidden: true, role: "alert"}});
            this.save = el("button", {className: "ts-button ts-primary", text: "Save", attrs: {type: "submit"}});
            const cancel = el("button", {className: "ts-button", text: "Cancel", attrs: {type: "button"}, on: {click: () => this.onClose()}});
            this.node = el("form", {className: "ts-editor", attrs: {"aria-label": "Edit task", novalidate: true}, on: {submit: (e) => this.submit(e)}}, [
                this.banner,
                el("div", {className: "ts-edit-grid"}, rows),
                el("div", {className: "ts-dialog-buttons"}, [cancel, this.save]),
            ]);
        }

        input(name, kind, task) {
            const {el} = TS.dom;
            const value = task[name] === null || task[name] === undefined ? "" : String(task[name]);
            if (kind === "area") return el("textarea", {attrs: {rows: 3}, text: value});
            if (kind.startsWith("choice:")) {
                const known = (task.choices && task.choices[kind.slice(7)]) || [];
                const options = known.includes(value) || value === "" ? known : [value, ...known];
                // "" means Forge's default; a task that names a value can only change it.
                const blank = name === "checkpoint" || value === "";
                const select = el("select", {}, [
                    blank ? el("option", {text: name === "checkpoint" ? "(model loaded when it runs)" : "(default)", attrs: {value: ""}}) : null,
                    ...options.map((option) => el("option", {text: option, attrs: {value: option}})),
                ]);
                select.value = value;
                return select;
            }
            const mode = kind === "int" ? "numeric" : kind === "number" ? "decimal" : "text";
            return el("input", {attrs: {type: "text", inputmode: mode, value}});
        }

        // Quick checks before asking the server (which checks everything again).
        localError(name, value) {
            const kind = FIELDS.find((f) => f[0] === name)[2];
            if (kind === "int" && !/^-?\d+$/.test(value.trim())) return "must be a whole number";
            if (kind === "number" && (value.trim() === "" || !isFinite(Number(value)))) return "must be a number";
            return "";
        }

        showError(name, message) {
            const input = this.inputs[name];
            TS.dom.setText(this.errors[name] || this.banner, message);
            if (!this.errors[name]) this.banner.hidden = !message;
            if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
        }

        async submit(event) {
            event.preventDefault();
            const fields = {};
            let firstBad = null;
            this.showError("_", "");
            for (const [name] of FIELDS) {
                const value = this.inputs[name].value;
                const problem = this.localError(name, value);
                this.showError(name, problem);
                if (problem && !firstBad) firstBad = name;
                fields[name] = value;
            }
            if (firstBad) {
                this.inputs[firstBad].focus();
                return;
            }
            this.save.disabled = true;
            const reply = await this.app.act({action: "edit", id: this.taskId, fields}, {silent: true});
            this.save.disabled = false;
            if (reply.ok) {
                this.app.toast(reply.message, "info");
                this.onClose();
                return;
            }
            if (reply.field && this.inputs[reply.field]) {
                this.showError(reply.field, reply.error);
                this.inputs[reply.field].focus();
            } else {
                this.showError("_", reply.error);
            }
        }

        // The task moved on (started, cancelled, deleted) while being edited.
        taskChanged(row) {
            if (row.status !== "pending") {
                this.save.disabled = true;
                this.banner.hidden = false;
                TS.dom.setText(this.banner, `This task is now ${row.status}; it can no longer be edited.`);
            }
        }
    }

    TS.Editor = Editor;
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
