// Task Queue tab: the task list — filters, search, paging, rows with per-state actions, and
// drag-and-drop reordering of pending tasks (pointer events, so touch works too).
(function (TS) {
    "use strict";

    const FILTERS = [
        ["all", "All", null],
        ["queue", "Queue", ["running", "pending"]],
        ["history", "History", ["completed", "failed", "cancelled"]],
        ["completed", "Completed", ["completed"]],
        ["failed", "Failed", ["failed"]],
        ["cancelled", "Cancelled", ["cancelled"]],
    ];
    const PAGE_SIZES = [25, 50, 100, 200];
    const STATUS_LABELS = {pending: "Pending", running: "Running", completed: "Completed", failed: "Failed", cancelled: "Cancelled"};

    class TaskList {
        constructor(app) {
            const {el} = TS.dom;
            this.app = app;
            this.filterButtons = new Map();
            const filters = el("div", {className: "ts-filters", attrs: {role: "group", "aria-label": "Show"}});
            for (const [key, label] of FILTERS) {
                const count = el("span", {className: "ts-count"});
                const button = el("button", {className: "ts-filter", dataset: {filter: key}, attrs: {"aria-pressed": key === "all" ? "true" : "false"},
                    on: {click: () => this.chooseFilter(key)}}, [label, " ", count]);
                button.count = count;
                this.filterButtons.set(key, button);
                filters.append(button);
            }
            // Mine / Everyone: whose tasks the list shows (only with a login: status.access.auth)
            this.ownerButtons = new Map();
            this.owners = el("div", {className: "ts-filters ts-owner-filter", attrs: {role: "group", "aria-label": "Whose tasks", hidden: true}});
            for (const [key, label] of [["everyone", "Everyone"], ["mine", "Mine"]]) {
                const button = el("button", {className: "ts-filter", text: label, dataset: {owner: key}, attrs: {"aria-pressed": key === "everyone" ? "true" : "false"},
                    on: {click: () => this.chooseOwner(key)}});
                this.ownerButtons.set(key, button);
                this.owners.append(button);
            }
            this.search = el("input", {className: "ts-search", attrs: {type: "search", placeholder: "Search prompts and names", "aria-label": "Search prompts and names"},
                on: {input: () => this.searchChanged()}});
            this.pageSize = el("select", {className: "ts-page-size", attrs: {"aria-label": "Tasks per page"}, on: {change: () => app.setView({limit: Number(this.pageSize.value), offset: 0})}},
                PAGE_SIZES.map((size) => el("option", {text: `${size} per page`, attrs: {value: size, selected: size === 50}})));
            this.prev = el("button", {className: "ts-button", text: "‹ Prev", attrs: {"aria-label": "Previous page"}, on: {click: () => this.page(-1)}});
            this.next = el("button", {className: "ts-button", text: "Next ›", attrs: {"aria-label": "Next page"}, on: {click: () => this.page(1)}});
            this.range = el("span", {className: "ts-range"});
            this.rows = el("div", {className: "ts-rows", attrs: {role: "list", "aria-label": "Tasks"}});
            this.empty = el("p", {className: "ts-empty", text: "No tasks here.", attrs: {hidden: true}});
            this.node = el("section", {className: "ts-list-pane"}, [
                el("div", {className: "ts-toolbar"}, [filters, this.owners, this.search]),
                el("div", {className: "ts-rows-scroll"}, [this.rows, this.empty]),
                el("div", {className: "ts-pager"}, [this.prev, this.range, this.next, this.pageSize]),
            ]);
            this.drag = new TS.RowDrag(this);
            this.groupBar = new TS.GroupBar(this);
            this.node.insertBefore(this.groupBar.node, this.node.children[1]);
        }

        // Rows name the instance that ran a task only while several Forges share the queue.
        severalInstances() {
            const status = this.app.state.status;
            return Boolean(status && status.instances && status.instances.live.length > 1);
        }

        chooseFilter(key) {
            for (const [name, button] of this.filterButtons) button.setAttribute("aria-pressed", String(name === key));
            this.app.setView({filter: key, offset: 0, group: ""});
        }

        chooseOwner(key) {
            for (const [name, button] of this.ownerButtons) button.setAttribute("aria-pressed", String(name === key));
            this.app.setView({owner: key, offset: 0, group: ""});
        }

        // What the user may do (status.access): the Mine / Everyone filter with a login.
        renderAccess(access) {
            this.owners.hidden = !(access && access.auth);
        }

        searchChanged() {
            clearTimeout(this.searchTimer);
            this.searchTimer = setTimeout(() => this.app.setView({search: this.search.value, offset: 0}), 250);
        }

        page(direction) {
            const view = this.app.state.view;
            const list = this.app.state.list;
            const offset = Math.max(0, view.offset + direction * view.limit);
            if (list && offset >= list.total) return;
            this.app.setView({offset});
        }

        renderCounts(counts) {
            for (const [key, , statuses] of FILTERS) {
                const names = statuses || Object.keys(counts);
                const total = names.reduce((sum, name) => sum + (counts[name] || 0), 0);
                TS.dom.setText(this.filterButtons.get(key).count, total);
            }
        }

        render(list) {
            if (this.drag.active) {
                this.pendingList = list; // applied when the drag ends, so rows stay put under the pointer
                return;
            }
            const {reconcile, setText} = TS.dom;
            this.groupBar.render(list);
            reconcile(this.rows, list.rows, (task) => this.createRow(task), (node, task) => this.updateRow(node, task));
            this.empty.hidden = list.rows.length > 0;
            const first = list.total ? list.offset + 1 : 0;
            setText(this.range, `${first}–${list.offset + list.rows.length} of ${list.total}`);
            this.prev.disabled = list.offset === 0;
            this.next.disabled = list.offset + list.rows.length >= list.total;
            this.markSelected();
        }

        // The run-order place a task dropped on the Prev (-1) or Next (+1) button takes: the
        // last place of the previous page, or the first of the next. Null where pages are not
        // runs of the run order (a search, one group) or no pending row is on this page.
        pagePlace(direction) {
            const view = this.app.state.view;
            if (view.search || view.group) return null;
            const button = direction < 0 ? this.prev : this.next;
            if (button.disabled) return null;
            const places = [...this.rows.children].map((row) => Number(row.dataset.place)).filter((place) => place > 0);
            if (!places.length) return null;
            const place = direction < 0 ? Math.min(...places) - 1 : Math.max(...places) + 1;
            return place >= 1 ? place : null;
        }

        markSelected() {
            for (const row of this.rows.children) {
                const selected = row.dataset.key === this.app.state.selected;
                TS.dom.toggleClass(row, "ts-selected", selected);
                row.setAttribute("aria-selected", String(selected));
            }
        }

        // The running row's own small progress bar.
        renderProgress(current) {
            for (const row of this.rows.children) {
                const running = current && row.dataset.key === current.id;
                row.parts.bar.hidden = !running;
                if (running) row.parts.fill.style.width = `${Math.round(TS.Status.share(current) * 100)}%`;
            }
        }

        createRow(task) {
            const {el} = TS.dom;
            const parts = {
                grip: el("span", {className: "ts-grip", text: "⠿", title: "Drag to reorder", attrs: {"aria-hidden": "true"}}),
                place: el("span", {className: "ts-place"}),
                type: el("span", {className: "ts-type"}),
                name: el("span", {className: "ts-name"}),
                prompt: el("span", {className: "ts-prompt"}),
                meta: el("span", {className: "ts-meta"}),
                group: TS.groups.groupTag(this),
                status: el("span", {className: "ts-status-badge"}),
                fill: el("div", {className: "ts-bar-fill"}),
                actions: el("span", {className: "ts-actions"}),
            };
            parts.bar = el("div", {className: "ts-bar ts-row-bar", attrs: {hidden: true}}, [parts.fill]);
            const row = el("div", {className: "ts-row", attrs: {role: "listitem", tabindex: "0"}, on: {
                click: (event) => {
                    if (!event.target.closest("button")) this.app.select(row.dataset.key);
                },
                keydown: (event) => {
                    if (event.key === "Enter" && event.target === row) this.app.select(row.dataset.key);
                },
            }}, [
                parts.grip,
                parts.place,
                el("span", {className: "ts-what"}, [el("span", {className: "ts-title"}, [parts.type, parts.group, parts.name, parts.meta]), parts.prompt]),
                el("span", {className: "ts-state-cell"}, [parts.status, parts.bar]),
                parts.actions,
            ]);
            row.parts = parts;
            parts.grip.addEventListener("pointerdown", (event) => this.drag.begin(event, row));
            return row;
        }

        updateRow(row, task) {
            const {setText} = TS.dom;
            const parts = row.parts;
            row.dataset.status = task.status;
            row.dataset.place = task.place || "";
            row.dataset.owner = task.owner || "";
            row.dataset.mayChange = String(task.may_change !== false);
            row.classList.toggle("ts-hidden-task", Boolean(task.hidden));
            parts.grip.hidden = task.status !== "pending" || task.may_change === false;
            setText(parts.place, task.place ? `#${task.place}` : "");
            setText(parts.type, task.type);
            setText(parts.name, task.name);
            TS.groups.updateGroupTag(parts.group, task);
            setText(parts.prompt, task.hidden ? `(${task.owner}'s prompt is hidden)` : task.prompt || "(no prompt)");
            parts.prompt.title = task.prompt;
            const meta = [task.owner ? `by ${task.owner}` : "", task.hidden ? "" : task.checkpoint || "current model", task.size, task.steps ? `${task.steps} steps` : "", task.images > 1 ? `${task.images} images` : "",
                task.status === "pending" && task.run_after_text ? `not before ${task.run_after_text}` : "",
                task.instance && task.status !== "pending" && this.severalInstances() ? `on ${task.instance}` : ""];
            setText(parts.meta, meta.filter(Boolean).join(" · "));
            setText(parts.status, STATUS_LABELS[task.status] || task.status);
            parts.status.className = `ts-status-badge ts-status-${task.status}`;
            parts.status.title = task.error || "";
            const actionsFor = `${task.status}:${task.may_change !== false}`;
            if (row.actionsFor !== actionsFor) {
                row.actionsFor = actionsFor;
                // another user's task: no actions offered (the server refuses them anyway)
                parts.actions.replaceChildren(...(task.may_change === false ? [] : this.actionButtons(task.status, row)));
            }
        }

        actionButtons(status, row) {
            const {el} = TS.dom;
            const app = this.app;
            const id = () => row.dataset.key;
            const button = (symbol, label, handler, extra) =>
                el("button", {className: `ts-icon ${extra || ""}`, text: symbol, title: label, attrs: {"aria-label": label}, on: {click: handler}});
            const move = (to) => () => app.act({action: "move", id: id(), to}, {quiet: true});
            const remove = () => app.act({action: "delete", id: id()}, {confirm: "Delete this task?"});
            if (status === "running") {
                return [button("✕", "Cancel", () => app.act({action: "cancel", id: id()}), "ts-danger")];
            }
            if (status === "pending") {
                return [
                    button("↑", "Move up", move("up")),
                    button("↓", "Move down", move("down")),
                    button("⤒", "Move to top", move("top")),
                    button("⤓", "Move to bottom", move("bottom")),
                    button("✎", "Edit", () => app.select(id(), {edit: true})),
                    button("🗑", "Delete", remove, "ts-danger"),
                ];
            }
            return [button("↻", "Retry", () => app.act({action: "retry", id: id()})), button("🗑", "Delete", remove, "ts-danger")];
        }
    }

    // Drag a pending row by its grip onto another pending row: it lands before or after that
    // row depending on which half the pointer is over. Dropped on "‹ Prev" or "Next ›", it
    // lands on that neighbouring page (its last place, or the next page's first).
    class RowDrag {
        constructor(list) {
            this.list = list;
            this.active = null;
        }

        begin(event, row) {
            if (row.dataset.status !== "pending" || row.dataset.mayChange === "false" || event.button !== 0) return;
            event.preventDefault();
            this.active = {row, target: null, after: false};
            row.classList.add("ts-dragging");
            const move = (e) => this.move(e);
            const end = (e) => {
                document.removeEventListener("pointermove", move);
                document.removeEventListener("pointerup", end);
                document.removeEventListener("pointercancel", end);
                this.end(e.type === "pointerup");
            };
            document.addEventListener("pointermove", move);
            document.addEventListener("pointerup", end);
            document.addEventListener("pointercancel", end);
        }

        move(event) {
            const drag = this.active;
            if (!drag) return;
            const under = document.elementFromPoint(event.clientX, event.clientY);
            const target = under && under.closest(".ts-row");
            this.clearMarks();
            const button = under && under.closest(".ts-pager button");
            const direction = button === this.list.prev ? -1 : button === this.list.next ? 1 : 0;
            drag.place = direction ? this.list.pagePlace(direction) : null;
            if (drag.place) {
                drag.target = null;
                button.classList.add("ts-drop-page");
                return;
            }
            if (!target || target === drag.row || target.dataset.status !== "pending" || !this.list.rows.contains(target)) {
                drag.target = null;
                return;
            }
            const box = target.getBoundingClientRect();
            drag.target = target;
            drag.after = event.clientY > box.top + box.height / 2;
            target.classList.add(drag.after ? "ts-drop-after" : "ts-drop-before");
        }

        end(dropped) {
            const drag = this.active;
            this.active = null;
            this.clearMarks();
            drag.row.classList.remove("ts-dragging");
            if (dropped && drag.place) {
                this.list.app.act({action: "move", id: drag.row.dataset.key, place: drag.place});
            } else if (dropped && drag.target) {
                const request = {action: "move", id: drag.row.dataset.key};
                request[drag.after ? "after" : "before"] = drag.target.dataset.key;
                this.list.app.act(request, {quiet: true});
            }
            if (this.list.pendingList) {
                const list = this.list.pendingList;
                this.list.pendingList = null;
                this.list.render(list);
            }
        }

        clearMarks() {
            for (const node of this.list.rows.querySelectorAll(".ts-drop-before, .ts-drop-after")) {
                node.classList.remove("ts-drop-before", "ts-drop-after");
            }
            this.list.prev.classList.remove("ts-drop-page");
            this.list.next.classList.remove("ts-drop-page");
        }
    }

    TS.TaskList = TaskList;
    TS.RowDrag = RowDrag;
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
