// Task Queue tab: the app. Finds the tab's mount point, lays out the parts (status, list,
// detail), and keeps them fresh by polling a cheap version counter: the list is fetched only
// when the queue changed. Parts: task_scheduler_{api,dom,dialogs,status,list,detail,editor}.js.
(function (TS) {
    "use strict";

    const FAST_POLL_MS = 1000; // tab on screen
    const BACKGROUND_POLL_MS = 4000; // another tab on screen (still notices the queue emptying)
    const HIDDEN_POLL_MS = 15000; // browser tab hidden

    class App {
        constructor(mount) {
            this.mount = mount;
            this.state = {
                view: {filter: "all", owner: "everyone", search: "", limit: 50, offset: 0},
                selected: null,
                seen: null,
                status: null,
                list: null,
                dragging: false,
            };
            this.timer = null;
            this.inFlight = false;
            this.again = false;
            TS.api.configure(mount);
            this.build();
        }

        build() {
            const {el} = TS.dom;
            this.toasts = el("div", {className: "ts-toasts", attrs: {role: "status", "aria-live": "polite"}});
            this.conflicts = new Conflicts();
            this.status = new TS.Status(this);
            this.list = new TS.TaskList(this);
            this.detail = new TS.Detail(this);
            this.footer = el("footer", {className: "ts-footer"});
            const body = el("div", {className: "ts-body"}, [this.list.node, this.detail.node]);
            this.root = el("div", {className: "ts-app"}, [this.conflicts.node, this.status.node, body, this.footer, this.toasts]);
            this.mount.replaceChildren(this.root);
        }

        // Carry out an action and refresh. Options: confirm (question asked first when the
        // setting says so), quiet (toast only failures), silent (no toast: the caller shows it).
        async act(request, options) {
            const opts = options || {};
            if (opts.confirm && this.settings().confirm_delete) {
                const ok = await TS.dialogs.confirm(this.root, opts.confirm, opts.confirmLabel || "Delete");
                if (!ok) return {ok: false, cancelled: true};
            }
            let reply;
            try {
                reply = await TS.api.act(request);
            } catch (error) {
                reply = {ok: false, error: String(error.message || error)};
            }
            if (!opts.silent && (!opts.quiet || !reply.ok)) {
                this.toast(reply.ok ? reply.message : reply.error, reply.ok ? "info" : "error");
            }
            this.refresh(true);
            return reply;
        }

        settings() {
            return (this.state.status && this.state.status.settings) || {};
        }

        select(taskId, options) {
            if (this.state.selected !== taskId) {
                this.state.selected = taskId;
                this.list.markSelected();
            }
            this.detail.show(taskId, options || {});
        }

        setView(changes) {
            Object.assign(this.state.view, changes);
            this.refresh(true);
        }

        toast(message, kind) {
            if (!message) return;
            const {el} = TS.dom;
            const note = el("div", {className: `ts-toast ts-toast-${kind || "info"}`, text: message});
            this.toasts.append(note);
            setTimeout(() => note.remove(), kind === "error" ? 8000 : 4000);
        }

        // Poll now; `force` also fetches the list even if the version did not move.
        refresh(force) {
            if (force) this.forceNext = true;
            if (this.inFlight) {
                this.again = true;
                return;
            }
            clearTimeout(this.timer);
            this.tick();
        }

        async tick() {
            this.inFlight = true;
            const force = Boolean(this.forceNext);
            this.forceNext = false;
            try {
                const preview = this.wantsPreview() ? {seen: this.status.previewSeen} : null;
                const reply = await TS.api.poll({seen: force ? null : this.state.seen, view: this.state.view, force, preview});
                this.apply(reply);
            } catch (error) {
                this.mount.classList.add("ts-offline");
                this.status.offline(String(error.message || error));
            } finally {
                this.inFlight = false;
            }
            if (!document.contains(this.mount)) return; // the page was rebuilt (UI reload)
            if (this.again) {
                this.again = false;
                this.tick();
                return;
            }
            this.timer = setTimeout(() => this.tick(), this.interval());
        }

        // The running task's live preview is fetched only while the tab is on screen and the
        // setting is on (until the first status says, the setting counts as on).
        wantsPreview() {
            if (document.visibilityState === "hidden" || this.mount.offsetParent === null) return false;
            return this.settings().show_live_previews !== false;
        }

        interval() {
            if (document.visibilityState === "hidden") return HIDDEN_POLL_MS;
            return this.mount.offsetParent !== null ? FAST_POLL_MS : BACKGROUND_POLL_MS;
        }

        apply(reply) {
            // The task store cannot be used (damaged, read-only, locked, disk full): say why
            // where the status goes, every poll, until it can be used again.
            this.mount.classList.toggle("ts-offline", Boolean(reply.unavailable));
            if (reply.unavailable) {
                TS.dom.setText(this.status.state, reply.unavailable);
                return;
            }
            if (reply.error) this.toast(reply.error, "error");
            const previous = this.state.status;
            if (reply.status) {
                this.state.status = reply.status;
                this.status.render(reply.status, previous);
                this.status.renderPreview(reply.preview);
                this.list.renderCounts(reply.status.counts);
                this.list.renderAccess(reply.status.access);
                this.renderFooter(reply.status.settings);
                this.conflicts.render(reply.status.conflicts || []);
            }
            if (reply.list) {
                this.state.seen = reply.status.version;
                this.state.view.offset = reply.list.offset;
                this.state.list = reply.list;
                this.list.render(reply.list);
                this.detail.listChanged(reply.list);
            }
            this.list.renderProgress(reply.status && reply.status.current);
        }

        renderFooter(settings) {
            const {setText} = TS.dom;
            const days = settings.history_days;
            const history = days > 0 ? `History kept ${days} day${days === 1 ? "" : "s"} (bookmarked and named tasks always)` : "History kept forever";
            setText(this.footer, `Data folder: ${settings.data_dir || "(not set)"} · ${history}`);
        }
    }

    // The banner atop the tab naming other installed queue extensions that clash with this one
    // (their folder, what clashes, what to do). Hidden when there are none.
    class Conflicts {
        constructor() {
            const {el} = TS.dom;
            this.list = el("ul", {className: "ts-conflict-list"});
            this.node = el("section", {className: "ts-conflicts", attrs: {role: "alert", hidden: true}}, [
                el("strong", {text: "Another queue extension is installed and clashes with this one."}),
                this.list,
            ]);
            this.signature = "[]";
        }

        render(conflicts) {
            const signature = JSON.stringify(conflicts);
            if (signature === this.signature) return;
            this.signature = signature;
            const {el} = TS.dom;
            this.node.hidden = conflicts.length === 0;
            const byExtension = new Map(); // one line per extension: what clashes, then the advice once
            for (const item of conflicts) {
                const key = `${item.extension}\n${item.folder}`;
                if (!byExtension.has(key)) byExtension.set(key, {...item, whats: []});
                byExtension.get(key).whats.push(item.what);
            }
            this.list.replaceChildren(...Array.from(byExtension.values(), (item) => el("li", {className: "ts-conflict"}, [
                el("span", {className: "ts-conflict-name", text: item.extension}),
                ` (${item.folder}): ${item.whats.join("; ")}. `,
                el("span", {className: "ts-conflict-advice", text: item.advice}),
            ])));
        }
    }

    TS.App = App;
    TS.Conflicts = Conflicts;

    // Forge builds the page after its scripts load, and may rebuild it (Reload UI): watch for
    // the mount point and start one app per mount.
    function startWhenMounted() {
        const mount = document.getElementById("task_scheduler_app");
        const partsLoaded = TS.api && TS.dom && TS.dialogs && TS.Status && TS.TaskList && TS.Detail && TS.Editor;
        if (mount && partsLoaded && !mount.dataset.started) {
            mount.dataset.started = "1";
            TS.app = new App(mount);
            TS.app.refresh(true);
        }
        setTimeout(startWhenMounted, mount ? 1000 : 200);
    }

    if (!TS.started) {
        TS.started = true;
        if (document.readyState === "loading") {
            document.addEventListener("DOMContentLoaded", startWhenMounted);
        } else {
            startWhenMounted();
        }
    }
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
