// Task Queue tab: groups of tasks (the same settings queued on several checkpoints). A row of a
// group carries a tag; clicking it shows only that group, with a bar above the rows that says
// what the group holds and cancels, retries or deletes the whole group.
(function (TS) {
    "use strict";

    const STATUS_ORDER = ["running", "pending", "completed", "failed", "cancelled"];

    // The tag a row of a group shows: "group of 3"; a click shows the group alone.
    function groupTag(list) {
        const {el} = TS.dom;
        const tag = el("button", {className: "ts-group-tag", attrs: {type: "button", hidden: true}, on: {click: (event) => {
            event.stopPropagation();
            list.app.setView({group: tag.dataset.group, offset: 0});
        }}});
        return tag;
    }

    function updateGroupTag(tag, task) {
        const size = task.group_size || 0;
        tag.hidden = !task.group_id;
        if (!task.group_id) return;
        tag.dataset.group = task.group_id;
        TS.dom.setText(tag, `group of ${size}`);
        const label = `Queued together: a group of ${size} task${size === 1 ? "" : "s"}. Show the group`;
        tag.title = label;
        tag.setAttribute("aria-label", label);
    }

    class GroupBar {
        constructor(list) {
            const {el} = TS.dom;
            this.list = list;
            this.app = list.app;
            this.summary = el("span", {className: "ts-group-summary"});
            const action = (text, name, extra, options) => el("button", {className: `ts-button ${extra || ""}`, text, attrs: {type: "button"},
                on: {click: () => this.act(name, options)}});
            this.cancel = action("Cancel group", "cancel_group", "ts-danger", {confirm: "Cancel every pending task of this group (and stop its running one)?", confirmLabel: "Cancel group"});
            this.retry = action("Retry group", "retry_group");
            this.remove = action("Delete group", "delete_group", "ts-danger", {confirm: "Delete every task of this group?", confirmLabel: "Delete group"});
            this.back = el("button", {className: "ts-button", text: "Show all tasks", attrs: {type: "button"}, on: {click: () => this.leave()}});
            this.node = el("div", {className: "ts-group-bar", attrs: {hidden: true, role: "region", "aria-label": "Group"}}, [
                this.summary,
                el("span", {className: "ts-group-actions"}, [this.cancel, this.retry, this.remove, this.back]),
            ]);
        }

        get group() {
            return this.app.state.view.group || "";
        }

        async act(name, options) {
            const group = this.group;
            if (!group) return;
            const opts = options || {};
            if (opts.confirm && this.app.settings().confirm_delete) {
                const ok = await TS.dialogs.confirm(this.app.root, opts.confirm, opts.confirmLabel);
                if (!ok) return;
            }
            const reply = await this.app.act({action: name, group});
            if (reply.ok && name === "delete_group") this.leave();
        }

        leave() {
            this.app.setView({group: "", offset: 0});
        }

        render(list) {
            const group = this.group;
            this.node.hidden = !group;
            for (const [name, button] of this.list.filterButtons) {
                button.setAttribute("aria-pressed", String(!group && name === this.app.state.view.filter));
            }
            if (!group) return;
            if (!list.group) {
                this.app.toast("That group no longer exists.", "info");
                this.leave();
                return;
            }
            const counts = list.group.counts || {};
            const parts = STATUS_ORDER.filter((status) => counts[status]).map((status) => `${counts[status]} ${status}`);
            const on = list.group.checkpoints.map((name) => name || "current model").join(", ");
            TS.dom.setText(this.summary, `Group of ${list.group.total} task${list.group.total === 1 ? "" : "s"}: ${parts.join(", ")} · on ${on}`);
            this.cancel.disabled = !(counts.pending || counts.running);
            this.retry.disabled = !list.group.retryable;
            this.remove.disabled = Boolean(counts.running);
            const mayChange = list.group.may_change !== false; // another user's group: not offered
            for (const button of [this.cancel, this.retry, this.remove]) button.hidden = !mayChange;
        }
    }

    TS.GroupBar = GroupBar;
    TS.groups = {groupTag, updateGroupTag};
})(window.taskQueueExtensionForForge = window.taskQueueExtensionForForge || {});
