// Forge's txt2img / img2img pages: the menu beside the Queue button (Queue first, Queue for
// later…, Queue on several checkpoints…), Shift+click on Queue, and the Ctrl+Alt+Enter shortcut.
// Queue stays one click: every way ends in a click on the Queue button, whose preprocessor
// (forge/queue_button.py) collects this click's choices through takeQueueOptions(tab).
(function (TS) {
    "use strict";

    const TABS = ["txt2img", "img2img"];
    const POPUP_ID = "task_scheduler_queue_popup";
    const armed = {}; // tab -> choices for the next Queue click (set by the menu / shortcut)
    const ready = {}; // tab -> choices of the click under way, until the preprocessor takes them

    const queueButton = (tab) => document.getElementById(`task_scheduler_${tab}_queue`);

    // Click Queue with these choices ({front}, {run_after}, {checkpoints}).
    function queueWith(tab, options) {
        const button = queueButton(tab);
        if (!button) return;
        armed[tab] = options;
        button.click();
    }

    // Called by the Queue click's preprocessor: this click's choices as JSON ("" when none).
    TS.takeQueueOptions = function (tab) {
        const options = ready[tab];
        delete ready[tab];
        return options && Object.keys(options).length ? JSON.stringify(options) : "";
    };

    // Every click on Queue (a user's, the menu's, the shortcut's) passes here first.
    document.addEventListener("click", (event) => {
        for (const tab of TABS) {
            if (event.target.closest && event.target.closest(`#task_scheduler_${tab}_queue`)) {
                ready[tab] = armed[tab] || (event.shiftKey ? {front: true} : {});
                delete armed[tab];
            } else if (event.target.closest && event.target.closest(`#task_scheduler_${tab}_queue_menu`)) {
                openMenu(tab, event.target.closest("button"));
            }
        }
    }, true);

    // Ctrl+Alt+Enter (Cmd+Option+Enter on a Mac) queues from the tab on screen; with Shift,
    // first. Caught before Forge's own listener, which would read Ctrl+Enter (Generate) and
    // Alt+Enter (Skip) in it.
    window.addEventListener("keydown", (event) => {
        const enter = event.key === "Enter" || event.keyCode === 13;
        if (!enter || !event.altKey || !(event.ctrlKey || event.metaKey)) return;
        const tab = TABS.find((name) => {
            const button = queueButton(name);
            return button && button.offsetParent !== null;
        });
        if (!tab) return;
        event.preventDefault();
        event.stopImmediatePropagation();
        queueWith(tab, event.shiftKey ? {front: true} : {});
    }, true);

    // -- popups --------------------------------------------------------------------------------

    function closePopup() {
        const old = document.getElementById(POPUP_ID);
        if (old) old.remove();
        document.removeEventListener("keydown", onPopupKey, true);
        document.removeEventListener("pointerdown", onOutside, true);
    }

    function onPopupKey(event) {
        const popup = document.getElementById(POPUP_ID);
        if (!popup) return;
        if (event.key === "Escape") {
            event.preventDefault();
            event.stopPropagation();
            const back = popup.returnFocus;
            closePopup();
            if (back) back.focus();
        } else if (popup.classList.contains("ts-queue-menu") && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
            const items = Array.from(popup.querySelectorAll("[role=menuitem]"));
            const at = items.indexOf(document.activeElement);
            const next = event.key === "ArrowDown" ? (at + 1) % items.length : (at + items.length - 1) % items.length;
            items[next].focus();
            event.preventDefault();
        }
    }

    function onOutside(event) {
        const popup = document.getElementById(POPUP_ID);
        if (!popup || popup.contains(event.target) || (popup.returnFocus && popup.returnFocus.contains(event.target))) return;
        if (popup.classList.contains("ts-queue-menu")) closePopup();
    }

    function showPopup(node, anchor, modal) {
        closePopup();
        node.id = POPUP_ID;
        node.returnFocus = anchor;
        const host = modal ? TS.dom.el("div", {className: "ts-queue-overlay"}, [node]) : node;
        if (modal) host.addEventListener("click", (event) => event.target === host && closePopup());
        if (modal) {
            host.id = POPUP_ID;
            host.returnFocus = anchor;
            node.id = "";
        } else {
            const box = anchor.getBoundingClientRect();
            node.style.top = `${window.scrollY + box.bottom + 4}px`;
            node.style.left = `${Math.max(8, window.scrollX + box.right - 260)}px`;
        }
        host.classList.add("task-scheduler-popup");
        document.body.append(host);
        document.addEventListener("keydown", onPopupKey, true);
        document.addEventListener("pointerdown", onOutside, true);
        return host;
    }

    function openMenu(tab, anchor) {
        const existing = document.getElementById(POPUP_ID);
        if (existing && existing.returnFocus === anchor) {
            closePopup();
            return;
        }
        const {el} = TS.dom;
        const item = (text, hint, action) => el("button", {className: "ts-queue-menu-item", attrs: {role: "menuitem", type: "button"},
            on: {click: () => {
                closePopup();
                action();
            }}}, [el("span", {text}), el("small", {text: hint})]);
        const menu = el("div", {className: "ts-queue-menu", attrs: {role: "menu", "aria-label": "Queue options", "data-tab": tab}}, [
            item("Queue first", "Runs next · Shift+click Queue", () => queueWith(tab, {front: true})),
            item("Queue for later…", "Not before a date and time", () => laterDialog(tab, anchor)),
            item("Queue on several checkpoints…", "One task per checkpoint, as a group", () => checkpointsDialog(tab, anchor)),
        ]);
        showPopup(menu, anchor, false);
        menu.querySelector("[role=menuitem]").focus();
    }

    function dialog(tab, anchor, title, body, confirmLabel, onConfirm) {
        const {el} = TS.dom;
        const error = el("p", {className: "ts-queue-error", attrs: {role: "alert"}});
        const confirmButton = el("button", {className: "ts-queue-primary", text: confirmLabel, attrs: {type: "submit"}});
        const cancel = el("button", {className: "ts-queue-secondary", text: "Cancel", attrs: {type: "button"}, on: {click: closePopup}});
        const form = el("form", {className: "ts-queue-dialog", attrs: {role: "dialog", "aria-modal": "true", "aria-label": title, "data-tab": tab}}, [
            el("h3", {text: title}),
            ...body,
            error,
            el("div", {className: "ts-queue-buttons"}, [cancel, confirmButton]),
        ]);
        form.addEventListener("submit", (event) => {
            event.preventDefault();
            const problem = onConfirm();
            if (problem) {
                error.textContent = problem;
                return;
            }
            closePopup();
        });
        showPopup(form, anchor, true);
        return {form, confirmButton, error};
    }

    // -- Queue for later -------------------------------------------------------------------

    const pad = (n) => String(n).padStart(2, "0");

    function localInputValue(date) {
        return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
    }

    // "2026-12-02T01:00:00+01:00": the browser's local time with its offset, so the server
    // reads the moment the user meant whatever its own time zone.
    function isoWithOffset(date) {
        const offset = -date.getTimezoneOffset();
        const sign = offset >= 0 ? "+" : "-";
        const abs = Math.abs(offset);
        return `${localInputValue(date)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
    }

    function laterDialog(tab, anchor) {
        const {el} = TS.dom;
        const next = new Date();
        next.setHours(next.getHours() + 1, 0, 0, 0);
        const input = el("input", {className: "ts-queue-when", attrs: {type: "datetime-local", step: 60, value: localInputValue(next), "aria-label": "Not before"}});
        const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
        const parts = dialog(tab, anchor, "Queue for later", [
            el("label", {className: "ts-queue-label"}, ["Not before ", input]),
            el("p", {className: "ts-queue-hint", text: `Your browser's time (${zone}). The task waits in the queue until then and runs once the queue is running.`}),
        ], "Queue", () => {
            const when = input.value ? new Date(input.value) : null;
            if (!when || isNaN(when.getTime())) return "Choose a date and time.";
            if (when.getTime() <= Date.now()) return "Choose a time in the future.";
            queueWith(tab, {run_after: isoWithOffset(when)});
            return null;
        });
        input.focus();
        return parts;
    }

    // -- Queue on several checkpoints ------------------------------------------------------

    function currentCheckpoint() {
        const input = document.querySelector(".model_selection input");
        return input ? input.value : "";
    }

    async function checkpointsDialog(tab, anchor) {
        const {el, setText} = TS.dom;
        const list = el("div", {className: "ts-queue-checkpoints", attrs: {role: "group", "aria-label": "Checkpoints"}});
        const filter = el("input", {className: "ts-queue-filter", attrs: {type: "search", placeholder: "Filter checkpoints", "aria-label": "Filter checkpoints"}});
        const count = el("span", {className: "ts-queue-count"});
        let boxes = [];
        const parts = dialog(tab, anchor, "Queue on several checkpoints", [
            el("p", {className: "ts-queue-hint", text: "The same settings, queued once per checked checkpoint. The tasks form a group in the Task Queue tab."}),
            filter,
            list,
            count,
        ], "Queue", () => {
            const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
            if (!chosen.length) return "Check at least one checkpoint.";
            queueWith(tab, {checkpoints: chosen});
            return null;
        });
        const update = () => {
            const chosen = boxes.filter((box) => box.checked).length;
            setText(count, `${chosen} selected`);
            setText(parts.confirmButton, chosen === 1 ? "Queue 1 task" : `Queue ${chosen} tasks`);
            parts.confirmButton.disabled = chosen === 0;
        };
        filter.addEventListener("input", () => {
            const text = filter.value.toLowerCase();
            for (const box of boxes) box.closest("label").hidden = !box.value.toLowerCase().includes(text);
        });
        setText(list, "Loading the checkpoints…");
        update();
        let reply;
        try {
            reply = await TS.api.act({action: "queue_checkpoints"});
        } catch (error) {
            reply = {ok: false, error: String(error.message || error)};
        }
        if (!reply.ok) {
            setText(list, "");
            setText(parts.error, reply.error || "The checkpoints could not be read.");
            return;
        }
        // The top bar may show a title without its hash (not computed yet), or with it.
        const bare = (title) => String(title || "").split(" [")[0];
        const current = bare(currentCheckpoint());
        boxes = reply.checkpoints.map((name) => el("input", {attrs: {type: "checkbox", value: name, checked: Boolean(current) && bare(name) === current}, on: {change: update}}));
        list.replaceChildren(...boxes.map((box) => el("label", {className: "ts-queue-checkpoint"}, [box, el("span", {text: box.value})])));
        update();
        filter.focus();
    }
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
