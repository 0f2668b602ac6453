// Task Queue tab: the status line (worker state, progress, queue estimate) and the controls.
(function (TS) {
    "use strict";

    class Status {
        constructor(app) {
            const {el} = TS.dom;
            this.app = app;
            this.state = el("span", {className: "ts-state"});
            this.progressText = el("span", {className: "ts-progress-text"});
            this.bar = el("div", {className: "ts-bar-fill"});
            // The running task's live preview (Forge's own, at its preview period).
            this.preview = el("img", {className: "ts-preview", attrs: {alt: "Live preview of the running task", hidden: true}});
            this.previewSeen = -1;
            this.previewTask = null;
            this.progress = el("div", {className: "ts-progress", attrs: {hidden: true}}, [
                this.preview,
                el("div", {className: "ts-bar", attrs: {role: "progressbar", "aria-label": "Running task progress"}}, [this.bar]),
                this.progressText,
            ]);
            this.estimate = el("span", {className: "ts-estimate"});
            // Why the queue waits (run windows / scheduled start, server time) and the way past it.
            this.waiting = el("span", {className: "ts-waiting", attrs: {hidden: true}});
            // Several Forges sharing this queue (shown only when more than one is live)
            this.instances = el("span", {className: "ts-instances", attrs: {hidden: true}});
            const button = (label, title, handler, extra) =>
                el("button", {className: `ts-button ${extra || ""}`, text: label, title, on: {click: handler}});
            this.startButton = button("Start", "Start running the queue", () => {
                TS.dialogs.prepareNotifications(app.settings());
                app.act({action: "start"});
            }, "ts-primary");
            this.stopButton = button("Stop", "Stop after the current task", () => app.act({action: "stop"}));
            this.runNowButton = button("Run now anyway", "Start tasks now, outside the run window, until the next window opens or Stop", () => {
                TS.dialogs.prepareNotifications(app.settings());
                app.act({action: "run_now"});
            }, "ts-run-now");
            this.runNowButton.hidden = true;
            // The queue-wide controls, offered only to whom may use them (status.access.may_control)
            this.adminControls = [
                this.startButton,
                this.runNowButton,
                this.stopButton,
                button("Retry failed", "Queue every failed task again", () => app.act({action: "retry_failed"}), "ts-retry-failed"),
                button("Clear completed", "Delete completed tasks from the history (bookmarked ones stay)", () =>
                    app.act({action: "clear", statuses: ["completed"]}, {confirm: "Delete all completed tasks from the history?", confirmLabel: "Clear"}), "ts-clear"),
                button("Import from another queue…", "Bring over the queue of sd-webui-forge-task-scheduler (SachiraChin) or Agent Scheduler", () => TS.peerImport.open(app), "ts-import-open"),
            ];
            // Who is signed in (with --gradio-auth), and whether they administer the queue
            this.user = el("span", {className: "ts-user", attrs: {hidden: true}});
            this.controls = el("div", {className: "ts-controls"}, [
                ...this.adminControls.slice(0, 5),
                button("Refresh", "Reload the list now", () => app.refresh(true)),
                this.adminControls[5],
                this.user,
            ]);
            this.node = el("header", {className: "ts-header"}, [
                el("div", {className: "ts-status-line"}, [this.state, this.estimate, this.waiting, this.instances]),
                this.progress,
                this.controls,
            ]);
        }

        render(status, previous) {
            const {setText, duration, toggleClass} = TS.dom;
            const counts = status.counts;
            const active = counts.pending + counts.running;
            if (status.running) {
                const total = status.session_done + active;
                setText(this.state, `Running (${status.session_done}/${total} tasks)`);
            } else {
                setText(this.state, status.current ? "Stopping after the current task" : "Stopped");
            }
            const schedule = status.schedule || {};
            if (schedule.waiting && !status.current) setText(this.state, status.running ? "Waiting" : "Stopped");
            let why = "";
            if (schedule.waiting) why = `${schedule.reason} (server time, ${schedule.time_zone})`;
            else if (schedule.run_anyway) why = "Running outside the run window (Run now anyway)";
            setText(this.waiting, why);
            this.waiting.hidden = !why;
            const instances = status.instances || {live: [], waiting: 0};
            let shared = "";
            if (instances.live.length > 1) {
                const names = instances.live.map((i) => `${i.name}${i.name === instances.this ? " (this one)" : ""}${i.busy ? " ▶" : ""}`);
                shared = `Instances: ${names.join(", ")}`;
                if (instances.waiting) shared += ` · ${instances.waiting} pending ${instances.waiting === 1 ? "task" : "tasks"} no instance can run (see its details)`;
            }
            setText(this.instances, shared);
            this.instances.hidden = !shared;
            const access = status.access || {may_control: true};
            for (const control of this.adminControls) control.hidden = !access.may_control;
            this.runNowButton.hidden = !schedule.waiting || !access.may_control;
            this.user.hidden = !access.auth;
            setText(this.user, access.auth ? `Signed in as ${access.user}${access.admin ? " (queue administrator)" : ""}` : "");
            toggleClass(this.state, "ts-is-running", status.running);
            this.startButton.disabled = status.running;
            this.stopButton.disabled = !status.running;

            const current = status.current;
            this.progress.hidden = !current;
            const runningId = current ? current.id : null;
            if (runningId !== this.previewTask) { // another task: its previews start afresh
                this.previewTask = runningId;
                this.renderPreview(null);
            }
            if (current) {
                const parts = [];
                if (current.text) parts.push(current.text);
                if (current.total_steps) parts.push(`Step ${current.step}/${current.total_steps}`);
                if (current.total_images > 1) parts.push(`Image ${Math.min(current.image + 1, current.total_images)}/${current.total_images}`);
                if (current.eta !== null && current.eta !== undefined) parts.push(`ETA ${duration(current.eta)}`);
                setText(this.progressText, `${current.label || "Running task"} — ${parts.join(" · ")}`);
                const share = Status.share(current);
                this.bar.style.width = `${Math.round(share * 100)}%`;
                this.bar.parentElement.setAttribute("aria-valuenow", String(Math.round(share * 100)));
            }
            const pendingText = `${counts.pending} pending`;
            let left = "";
            if (status.estimate !== null && status.estimate !== undefined) {
                left = ` · about ${duration(status.estimate)} left`;
                // The finishing time on this computer's clock; not while a run window holds the queue.
                if (!schedule.waiting) left += `, done around ${Status.clock(status.estimate)}`;
            }
            setText(this.estimate, active ? `${pendingText}${left}` : "Queue empty");

            if (previous && previous.running && previous.counts.pending + previous.counts.running > 0 && active === 0 && !current) {
                TS.dialogs.queueEmptied(this.app, status.session_done);
            }
        }

        // `preview`: null (no running task, or not asked), {id, image: null} (unchanged) or a
        // newer image as a data: URL.
        renderPreview(preview) {
            if (!preview) {
                this.previewSeen = -1;
                this.preview.hidden = true;
                this.preview.removeAttribute("src");
                return;
            }
            if (preview.image) {
                this.preview.src = preview.image;
                this.previewSeen = preview.id;
                this.preview.hidden = false;
            }
        }

        offline(message) {
            TS.dom.setText(this.state, `Cannot reach the server (${message}); retrying…`);
        }

        // The wall-clock time `seconds` from now, as the browser shows hours and minutes.
        static clock(seconds) {
            return new Date(Date.now() + seconds * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
        }

        // Share of the running task done, from steps and images.
        static share(current) {
            if (!current.total_steps) return 0;
            const images = Math.max(current.total_images || 1, 1);
            const done = (Math.min(current.image, images) + current.step / current.total_steps) / images;
            return Math.max(0, Math.min(1, done));
        }
    }

    TS.Status = Status;
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
