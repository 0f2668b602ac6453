// Task Queue tab: the selected-task panel — every parameter, warnings, the full error, result
// images (click for full size), "Send to txt2img / img2img", and the entry to inline editing.
(function (TS) {
    "use strict";

    class Detail {
        constructor(app) {
            const {el} = TS.dom;
            this.app = app;
            this.taskId = null;
            this.signature = null;
            this.editor = null;
            this.body = el("div", {className: "ts-detail-body"}, [el("p", {className: "ts-empty", text: "Select a task to see its details."})]);
            this.node = el("aside", {className: "ts-detail-pane", attrs: {"aria-label": "Selected task"}}, [this.body]);
        }

        async show(taskId, options) {
            if (this.editor && this.editor.taskId !== taskId) this.editor = null;
            this.taskId = taskId;
            const request = ++this.requests;
            let opened;
            try {
                opened = await TS.api.open(taskId);
            } catch (error) {
                this.app.toast(`Could not open the task: ${error.message || error}`, "error");
                return;
            }
            if (request !== this.requests || this.taskId !== taskId) return; // a newer selection won
            const task = opened.reply.task;
            if (options.edit && task && task.status === "pending" && task.may_change !== false) {
                this.editor = new TS.Editor(this.app, task, () => this.closeEditor());
            }
            this.render(task, opened.reply, opened.images);
        }

        closeEditor() {
            this.editor = null;
            if (this.taskId) this.show(this.taskId, {});
        }

        // A refresh brought new rows: reopen the selected task only if its row changed.
        listChanged(list) {
            if (!this.taskId) return;
            const row = list.rows.find((item) => item.id === this.taskId);
            if (!row) return;
            const signature = JSON.stringify(row);
            if (signature === this.signature) return;
            this.signature = signature;
            if (this.editor) {
                this.editor.taskChanged(row);
                return;
            }
            this.show(this.taskId, {});
        }

        render(task, reply, images) {
            const {el} = TS.dom;
            if (!task) {
                this.taskId = null;
                this.app.state.selected = null;
                this.app.list.markSelected();
                this.body.replaceChildren(el("p", {className: "ts-empty", text: "That task no longer exists."}));
                return;
            }
            const heading = el("div", {className: "ts-detail-head"}, [
                el("h3", {className: "ts-detail-title", text: task.name || `${task.type} task`}),
                el("span", {className: `ts-status-badge ts-status-${task.status}`, text: task.status}),
            ]);
            const parts = [heading, this.actions(task, reply)];
            if (this.editor) parts.push(this.editor.node);
            else parts.push(this.fields(task));
            if (task.error) parts.push(el("h4", {text: "Error"}), el("pre", {className: "ts-error", text: task.error}));
            if (task.warnings.length) {
                parts.push(el("h4", {text: "Warnings"}), el("ul", {className: "ts-warnings"}, task.warnings.map((w) => el("li", {text: w}))));
            }
            parts.push(this.gallery(images, reply));
            this.body.replaceChildren(...parts);
        }

        actions(task, reply) {
            const {el} = TS.dom;
            const app = this.app;
            const button = (label, handler, extra) => el("button", {className: `ts-button ${extra || ""}`, text: label, on: {click: handler}});
            const buttons = [];
            if (task.hidden) {
                return el("div", {className: "ts-detail-actions"}, [
                    el("p", {className: "ts-note ts-hidden-note", text: `A task of ${task.owner}: its prompt and settings are hidden (Settings: "Hide other users' prompts").`}),
                ]);
            }
            if (task.may_change === false) {
                // another user's task: nothing to change here, but it can still be sent to txt2img
                buttons.push(el("span", {className: "ts-note ts-owner-note", text: `Only ${task.owner || "queue administrators"} or a queue administrator may change this task.`}));
            } else if (task.status === "pending" && !this.editor) {
                buttons.push(button("Edit", () => this.show(task.id, {edit: true}), "ts-primary"));
            }
            if (task.may_change !== false) {
                if (task.status === "running") buttons.push(button("Cancel", () => app.act({action: "cancel", id: task.id}), "ts-danger"));
                if (["completed", "failed", "cancelled"].includes(task.status)) {
                    buttons.push(button("Retry", () => app.act({action: "retry", id: task.id})));
                }
                buttons.push(button(task.bookmarked ? "Unbookmark" : "Bookmark", () => app.act({action: "bookmark", id: task.id, value: !task.bookmarked})));
            }
            for (const tab of ["txt2img", "img2img"]) {
                if (TS.sendTo.available(tab)) {
                    buttons.push(button(`Send to ${tab}`, () => TS.sendTo.send(tab, reply.infotext)));
                }
            }
            return el("div", {className: "ts-detail-actions"}, buttons);
        }

        fields(task) {
            const {el, time} = TS.dom;
            const rows = [];
            const add = (label, value, className) => {
                if (value === null || value === undefined || value === "") return;
                rows.push(el("dt", {text: label}), el("dd", {className: className || "", text: value}));
            };
            add("Prompt", task.prompt, "ts-text");
            add("Negative prompt", task.negative_prompt, "ts-text");
            add("Type", task.type);
            add("Owner", task.owner);
            add("Queue position", task.place ? `#${task.place}` : "");
            add("Priority", task.priority);
            add("Steps", task.steps);
            add("CFG scale", task.cfg_scale);
            add("Size", task.width && task.height ? `${task.width}x${task.height}` : "");
            add("Sampler", task.sampler_name);
            add("Scheduler", task.scheduler);
            add("Seed", task.seed);
            add("Result seeds", task.result_seeds.length ? task.result_seeds.join(", ") : "");
            add("Batch", task.images > 1 ? `${task.n_iter || 1} batches of ${task.batch_size || 1}` : "");
            add("Checkpoint", task.hidden ? "" : task.checkpoint || "current model");
            const hires = Object.entries(task.hires);
            if (hires.length && task.hires.enable_hr) add("Hires", hires.filter(([k]) => k !== "enable_hr").map(([k, v]) => `${k}: ${v}`).join(", "));
            add("Callback", task.callback_url ? `${task.callback_url}${task.callback_status ? ` (${task.callback_status})` : ""}` : "");
            add("Not before", task.run_after_text ? `${task.run_after_text} (server time)` : "");
            add("Waiting", task.waiting);
            add("Instance", task.instance);
            add("Created", time(task.created_at));
            add("Started", time(task.started_at));
            add("Finished", time(task.finished_at));
            const list = el("dl", {className: "ts-fields"}, rows);
            const blocks = [list];
            if (task.extensions.length) {
                blocks.push(el("h4", {text: "Extensions with arguments"}));
                for (const ext of task.extensions) {
                    blocks.push(el("details", {className: "ts-extension"}, [
                        el("summary", {text: `${ext.name}${ext.selected ? " (selected script)" : ""}`}),
                        el("pre", {text: JSON.stringify(ext.args, null, 1)}),
                    ]));
                }
            }
            return el("div", {}, blocks);
        }

        gallery(images, reply) {
            const {el} = TS.dom;
            if (!reply.images_total) return el("div");
            const thumbs = images.map((image, index) =>
                el("button", {className: "ts-thumb", title: image.caption, attrs: {"aria-label": `Open image ${index + 1} full size`},
                    on: {click: () => TS.dialogs.lightbox(this.app.root, images, index)}}, [
                    el("img", {attrs: {src: image.url, alt: image.caption, loading: "lazy"}}),
                ]));
            const note = reply.images_missing ? el("p", {className: "ts-note", text: `${reply.images_missing} image file(s) no longer exist.`}) : null;
            return el("div", {}, [el("h4", {text: `Images (${reply.images_total})`}), el("div", {className: "ts-gallery"}, thumbs), note]);
        }
    }
    Detail.prototype.requests = 0;

    // "Send to txt2img / img2img": Forge's own paste — the infotext goes into the tab's prompt
    // and its "Read generation parameters" button fills every field that can take a value.
    TS.sendTo = {
        parts(tab) {
            const container = document.getElementById(`tab_${tab}`);
            const prompt = document.querySelector(`#${tab}_prompt textarea`);
            const paste = container && container.querySelector("#paste");
            return {prompt, paste};
        },
        available(tab) {
            const {prompt, paste} = this.parts(tab);
            return Boolean(prompt && paste);
        },
        send(tab, infotext) {
            const {prompt, paste} = this.parts(tab);
            if (!prompt || !paste) return;
            const switcher = window[`switch_to_${tab}`];
            if (typeof switcher === "function") switcher();
            prompt.value = infotext;
            prompt.dispatchEvent(new Event("input", {bubbles: true}));
            paste.click();
        },
    };

    TS.Detail = Detail;
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
